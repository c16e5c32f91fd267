"""Reads a topic from the beginning with the official Pulsar client and prints a JSON summary.

usage: read_topic.py SERVICE_URL TOPIC MIN_COUNT TIMEOUT_SECONDS
Output: {"messages": N, "event_ids": {event_id: copies, ...}, "props": [properties of the first 5]}
Stops once at least MIN_COUNT messages arrived and the topic stayed quiet for 2 s, or at the timeout.
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
count, event_ids, sample, quiet = 0, {}, [], 0
deadline = time.time() + timeout
while time.time() < deadline:
    try:
        msg = consumer.receive(timeout_millis=1000)
    except pulsar.Timeout:
        if count >= expected:
            quiet += 1
            if quiet >= 2:
                break
        continue
    quiet = 0
    props = msg.properties()
    count += 1
    eid = props.get("event_id", "none")
    event_ids[eid] = event_ids.get(eid, 0) + 1
    if len(sample) < 5:
        sample.append(props)
    consumer.acknowledge(msg)
consumer.close()
client.close()
print(json.dumps({"messages": count, "event_ids": event_ids, "props": sample}))
