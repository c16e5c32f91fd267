"""Publishes deterministic messages with the official Apache Pulsar client, for interop tests.

usage: official_produce.py URL TOPIC COUNT MODE COMPRESSION PRODUCER_NAME
  MODE: unbatched | batched
  COMPRESSION: NONE | LZ4 | ZLIB | ZSTD | SNAPPY

Message i: payload "official-<i>-<padding>", key "key-<i % 3>", properties {"index": i, "mode": MODE},
event time 1600000000000 + i, sequence id 1000 + i. Prints one line "sent <n>" when every message
is acknowledged by the broker.
"""
import sys

import pulsar


def main() -> int:
    url, topic, count, mode, compression, producer_name = sys.argv[1:7]
    count = int(count)
    # The C++ core logs to stdout by default; keep stdout for our JSON lines only.
    client = pulsar.Client(url, operation_timeout_seconds=20, logger=pulsar.ConsoleLogger(pulsar.LoggerLevel.Error))
    try:
        producer = client.create_producer(
            topic,
            producer_name=producer_name,
            # The Python enum spells it ZLib; accept the wire names.
            compression_type=getattr(pulsar.CompressionType, {"ZLIB": "ZLib"}.get(compression, compression)),
            batching_enabled=(mode == "batched"),
            batching_max_messages=max(count, 2),
            batching_max_publish_delay_ms=50,
            block_if_queue_full=True,
        )
        errors = []

        def done(result, _msg_id):
            if result != pulsar.Result.Ok:
                errors.append(str(result))

        for i in range(count):
            payload = ("official-%d-" % i + "x" * (i % 40)).encode()
            producer.send_async(
                payload,
                done,
                partition_key="key-%d" % (i % 3),
                properties={"index": str(i), "mode": mode},
                event_timestamp=1600000000000 + i,
                sequence_id=1000 + i,
            )
        producer.flush()
        producer.close()
        if errors:
            print("errors: %s" % errors[:3], file=sys.stderr)
            return 1
        print("sent %d" % count, flush=True)
        return 0
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
