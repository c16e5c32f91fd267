"""Reads a topic from the beginning with the official client and prints what it saw as JSON.

usage: pulsar_consume.py SERVICE_URL TOPIC EXPECTED_COUNT TIMEOUT_SECONDS
Output: {"seqs": [...the "seq" property of each message in delivery order...],
         "ids": number of distinct message ids, "keys": {...first 5 keys...}, "producers": [...]}
"""
import json
import sys
import time
import uuid

import pulsar

service_url, topic, expected, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
client = pulsar.Client(service_url, operation_timeout_seconds=30)
# Shared delivers each stored entry exactly once on pulsar-lite (Exclusive may repeat on a backlog).
consumer = client.subscribe(topic, "verify-" + uuid.uuid4().hex, consumer_type=pulsar.ConsumerType.Shared,
                            initial_position=pulsar.InitialPosition.Earliest, receiver_queue_size=5000)
seqs, ids, producers, sample = [], set(), set(), []
deadline = time.time() + timeout
idle_after_expected = 0
while time.time() < deadline:
    try:
        msg = consumer.receive(timeout_millis=1000)
    except pulsar.Timeout:
        if len(seqs) >= expected:
            idle_after_expected += 1
            if idle_after_expected >= 2:
                break
        continue
    props = msg.properties()
    seqs.append(int(props.get("seq", "-1")))
    ids.add(str(msg.message_id()))
    producers.add(msg.producer_name())
    if len(sample) < 5:
        sample.append({"key": msg.partition_key(), "props": props, "data": msg.data().decode("utf-8", "replace")[:64],
                       "event_time": msg.event_timestamp()})
    consumer.acknowledge(msg)
consumer.close()
client.close()
print(json.dumps({"seqs": seqs, "ids": len(ids), "producers": sorted(producers), "sample": sample}))
