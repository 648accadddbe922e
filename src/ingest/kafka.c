/*
 * kafka.c -- the librdkafka adapter (see kafka.h).
 *
 * Consumer: one rd_kafka_t consumer handle per topic partition, given its
 * partition and start offset with rd_kafka_assign -- no group join, no
 * rebalancing, no offset commits (auto commit and offset store are
 * forced off: the position that matters is recorded by the caller with
 * its data).  A group.id is set only because librdkafka wants one for a
 * consumer handle.  kafka_consumer_poll waits for the first message with
 * rd_kafka_consumer_poll and then takes whatever else is already fetched
 * without waiting (rd_kafka_consume_batch_queue with timeout 0), so a
 * batch never waits to fill up: freshness is the fetch latency.  The
 * rd_kafka_message_t objects of a poll are kept in the consumer until
 * kafka_consumer_release destroys them; KafkaMsg points into them.
 *
 * Producer: rd_kafka_producev with copied payloads; a full local queue is
 * drained by serving delivery reports and retried.  The delivery report
 * callback counts failed deliveries and keeps the first reason, which
 * kafka_producer_flush reports.
 *
 * Ownership: each object owns its rd_kafka_t (destroyed with it) and its
 * strings (mem_*).  Failures: ERR_BAD_CONFIG for a refused setting,
 * ERR_KAFKA for everything librdkafka reports, ERR_NOMEM.
 *
 * Exports: kafka_consumer_open, kafka_consumer_poll,
 * kafka_consumer_release, kafka_consumer_watermarks,
 * kafka_consumer_cached_watermarks, kafka_consumer_close,
 * kafka_topic_partitions, kafka_topic_create, kafka_producer_open,
 * kafka_produce, kafka_producer_poll, kafka_producer_flush,
 * kafka_producer_close.
 */
#include "ingest/kafka.h"
#include "base/log.h"
#include "base/mem.h"

#include <librdkafka/rdkafka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define POLL_MAX 65536

struct KafkaConsumer {
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	char *topic;
	int partition;
	rd_kafka_message_t **held;
	int nheld;
	int cap;
};

struct KafkaProducer {
	rd_kafka_t *rk;
	_Atomic uint64_t failed;
	_Atomic int have_reason;
	char reason[256];
};

/* Applies the default pairs dk/dv, then kp's settings, then the extra
 * pairs xk/xv (which win) to a new configuration. */
static int
make_conf(const KafkaProps *kp, const char *const *xk, const char *const *xv, int nx,
	  const char *const *dk, const char *const *dv, int nd, rd_kafka_conf_t **out, Err *e)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char why[512];
	if (conf == NULL)
		return err_set(e, ERR_NOMEM, "creating a Kafka configuration");
	for (int i = 0; i < nd; i++)
		rd_kafka_conf_set(conf, dk[i], dv[i], why, sizeof(why));
	if (kp->brokers && rd_kafka_conf_set(conf, "bootstrap.servers", kp->brokers, why,
					    sizeof(why)) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		return err_set(e, ERR_BAD_CONFIG, "Kafka broker list '%s': %s", kp->brokers, why);
	}
	for (int i = 0; i < kp->n + nx; i++) {
		const char *k = i < kp->n ? kp->keys[i] : xk[i - kp->n];
		const char *v = i < kp->n ? kp->vals[i] : xv[i - kp->n];
		if (rd_kafka_conf_set(conf, k, v, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
			if (kp->lenient && i < kp->n) {
				log_warn("Kafka setting '%s' = '%s' ignored: %s", k, v, why);
				continue;
			}
			rd_kafka_conf_destroy(conf);
			return err_set(e, ERR_BAD_CONFIG, "Kafka setting '%s' = '%s': %s", k, v, why);
		}
	}
	*out = conf;
	return 0;
}

/* ---- consumer ----------------------------------------------------------- */

