"""Large (chunked) messages with the official Apache Pulsar client, for the chunking interop tests.

usage: official_chunked.py consume URL TOPIC SUBSCRIPTION COUNT TIMEOUT_SECONDS
       official_chunked.py produce URL TOPIC PRODUCER_NAME SIZE:SEED [SIZE:SEED ...]

Payloads follow one pattern both sides can rebuild: 8-byte big-endian words k XOR seed for
k = 0, 1, ..., cut to SIZE bytes; every message carries its seed in the property "seed".
consume: Exclusive subscription from the earliest position, acknowledges every message and prints
one JSON line per distinct message id: id, size, sha256 and whether the payload is exactly the
pattern for its size and seed. Exits 0 after COUNT messages, 2 on timeout.
produce: chunking on, batching off; prints "sent <n>" once the broker acknowledged every message.
"""
import hashlib
import json
import struct
import sys
import time

import pulsar


def pattern(size: int, seed: int) -> bytes:
    words = (size + 7) // 8
    return b"".join(struct.pack(">Q", k ^ seed) for k in range(words))[:size]


def client_for(url: str) -> pulsar.Client:
    # The C++ core logs to stdout by default; keep stdout for our JSON lines only.
    return pulsar.Client(url, operation_timeout_seconds=30, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Error))


def consume(url: str, topic: str, subscription: str, count: int, timeout: float) -> int:
    deadline = time.time() + timeout
    client = client_for(url)
    try:
        consumer = client.subscribe(
            topic,
            subscription,
            consumer_type=pulsar.ConsumerType.Exclusive,
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
            consumer.acknowledge(msg)
            key = str(msg.message_id())
            if key in seen:
                continue  # pulsar-lite may redeliver on Exclusive subscriptions
            seen.add(key)
            data = msg.data()
            seed = int(msg.properties().get("seed", "-1"))
            print(json.dumps({
                "id": key,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "seed": seed,
                "matches": seed >= 0 and data == pattern(len(data), seed),
            }), flush=True)
        consumer.close()
        return 0
    finally:
        client.close()


def produce(url: str, topic: str, producer_name: str, specs: list) -> int:
    client = client_for(url)
    try:
        producer = client.create_producer(
            topic,
            producer_name=producer_name,
            chunking_enabled=True,
            batching_enabled=False,
            block_if_queue_full=True,
        )
        for spec in specs:
            size, seed = (int(part) for part in spec.split(":"))
            producer.send(pattern(size, seed), properties={"seed": str(seed)})
        producer.close()
        print("sent %d" % len(specs), flush=True)
        return 0
    finally:
        client.close()


def main() -> int:
    mode = sys.argv[1]
    if mode == "consume":
        url, topic, subscription, count, timeout = sys.argv[2:7]
        return consume(url, topic, subscription, int(count), float(timeout))
    if mode == "produce":
        url, topic, producer_name = sys.argv[2:5]
        return produce(url, topic, producer_name, sys.argv[5:])
    print("unknown mode %r" % mode, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
