"""Large (chunked) messages from the official Apache Pulsar client, for the chunking interop tests.

usage: official_chunked.py produce URL TOPIC PRODUCER_NAME SIZE:SEED [SIZE:SEED ...]

Payloads follow one pattern both sides can rebuild: 8-byte big-endian words k XOR seed for
k = 0, 1, ..., cut to SIZE bytes; every message carries its seed in the property "seed".
Chunking on, batching off; prints "sent <n>" once the broker acknowledged every message.
(Reading with the official client goes through Tests/TestSupport/official_consume.py.)
"""
import struct
import sys

import pulsar


def pattern(size: int, seed: int) -> bytes:
    words = (size + 7) // 8
    return b"".join(struct.pack(">Q", k ^ seed) for k in range(words))[:size]


def client_for(url: str) -> pulsar.Client:
    # The C++ core logs to stdout by default; keep stdout for our JSON lines only.
    return pulsar.Client(url, operation_timeout_seconds=30, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Error))


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
    if mode == "produce":
        url, topic, producer_name = sys.argv[2:5]
        return produce(url, topic, producer_name, sys.argv[5:])
    print("unknown mode %r" % mode, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main())
