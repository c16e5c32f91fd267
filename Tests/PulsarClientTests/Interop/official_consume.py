"""Reads messages with the official Apache Pulsar client and prints each as one JSON line.

usage: official_consume.py URL TOPIC SUBSCRIPTION COUNT TIMEOUT_SECONDS

Shared subscription from the earliest position (pulsar-lite may duplicate deliveries on exclusive
ones); every message is acknowledged. Exits 0 after COUNT distinct message ids, 2 on timeout.
"""
import base64
import json
import sys
import time

import pulsar


def main() -> int:
    url, topic, subscription, count, timeout = sys.argv[1:6]
    count, deadline = int(count), time.time() + float(timeout)
    # The C++ core logs to stdout by default; keep stdout for our JSON lines only.
    client = pulsar.Client(url, operation_timeout_seconds=20, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Error))
    try:
        consumer = client.subscribe(
            topic,
            subscription,
            consumer_type=pulsar.ConsumerType.Shared,
            initial_position=pulsar.InitialPosition.Earliest,
        )
        seen = set()
        while len(seen) < count:
            remaining = deadline - time.time()
            if remaining <= 0:
                print("timeout after %d messages" % len(seen), file=sys.stderr)
                return 2
            try:
                msg = consumer.receive(timeout_millis=int(min(remaining, 1.0) * 1000) or 1)
            except pulsar.Timeout:
                continue
            mid = msg.message_id()
            key = (mid.ledger_id(), mid.entry_id(), mid.batch_index())
            consumer.acknowledge(msg)
            if key in seen:
                continue
            seen.add(key)
            print(json.dumps({
                "id": "%d:%d:%d" % key,
                "payload_b64": base64.b64encode(msg.data()).decode(),
                "key": msg.partition_key() or None,
                "properties": msg.properties(),
                "event_time": msg.event_timestamp(),
                "publish_time": msg.publish_timestamp(),
                "producer_name": msg.producer_name(),
            }), flush=True)
        consumer.close()
        return 0
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
