/*
 * kafka.h -- Waybill's adapter to librdkafka: a consumer of one topic
 * partition read from explicit offsets (assign, never group rebalancing),
 * a producer, topic metadata and topic creation.  Nothing else in Waybill
 * calls librdkafka for these (cmd_devbroker.c drives its mock cluster).
 *
 * Client settings are (key, value) pairs passed to librdkafka as they are
 * (Pinot's stream.kafka.consumer.prop.* with the prefix removed);
 * bootstrap.servers comes from `brokers`.  A setting librdkafka refuses
 * is ERR_BAD_CONFIG naming the key and librdkafka's reason.
 *
 * Errors are ERR_KAFKA with librdkafka's message, except where noted.
 */
#ifndef WB_KAFKA_H
#define WB_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define KAFKA_OFFSET_BEGINNING (-2)	/* the oldest retained message */
#define KAFKA_OFFSET_END (-1)		/* the next message produced */

typedef struct KafkaProps {
	const char *brokers;		/* "host:port,..." */
	int n;
	const char *const *keys;	/* borrowed for the call */
	const char *const *vals;
	int lenient;		/* a setting librdkafka refuses is skipped with a
				 * warning (Pinot configs carry Java-client
				 * settings such as key.deserializer) */
} KafkaProps;

/* One consumed message.  Every pointer is borrowed until
 * kafka_consumer_release (or the next poll). */
typedef struct KafkaMsg {
	const char *key;
	size_t key_len;
	const char *val;	/* NULL for a tombstone (null value) */
	size_t val_len;
	int64_t offset;
	int64_t ts_ms;		/* the message timestamp, -1 if none */
} KafkaMsg;

typedef struct KafkaConsumer KafkaConsumer;

/* Starts consuming topic/partition at offset (>= 0, or KAFKA_OFFSET_*).
 * *out is owned by the caller. */
int kafka_consumer_open(const KafkaProps *kp, const char *topic, int partition, int64_t offset,
			KafkaConsumer **out, Err *e);
/* Waits up to timeout_ms for messages and fills msgs[0..max) with what
 * is there: the number of messages (0 on timeout), or < 0.  A message
 * error of the partition (e.g. the requested offset is out of range) is
 * ERR_KAFKA with its text; "partition EOF" events are not errors.  Call
 * kafka_consumer_release before the next poll. */
int kafka_consumer_poll(KafkaConsumer *c, KafkaMsg *msgs, int max, int timeout_ms, Err *e);
void kafka_consumer_release(KafkaConsumer *c);
/* Low and high watermarks of the partition (high = the next offset to be
 * produced), asking the broker (blocking up to timeout_ms). */
int kafka_consumer_watermarks(KafkaConsumer *c, int64_t *lo, int64_t *hi, int timeout_ms, Err *e);
/* The watermarks as last reported by fetches (no round trip); -1 when
 * unknown yet. */
void kafka_consumer_cached_watermarks(KafkaConsumer *c, int64_t *lo, int64_t *hi);
void kafka_consumer_close(KafkaConsumer *c);

/* Number of partitions of topic (ERR_NOT_FOUND if the broker does not
 * know the topic). */
int kafka_topic_partitions(const KafkaProps *kp, const char *topic, int timeout_ms, int *n, Err *e);
/* Creates topic with n partitions (replication 1); an existing topic is
 * no error. */
int kafka_topic_create(const KafkaProps *kp, const char *topic, int n, int timeout_ms, Err *e);

typedef struct KafkaProducer KafkaProducer;

int kafka_producer_open(const KafkaProps *kp, KafkaProducer **out, Err *e);
/* Queues one message (key/val copied; partition < 0: librdkafka's
 * partitioner by key; ts_ms <= 0: now).  Waits while the local queue is
 * full.  Delivery failures are counted and reported by flush. */
int kafka_produce(KafkaProducer *p, const char *topic, int partition, const void *key,
		  size_t key_len, const void *val, size_t val_len, int64_t ts_ms, Err *e);
/* Serves delivery reports without waiting (call now and then). */
void kafka_producer_poll(KafkaProducer *p);
/* Waits up to timeout_ms until every queued message is delivered;
 * ERR_KAFKA if some were not, or if a delivery failed since the last
 * flush (with the count and the first reason). */
int kafka_producer_flush(KafkaProducer *p, int timeout_ms, Err *e);
void kafka_producer_close(KafkaProducer *p);

#endif
