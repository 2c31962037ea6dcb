#!/bin/sh
# Creates the topic of the scale-out deployment (README.md, "Scale-out").
#
#   BOOTSTRAP=kafka-0:9092 PARTITIONS=32 REPLICATION=3 ./create-topic.sh
#
# max.message.bytes is the largest record batch the broker accepts for the
# topic, after compression. It must be at least tier1.yaml's
# producer.max_message_bytes (4 MiB, before compression), which in turn is
# above the largest message tier 1 can write (3 MiB: tier1.yaml's receiver
# sizes). The broker default (message.max.bytes, 1 MB) is not enough.
#
# Choose the partition count for the most tier-2 replicas you will run:
# adding partitions later moves most users to another replica (a warm-up).
set -eu
: "${BOOTSTRAP:?set BOOTSTRAP to a broker address, e.g. kafka-0:9092}"
exec kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
	--topic audit-by-user \
	--partitions "${PARTITIONS:-32}" \
	--replication-factor "${REPLICATION:-3}" \
	--config max.message.bytes=4194304 \
	--config min.insync.replicas=2