int
kafka_consumer_open(const KafkaProps *kp, const char *topic, int partition, int64_t offset,
		    KafkaConsumer **out, Err *e)
{
	static const char *const k[] = {"enable.auto.commit", "enable.auto.offset.store",
					"enable.partition.eof"};
	static const char *const v[] = {"false", "false", "false"};
	/* a fetch returns at once when a message arrives, but a broker that
	 * cannot wake a waiting fetch (the dev broker) answers after
	 * fetch.wait.max.ms: keep it short, freshness depends on it */
	static const char *const dk[] = {"fetch.wait.max.ms"};
	static const char *const dv[] = {"5"};
	rd_kafka_conf_t *conf;
	char why[512];
	/* the configured settings, then ours (which must hold) */
	int rc = make_conf(kp, k, v, 3, dk, dv, 1, &conf, e);
	if (rc)
		return rc;
	size_t gl = 0;
	if (rd_kafka_conf_get(conf, "group.id", NULL, &gl) != RD_KAFKA_CONF_OK || gl <= 1)
		rd_kafka_conf_set(conf, "group.id", "waybill", why, sizeof(why));
	KafkaConsumer *c = mem_calloc(1, sizeof(KafkaConsumer));
	if (c == NULL || (c->topic = mem_strdup(topic)) == NULL) {
		mem_free(c);
		rd_kafka_conf_destroy(conf);
		return err_set(e, ERR_NOMEM, "opening a Kafka consumer");
	}
	c->partition = partition;
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
	if (c->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		kafka_consumer_close(c);
		return err_set(e, ERR_KAFKA, "creating a Kafka consumer: %s", why);
	}
	rd_kafka_poll_set_consumer(c->rk);
	c->q = rd_kafka_queue_get_consumer(c->rk);
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
	rd_kafka_resp_err_t err = rd_kafka_assign(c->rk, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		kafka_consumer_close(c);
		return err_set(e, ERR_KAFKA, "assigning %s[%d] at offset %lld: %s", topic, partition,
			       (long long)offset, rd_kafka_err2str(err));
	}
	*out = c;
	return 0;
}

static int
take(KafkaConsumer *c, rd_kafka_message_t *m, KafkaMsg *out, Err *e)
{
	if (m->err) {
		int rc = err_set(e, ERR_KAFKA, "%s[%d] at offset %lld: %s", c->topic, c->partition,
				 (long long)m->offset, rd_kafka_message_errstr(m));
		rd_kafka_message_destroy(m);
		return rc;
	}
	c->held[c->nheld++] = m;
	out->key = m->key;
	out->key_len = m->key_len;
	out->val = m->payload;
	out->val_len = m->len;
	out->offset = m->offset;
	rd_kafka_timestamp_type_t tt;
	out->ts_ms = rd_kafka_message_timestamp(m, &tt);
	return 0;
}

int
kafka_consumer_poll(KafkaConsumer *c, KafkaMsg *msgs, int max, int timeout_ms, Err *e)
{
	kafka_consumer_release(c);
	if (max > POLL_MAX)
		max = POLL_MAX;
	if (max <= 0)
		return 0;
	if (c->cap < max) {
		rd_kafka_message_t **h = mem_realloc(c->held, sizeof(*h) * (size_t)max);
		if (h == NULL)
			return err_set(e, ERR_NOMEM, "polling %s[%d]", c->topic, c->partition);
		c->held = h;
		c->cap = max;
	}
	rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
	if (m == NULL)
		return 0;
	int rc = take(c, m, &msgs[0], e);
	if (rc)
		return rc;
	int n = 1;
	while (n < max) {
		rd_kafka_message_t *more[1024];
		int want = max - n < 1024 ? max - n : 1024;
		ssize_t got = rd_kafka_consume_batch_queue(c->q, 0, more, (size_t)want);
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got; i++) {
			if (rc == 0 && (rc = take(c, more[i], &msgs[n], e)) == 0)
				n++;
			else if (rc && !more[i]->err)
				rd_kafka_message_destroy(more[i]);
		}
		if (rc) {
			/* messages after an error are dropped here and fetched
			 * again: the caller restarts from its own position */
			return n > 0 ? n : rc;
		}
		if (got < want)
			break;
	}
	return n;
}

