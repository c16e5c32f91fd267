"""The one consumer on the official Apache Pulsar client the tests use (through OfficialConsumer.swift).

usage: official_consume.py URL TOPIC SUBSCRIPTION COUNT TIMEOUT_SECONDS [--exclusive] [--linger S] [--ready]

Subscribes from the earliest position (Shared; --exclusive for chunked messages, which Shared does
not reassemble), acknowledges every message and prints one JSON line per distinct message id.
COUNT 0 reads until killed or TIMEOUT. After COUNT messages it keeps reading until the topic has been
quiet for --linger seconds (default 0), so extra or duplicate messages show. --ready prints
{"ready": true} once subscribed. Exits 0 after COUNT messages, 2 on timeout.
"""
import base64
import json
import sys
import time

import pulsar


def main() -> int:
    args = sys.argv[1:]
    exclusive = "--exclusive" in args
    ready = "--ready" in args
    linger = 0.0
    if "--linger" in args:
        linger = float(args[args.index("--linger") + 1])
        del args[args.index("--linger"):args.index("--linger") + 2]
    args = [a for a in args if a not in ("--exclusive", "--ready")]
    url, topic, subscription, count, timeout = args[:5]
    count, deadline = int(count), time.time() + float(timeout)
    # The C++ core logs to stdout by default; keep stdout for our JSON lines only.
    client = pulsar.Client(url, operation_timeout_seconds=30, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Error))
    try:
        consumer = client.subscribe(
            topic,
            subscription,
            consumer_type=pulsar.ConsumerType.Exclusive if exclusive else pulsar.ConsumerType.Shared,
            initial_position=pulsar.InitialPosition.Earliest,
            receiver_queue_size=1000,
        )
        if ready:
            print(json.dumps({"ready": True}), flush=True)
        seen = set()
        quiet_since = None
        while True:
            now = time.time()
            done = count and len(seen) >= count
            if done and (linger == 0 or (quiet_since is not None and now - quiet_since >= linger)):
                break
            if now >= deadline:
                if done:
                    break
                print("timeout after %d messages" % len(seen), file=sys.stderr)
                return 2
            try:
                msg = consumer.receive(timeout_millis=int(max(min(deadline - now, 0.5), 0.001) * 1000))
            except pulsar.Timeout:
                if count and len(seen) >= count and quiet_since is None:
                    quiet_since = time.time()
                continue
            quiet_since = None
            consumer.acknowledge(msg)
            key = str(msg.message_id())
            if key in seen:
                continue  # pulsar-lite may redeliver on Exclusive subscriptions
            seen.add(key)
            print(json.dumps({
                "id": key,
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
