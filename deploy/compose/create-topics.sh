#!/usr/bin/env bash
# One-shot topic setup for deploy/docker-compose.yml (runs in the apache/kafka image).
# Idempotent: --if-not-exists. Single broker, so replication factor 1 and
# min.insync.replicas 1; production settings are in docs/operations.md, "Topics".
set -euo pipefail
BOOTSTRAP="${BOOTSTRAP:-kafka:19092}"
KT=/opt/kafka/bin/kafka-topics.sh

create() {  # name partitions [--config k=v ...]
    local name="$1" partitions="$2"; shift 2
    "$KT" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
        --topic "$name" --partitions "$partitions" --replication-factor 1 "$@"
}

# Ingest: the partition count caps the useful number of consent-gate replicas.
create events.raw 6 --config retention.ms=604800000
# Invalid events, kept longer for inspection and replay.
create events.dlq 3 --config retention.ms=1209600000
# State topics: compacted, read from the beginning by every replica at start.
create consent.suppressions 3 --config cleanup.policy=compact --config min.compaction.lag.ms=0
# The subscription topic is the changelog of events.raw, partition for partition: the worker
# refuses to start unless it has at least as many partitions as events.raw.
create consent.subscriptions 6 --config cleanup.policy=compact --config min.compaction.lag.ms=0
# Regulation (delete/suppress) requests accepted by the admin API, for downstream deleters.
create consent.regulations 3 --config retention.ms=2592000000
# The audit stream (kafka.auditTopic): why each dropped event did not reach a destination.
create consent.audit 6 --config retention.ms=2592000000
# One topic per destination in deploy/kubernetes/base/policy.yaml (destinationTopicTemplate
# "dest.{id}"). deploy/check.sh verifies this list matches the policy.
for id in google-ads facebook-capi amplitude intercom braze-email s3-archive; do
    create "dest.$id" 6
done

"$KT" --bootstrap-server "$BOOTSTRAP" --list

# Seed the example events so the dashboard has something to show.
if [ -f /examples/events.jsonl ]; then
    /opt/kafka/bin/kafka-console-producer.sh --bootstrap-server "$BOOTSTRAP" \
        --topic events.raw < /examples/events.jsonl
    echo "seeded $(wc -l < /examples/events.jsonl) example events into events.raw"
fi