void
kafka_consumer_release(KafkaConsumer *c)
{
	for (int i = 0; i < c->nheld; i++)
		rd_kafka_message_destroy(c->held[i]);
	c->nheld = 0;
}

int
kafka_consumer_watermarks(KafkaConsumer *c, int64_t *lo, int64_t *hi, int timeout_ms, Err *e)
{
	rd_kafka_resp_err_t err =
		rd_kafka_query_watermark_offsets(c->rk, c->topic, c->partition, lo, hi, timeout_ms);
	if (err)
		return err_set(e, ERR_KAFKA, "watermarks of %s[%d]: %s", c->topic, c->partition,
			       rd_kafka_err2str(err));
	return 0;
}

void
kafka_consumer_cached_watermarks(KafkaConsumer *c, int64_t *lo, int64_t *hi)
{
	if (rd_kafka_get_watermark_offsets(c->rk, c->topic, c->partition, lo, hi) != 0)
		*lo = *hi = -1;
}

void
kafka_consumer_close(KafkaConsumer *c)
{
	if (c == NULL)
		return;
	if (c->rk) {
		kafka_consumer_release(c);
		if (c->q)
			rd_kafka_queue_destroy(c->q);
		rd_kafka_assign(c->rk, NULL);
		rd_kafka_consumer_close(c->rk);
		rd_kafka_destroy(c->rk);
	}
	mem_free(c->held);
	mem_free(c->topic);
	mem_free(c);
}

/* ---- metadata and admin -------------------------------------------------- */

/* A short-lived client handle for metadata and admin requests. */
static int
admin_handle(const KafkaProps *kp, rd_kafka_t **out, Err *e)
{
	rd_kafka_conf_t *conf;
	char why[512];
	int rc = make_conf(kp, NULL, NULL, 0, NULL, NULL, 0, &conf, e);
	if (rc)
		return rc;
	/* a consumer handle: the settings given are a consumer's */
	*out = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
	if (*out == NULL) {
		rd_kafka_conf_destroy(conf);
		return err_set(e, ERR_KAFKA, "creating a Kafka client: %s", why);
	}
	return 0;
}

int
kafka_topic_partitions(const KafkaProps *kp, const char *topic, int timeout_ms, int *n, Err *e)
{
	rd_kafka_t *rk;
	int rc = admin_handle(kp, &rk, e);
	if (rc)
		return rc;
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_resp_err_t err = t ? rd_kafka_metadata(rk, 0, t, &md, timeout_ms)
				    : RD_KAFKA_RESP_ERR__INVALID_ARG;
	if (err)
		rc = err_set(e, ERR_KAFKA, "metadata of topic '%s' from %s: %s", topic,
			     kp->brokers ? kp->brokers : "?", rd_kafka_err2str(err));
	else if (md->topic_cnt != 1 || md->topics[0].err)
		rc = err_set(e, ERR_NOT_FOUND, "topic '%s': %s", topic,
			     md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "not in metadata");
	else
		*n = md->topics[0].partition_cnt;
	if (md)
		rd_kafka_metadata_destroy(md);
	if (t)
		rd_kafka_topic_destroy(t);
	rd_kafka_destroy(rk);
	return rc;
}

int
kafka_topic_create(const KafkaProps *kp, const char *topic, int n, int timeout_ms, Err *e)
{
	rd_kafka_t *rk;
	char why[512];
	int rc = admin_handle(kp, &rk, e);
	if (rc)
		return rc;
	rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, n, 1, why, sizeof(why));
	if (nt == NULL) {
		rd_kafka_destroy(rk);
		return err_set(e, ERR_INVALID, "topic '%s': %s", topic, why);
	}
	rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
	rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_operation_timeout(o, timeout_ms, why, sizeof(why));
	rd_kafka_CreateTopics(rk, &nt, 1, o, q);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
	if (ev == NULL) {
		rc = err_set(e, ERR_TIMEOUT, "creating topic '%s': no answer in %d ms", topic, timeout_ms);
	} else if (rd_kafka_event_error(ev)) {
		rc = err_set(e, ERR_KAFKA, "creating topic '%s': %s", topic, rd_kafka_event_error_string(ev));
	} else {
		const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
		size_t cnt = 0;
		const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
		for (size_t i = 0; i < cnt && rc == 0; i++) {
			rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[i]);
			if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
				rc = err_set(e, ERR_KAFKA, "creating topic '%s': %s", topic,
					     rd_kafka_topic_result_error_string(tr[i]));
		}
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_NewTopic_destroy(nt);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	return rc;
}

/* ---- producer ------------------------------------------------------------ */

static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	KafkaProducer *p = opaque;
	if (m->err == 0)
		return;
	atomic_fetch_add(&p->failed, 1);
	int no = 0;
	if (atomic_compare_exchange_strong(&p->have_reason, &no, 1))
		snprintf(p->reason, sizeof(p->reason), "%s", rd_kafka_err2str(m->err));
}

int
kafka_producer_open(const KafkaProps *kp, KafkaProducer **out, Err *e)
{
	static const char *const k[] = {"linger.ms", "queue.buffering.max.kbytes"};
	static const char *const v[] = {"5", "1048576"};
	KafkaProducer *p = mem_calloc(1, sizeof(KafkaProducer));
	if (p == NULL)
		return err_set(e, ERR_NOMEM, "opening a Kafka producer");
	/* our defaults first, the caller's settings over them */
	rd_kafka_conf_t *conf;
	KafkaProps mine = {kp->brokers, kp->n, kp->keys, kp->vals, kp->lenient};
	int rc = make_conf(&mine, NULL, NULL, 0, k, v, 2, &conf, e);
	if (rc) {
		mem_free(p);
		return rc;
	}
	rd_kafka_conf_set_opaque(conf, p);
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	char why[512];
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
	if (p->rk == NULL) {
		rd_kafka_conf_destroy(conf);
		mem_free(p);
		return err_set(e, ERR_KAFKA, "creating a Kafka producer: %s", why);
	}
	*out = p;
	return 0;
}

int
kafka_produce(KafkaProducer *p, const char *topic, int partition, const void *key,
	      size_t key_len, const void *val, size_t val_len, int64_t ts_ms, Err *e)
{
	for (;;) {
		rd_kafka_resp_err_t err = rd_kafka_producev(
			p->rk, RD_KAFKA_V_TOPIC(topic),
			RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
			RD_KAFKA_V_KEY((void *)key, key_len), RD_KAFKA_V_VALUE((void *)val, val_len),
			RD_KAFKA_V_TIMESTAMP(ts_ms > 0 ? ts_ms : 0), RD_KAFKA_V_END);
		if (err == 0)
			return 0;
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return err_set(e, ERR_KAFKA, "producing to %s: %s", topic, rd_kafka_err2str(err));
		rd_kafka_poll(p->rk, 10);
	}
}

void
kafka_producer_poll(KafkaProducer *p)
{
	rd_kafka_poll(p->rk, 0);
}

int
kafka_producer_flush(KafkaProducer *p, int timeout_ms, Err *e)
{
	rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, timeout_ms);
	uint64_t failed = atomic_exchange(&p->failed, 0);
	int rc = 0;
	if (err)
		rc = err_set(e, ERR_KAFKA, "flushing the producer: %s (%d messages still queued)",
			     rd_kafka_err2str(err), rd_kafka_outq_len(p->rk));
	else if (failed)
		rc = err_set(e, ERR_KAFKA, "%llu messages were not delivered; first reason: %s",
			     (unsigned long long)failed, p->reason);
	atomic_store(&p->have_reason, 0);
	return rc;
}

void
kafka_producer_close(KafkaProducer *p)
{
	if (p == NULL)
		return;
	rd_kafka_flush(p->rk, 5000);
	rd_kafka_destroy(p->rk);
	mem_free(p);
}
