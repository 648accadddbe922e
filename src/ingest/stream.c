/*
 * stream.c -- Kafka sources: one consumer thread per topic partition,
 * feeding the table partition of the same number, exactly once.
 *
 * The set.  A StreamSet has one thread that every SYNC_MS (or when
 * streamset_sync pokes it) compares the catalog with its sources: a
 * table whose config has streamType kafka and no source gets one; a
 * source whose table was dropped, or whose config was replaced (PUT
 * /tables), is stopped (and started again from the new config).  The
 * same thread asks the broker for the topic's partition count every
 * DISCOVER_MS and starts a consumer for each new partition, after
 * table_ensure_partitions opened the table partition.
 *
 * A partition consumer (part_main).  Its position (the next offset) is
 * the table partition's stream position (table_stream_next): the end of
 * the last batch it wrote, kept by the partition with the rows (in its
 * log and segment footers).  So after a crash it resumes exactly after
 * the last batch that reached the partition, whatever moment the process
 * died, and nothing is consumed twice or skipped.  The first start
 * resolves auto.offset.reset (smallest: the low watermark; largest,
 * Pinot's default: the high watermark) and writes an empty batch there,
 * so a restart before the first message keeps that position.
 * Each loop: poll up to MAX_BATCH messages already fetched (waiting up to
 * POLL_MS for the first), decode each into a row of the table's schema
 * (a bad one becomes a dead-letter row: source "kafka:TOPIC/PARTITION",
 * position = offset, the error and the raw bytes), write the dead
 * letters (durably) and then the rows with the positions [pos, last
 * offset + 1), and advance.  Dead letters at offsets up to the largest
 * one sys.dead_letters already holds for this source are not written
 * again: after a crash between the two writes, each bad message is still
 * recorded once.  A failed write (disk full, memory) leaves the position
 * where it was: the consumer is reopened there after RETRY_MS, so
 * ingestion pauses without losing or skipping messages.
 *
 * States of a partition consumer (IngestStat.state):
 *   STARTING -> CONSUMING <-> ERROR (poll or write failed; retried)
 *   CONSUMING -> PAUSED (streamset_pause: consuming segment sealed,
 *   consumer closed) -> CONSUMING (streamset_resume)
 *   any -> stopped (source stopped: thread joined).
 *
 * A message larger than the decoder property maxMessageBytes (default
 * 16 MiB) is a dead letter without being decoded.  With
 * stream.kafka.deadletter.topic.name set, each dead letter is also
 * produced (key and value as consumed) to that topic on the same brokers,
 * before it is recorded: at least once there (a crash in between sends it
 * again), exactly once in sys.dead_letters.
 *
 * Rate limit: the stream setting topic.consumption.rate.limit (messages
 * per second for the topic, as in Pinot) is split evenly between the
 * partitions; each consumer keeps a token bucket of one second.
 *
 * Reports: after every batch (and every REPORT_MS while idle) the
 * consumer publishes its IngestStat (offsets, lag from the fetch
 * watermarks, rates over the last RATE_WINDOW_MS, freshness = wall time
 * when the batch became visible minus its oldest message's timestamp,
 * and the p99 of that over the last FRESH_RING batches) to the table
 * (table_ingest_set), from where sys.ingestion and /metrics read it.
 *
 * Ownership: the set owns its sources; a source owns its consumers and
 * holds a reference to its table.  Strings of a source live in its arena.
 *
 * Exports: streamset_create, streamset_free, streamset_sync,
 * streamset_check, streamset_pause, streamset_resume, streamset_pause_status.
 */
#define _GNU_SOURCE
#include "ingest/stream.h"
#include "base/arena.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/metric.h"
#include "ingest/jsonrec.h"
#include "ingest/kafka.h"
#include "ingest/msgdec.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SYNC_MS 500
#define DISCOVER_MS 5000
#define POLL_MS 100
#define MAX_BATCH 8192
#define RETRY_MS 1000
#define REPORT_MS 500
#define RATE_WINDOW_MS 5000
#define FRESH_RING 1024
#define META_TIMEOUT_MS 5000
#define DEFAULT_MAX_MSG (16ll << 20)

typedef struct Source Source;

typedef struct PartSrc {
	Source *src;
	int part;
	pthread_t th;
	_Atomic int resume_from;	/* 0, 1 smallest, 2 largest */
	IngestStat st;
	/* rate window */
	int64_t win_start_ms;
	uint64_t win_msgs, win_rows, win_bytes;
	int64_t fresh[FRESH_RING];
	int nfresh, fresh_at;
	double tokens;
	int64_t tokens_ms;
} PartSrc;

struct Source {
	Source *next;
	StreamSet *set;
	Table *t;
	const TableConfig *cfg;	/* the config it was started from */
	Arena arena;
	const char *table;
	const char *topic;
	const char *source_prefix;	/* "kafka:TOPIC/" */
	KafkaProps props;
	int reset_smallest;
	double rate_limit;	/* messages per second for the topic; 0 none */
	cJSON *settings;	/* the merged stream settings (decoders) */
	int64_t max_msg;	/* larger messages are dead letters */
	const char *dlq_topic;	/* stream.kafka.deadletter.topic.name, or NULL */
	KafkaProducer *dlq;	/* its producer (thread-safe), or NULL */
	_Atomic int paused;
	_Atomic int stop;
	_Atomic int nparts;
	PartSrc *parts[TABLE_MAX_PARTS];
	int64_t next_discover_ms;
	char error[256];	/* the last discovery error */
};

struct StreamSet {
	Catalog *cat;
	XformCompiler cc;
	char *state_dir;	/* DATA/streams: pause flags */
	pthread_t th;
	pthread_mutex_t mu;	/* sources list, stop, poke */
	pthread_cond_t cv;
	int stop;
	int poke;
	_Atomic int quitting;	/* set by streamset_free before it takes mu:
				 * a sync in progress skips the remaining
				 * (slow, broker-bound) discoveries */
	Source *sources;
};

/* ---- stream settings --------------------------------------------------- */

/* The text of a stream-config value (strings as they are, numbers and
 * booleans printed), in a; NULL if absent or not a scalar. */
static const char *
setting_text(Arena *a, const cJSON *it)
{
	if (it == NULL)
		return NULL;
	if (cJSON_IsString(it))
		return arena_strdup(a, it->valuestring);
	char tmp[64];
	if (cJSON_IsNumber(it)) {
		if (it->valuedouble == (double)(int64_t)it->valuedouble)
			snprintf(tmp, sizeof(tmp), "%" PRId64, (int64_t)it->valuedouble);
		else
			snprintf(tmp, sizeof(tmp), "%.17g", it->valuedouble);
		return arena_strdup(a, tmp);
	}
	if (cJSON_IsBool(it))
		return arena_strdup(a, cJSON_IsTrue(it) ? "true" : "false");
	return NULL;
}

/* The merged stream settings of a table config: streamConfigs, then
 * streamConfigMaps[0] over it (as tblconfig.c reads them).  Caller frees
 * with cJSON_Delete; NULL when there are none. */
static cJSON *
stream_settings(const TableConfig *cfg)
{
	cJSON *root = cJSON_Parse(cfg->json);
	if (root == NULL)
		return NULL;
	cJSON *out = cJSON_CreateObject();
	const cJSON *srcs[2];
	srcs[0] = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(root, "tableIndexConfig"), "streamConfigs");
	srcs[1] = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(root, "ingestionConfig"),
				"streamIngestionConfig"),
			"streamConfigMaps"),
		0);
	for (int k = 0; out && k < 2; k++) {
		const cJSON *it;
		cJSON_ArrayForEach(it, srcs[k])
		{
			if (it->string == NULL)
				continue;
			cJSON_DeleteItemFromObjectCaseSensitive(out, it->string);
			cJSON_AddItemToObject(out, it->string, cJSON_Duplicate(it, 1));
		}
	}
	cJSON_Delete(root);
	return out;
}

/* Fills a new source's settings from its table config; ERR_BAD_CONFIG
 * names what is missing. */
static int
source_configure(Source *s, const TableConfig *cfg, const Schema *sc, int check, Err *e)
{
	cJSON *m = stream_settings(cfg);
	if (m == NULL)
		return err_set(e, ERR_NOMEM, "reading the stream settings of %s", s->table);
	s->settings = m;
	Arena *a = &s->arena;
	int rc = 0;
	s->max_msg = DEFAULT_MAX_MSG;
	if (strcasecmp(cfg->stream_type, "kafka") != 0) {
		return err_set(e, ERR_UNSUPPORTED, "table %s: streamType '%s' is not supported (kafka is)",
			       s->table, cfg->stream_type);
	}
	s->topic = cfg->topic ? arena_strdup(a, cfg->topic) : NULL;
	s->props.brokers = cfg->broker_list ? arena_strdup(a, cfg->broker_list) : NULL;
	/* (a config without them loads, as Pinot's example configs must; its
	 * source reports what is missing) */
	if (s->topic == NULL && !check)
		rc = err_set(e, ERR_BAD_CONFIG, "table %s: stream.kafka.topic.name is missing", s->table);
	else if (s->props.brokers == NULL && !check)
		rc = err_set(e, ERR_BAD_CONFIG, "table %s: stream.kafka.broker.list is missing", s->table);
	int n = cJSON_GetArraySize(m), k = 0;
	const char **keys = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
	const char **vals = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
	const cJSON *it;
	const char *pfx = ".consumer.prop.";
	cJSON_ArrayForEach(it, m)
	{
		if (rc || keys == NULL || vals == NULL || it->string == NULL)
			continue;
		const char *name = it->string;
		const char *v = setting_text(a, it);
		if (strcmp(name, "topic.consumption.rate.limit") == 0) {
			char *end;
			double r = v ? strtod(v, &end) : -1;
			if (v == NULL || end == v || *end || r < 0)
				rc = err_set(e, ERR_BAD_CONFIG,
					     "table %s: topic.consumption.rate.limit must be a number >= 0, got '%s'",
					     s->table, v ? v : "?");
			s->rate_limit = r;
			continue;
		}
		if (strcmp(name, "stream.kafka.deadletter.topic.name") == 0) {
			s->dlq_topic = v && *v ? v : NULL;
			continue;
		}
		const char *mp = strncmp(name, "stream.", 7) == 0 ? strstr(name + 7, ".decoder.prop.") : NULL;
		if (mp && strcmp(mp, ".decoder.prop.maxMessageBytes") == 0) {
			int64_t bytes;
			if (v == NULL || tblconfig_parse_size(v, &bytes) != 0 || bytes <= 0)
				rc = err_set(e, ERR_BAD_CONFIG, "table %s: %s must be a size such as 16M, got '%s'",
					     s->table, name, v ? v : "?");
			else
				s->max_msg = bytes;
			continue;
		}
		const char *p = strncmp(name, "stream.", 7) == 0 ? strstr(name + 7, pfx) : NULL;
		if (p == NULL || v == NULL)
			continue;
		const char *key = p + strlen(pfx);
		if (strcmp(key, "auto.offset.reset") == 0) {
			if (strcasecmp(v, "smallest") == 0 || strcasecmp(v, "earliest") == 0)
				s->reset_smallest = 1;
			else if (strcasecmp(v, "largest") != 0 && strcasecmp(v, "latest") != 0)
				rc = err_set(e, ERR_BAD_CONFIG,
					     "table %s: %s must be smallest or largest, got '%s'", s->table,
					     name, v);
		}
		keys[k] = arena_strdup(a, key);
		vals[k] = v;
		k++;
	}
	if (rc == 0 && (keys == NULL || vals == NULL))
		rc = err_set(e, ERR_NOMEM, "reading the stream settings of %s", s->table);
	s->props.n = k;
	s->props.keys = keys;
	s->props.vals = vals;
	s->props.lenient = 1;
	/* the decoder: a table with one Waybill lacks (another company's
	 * class in a Pinot config) loads, and its source says why it does
	 * not consume */
	MsgDecoder *probe = NULL;
	if (rc == 0 && !check && (rc = msgdec_create(m, sc, &probe, e)) != 0) {
		char why[ERR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", err_msg(e));
		err_reset(e, rc, "table %s: %s", s->table, why);
	}
	msgdec_free(probe);
	if (rc == 0) {
		char pre[600];
		snprintf(pre, sizeof(pre), "kafka:%s/", s->topic ? s->topic : "");
		if ((s->source_prefix = arena_strdup(a, pre)) == NULL)
			rc = err_set(e, ERR_NOMEM, "starting the source of %s", s->table);
	}
	return rc;
}

int
streamset_check(const StreamSet *set, const TableConfig *cfg, const Schema *sc, Err *e)
{
	Xform *x = NULL;
	int rc = xform_create(sc, cfg, &set->cc, &x, e);
	xform_free(x);
	/* another stream type (Pinot's kinesis, pulsar) loads, as Pinot's
	 * examples must; its table reports in sys.ingestion that it is not
	 * consumed */
	if (rc || cfg->type != TABLE_REALTIME || cfg->stream_type == NULL ||
	    strcasecmp(cfg->stream_type, "kafka") != 0)
		return rc;
	Source tmp;
	memset(&tmp, 0, sizeof(tmp));
	arena_init(&tmp.arena, 1024);
	tmp.table = cfg->name;
	tmp.cfg = cfg;
	rc = source_configure(&tmp, cfg, sc, 1, e);
	cJSON_Delete(tmp.settings);
	arena_free(&tmp.arena);
	return rc;
}

/* ---- pause flags --------------------------------------------------------- */

static void
flag_path(const StreamSet *set, const char *table, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s.paused", set->state_dir, table);
}

static int
flag_set(StreamSet *set, const char *table, int paused, Err *e)
{
	char path[4200];
	flag_path(set, table, path, sizeof(path));
	if (!paused) {
		if (unlink(path) != 0 && errno != ENOENT)
			return err_set(e, ERR_IO, "remove %s: %s", path, strerror(errno));
		return 0;
	}
	int rc = file_mkdirs(set->state_dir, e);
	return rc ? rc : file_write_atomic(path, "paused\n", 7, e);
}

/* ---- one partition ------------------------------------------------------ */

static void
report(PartSrc *ps)
{
	Source *s = ps->src;
	int64_t now = clock_wall_ms();
	int64_t dt = now - ps->win_start_ms;
	if (dt >= RATE_WINDOW_MS || ps->st.msgs_per_s == 0) {
		if (dt > 0) {
			ps->st.msgs_per_s = (double)ps->win_msgs * 1000.0 / (double)dt;
			ps->st.rows_per_s = (double)ps->win_rows * 1000.0 / (double)dt;
			ps->st.bytes_per_s = (double)ps->win_bytes * 1000.0 / (double)dt;
		}
		if (dt >= RATE_WINDOW_MS) {
			ps->win_start_ms = now;
			ps->win_msgs = ps->win_rows = ps->win_bytes = 0;
		}
	}
	ps->st.partition = ps->part;
	ps->st.rate_limit = (int64_t)s->rate_limit;
	if (ps->nfresh > 0) {
		int64_t tmp[FRESH_RING];
		memcpy(tmp, ps->fresh, sizeof(int64_t) * (size_t)ps->nfresh);
		/* insertion sort is enough for the p99 of 1,024 values twice a
		 * second; partial: only the top 1% needs ordering */
		int want = ps->nfresh - 1 - (ps->nfresh - 1) / 100;
		for (int i = ps->nfresh - 1; i >= want; i--)
			for (int j = 0; j < i; j++)
				if (tmp[j] > tmp[i]) {
					int64_t x = tmp[j];
					tmp[j] = tmp[i];
					tmp[i] = x;
				}
		ps->st.freshness_p99_ms = tmp[want];
	}
	table_ingest_set(s->t, ps->part, &ps->st);
}

static void
set_state(PartSrc *ps, const char *state, const Err *e)
{
	snprintf(ps->st.state, sizeof(ps->st.state), "%s", state);
	if (e)
		snprintf(ps->st.error, sizeof(ps->st.error), "%s", err_msg(e));
	report(ps);
}

/* Sleeps ms in short steps; 1 if the source is stopping. */
static int
nap(Source *s, int64_t ms)
{
	while (ms > 0 && !atomic_load(&s->stop)) {
		int64_t step = ms < 50 ? ms : 50;
		struct timespec ts = {0, (long)step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return atomic_load(&s->stop);
}

/* The low or high watermark of the partition. */
static int
watermark(Source *s, int part, int low, int64_t *out, Err *e)
{
	KafkaConsumer *c;
	int rc = kafka_consumer_open(&s->props, s->topic, part, KAFKA_OFFSET_END, &c, e);
	if (rc)
		return rc;
	int64_t lo, hi;
	rc = kafka_consumer_watermarks(c, &lo, &hi, META_TIMEOUT_MS, e);
	kafka_consumer_close(c);
	if (rc == 0)
		*out = low ? lo : hi;
	return rc;
}

/* A partition's decoders, built for one schema. */
typedef struct Decoders {
	const Schema *schema;
	const TableConfig *cfg;
	MsgDecoder *md;		/* message bytes -> JSON record (format, envelope) */
	JsonRec *jr;		/* JSON record -> row (no transforms) */
	Xform *xf;		/* JSON record -> rows (transforms, filter) */
	/* an upsert table's primary-key columns (npk 0: not one) and its
	 * deleteRecordColumn (-1: none), in schema's positions */
	int npk;
	int pk[16];
	int del_col;
} Decoders;

static void
decoders_free(Decoders *d)
{
	msgdec_free(d->md);
	jsonrec_free(d->jr);
	xform_free(d->xf);
	memset(d, 0, sizeof(*d));
}

/* (Re)builds d for schema sc (the source's config is fixed for its
 * life: a new config starts a new source). */
static int
decoders_for(Source *s, Decoders *d, const Schema *sc, Err *e)
{
	if (d->schema == sc)
		return 0;
	decoders_free(d);
	int rc = msgdec_create(s->settings, sc, &d->md, e);
	if (rc == 0 && (rc = xform_create(sc, s->cfg, &s->set->cc, &d->xf, e)) == 0 &&
	    !xform_active(d->xf)) {
		xform_free(d->xf);
		d->xf = NULL;
	}
	if (rc == 0 && d->xf == NULL && (d->jr = jsonrec_create(sc, e)) == NULL)
		rc = e->code ? e->code : ERR_NOMEM;
	if (rc) {
		decoders_free(d);
		return rc;
	}
	d->schema = sc;
	const TableConfig *c = s->cfg;
	d->npk = 0;
	d->del_col = -1;
	if (c && c->upsert_mode && strcmp(c->upsert_mode, "NONE") != 0) {
		for (int k = 0; k < sc->npk && d->npk < 16; k++) {
			int pc = schema_find(sc, sc->pk[k]);
			if (pc >= 0)
				d->pk[d->npk++] = pc;
		}
		d->del_col = c->delete_col ? schema_find(sc, c->delete_col) : -1;
	}
	return 0;
}

/* An upsert table's rows [before, nrows) of one message: every primary-key
 * column must be set, and a change feed's delete sets the table's
 * deleteRecordColumn (a table without one cannot apply deletes: the
 * message is refused). */
static int
upsert_rows(const Source *s, const Decoders *d, RowBatch *rows, size_t before, const MsgMeta *meta,
	    int *col, Err *e)
{
	if (d->npk == 0)
		return 0;
	const Schema *sc = d->schema;
	int dc = d->del_col;
	for (size_t r = before; r < rows->nrows; r++) {
		Value *row = rowbatch_row(rows, r);
		for (int k = 0; k < d->npk; k++) {
			int pc = d->pk[k];
			if (row[pc].null) {
				*col = pc;
				return err_set(e, ERR_BAD_RECORD,
					       "primary key column '%.64s' is NULL: an upsert table needs every key column",
					       sc->fields[pc].name);
			}
		}
		if (meta->op != MSG_OP_DELETE)
			continue;
		if (dc < 0 || row[dc].mv)
			return err_set(e, ERR_BAD_RECORD,
				       "a delete from the change feed, but table %s has no upsertConfig.deleteRecordColumn "
				       "to mark it (e.g. a BOOLEAN column __deleted)", s->table);
		WbType t = (WbType)sc->fields[dc].type;
		row[dc] = t == TYPE_STRING ? value_str(t, "true", 4)
			  : t == TYPE_FLOAT || t == TYPE_DOUBLE ? value_double(t, 1)
								 : value_int(t, 1);
	}
	return 0;
}

/* Decodes one message into a row of rows; a bad one into a dead letter
 * (unless already recorded). */
static int
decode(PartSrc *ps, Decoders *d, const KafkaMsg *m, RowBatch *rows, RowBatch *dead,
       int64_t dl_max, const char *source)
{
	Source *s = ps->src;
	Err e = {0};
	int col = -1;
	const char *json;
	size_t len;
	MsgMeta meta;
	int rc = (int64_t)m->val_len > s->max_msg
			 ? err_set(&e, ERR_TOO_LARGE, "message of %zu bytes is larger than maxMessageBytes (%" PRId64 ")",
				   m->val_len, s->max_msg)
			 : msgdec_decode(d->md, m->val, m->val_len, &json, &len, &meta, &e);
	if (rc == 0 && json == NULL) {
		ps->st.filtered++;	/* a tombstone: nothing to add */
		return 0;
	}
	size_t before = rows->nrows;
	if (rc == 0 && d->xf) {
		int filtered = 0;
		rc = xform_record(d->xf, json, len, rows, &col, &filtered, &e);
		ps->st.filtered += (uint64_t)filtered;
	} else if (rc == 0) {
		rc = jsonrec_decode(d->jr, json, len, rows, &col, &e);
	}
	if (rc == 0 && rows->nrows > before && (rc = upsert_rows(s, d, rows, before, &meta, &col, &e)) != 0) {
		while (rows->nrows > before)
			rowbatch_pop_row(rows);
	}
	if (rc == 0)
		return 0;
	if (rc == ERR_NOMEM)
		return rc;
	ps->st.dead_letters++;
	if (m->offset <= dl_max)
		return 0;
	const Schema *sc = table_schema(s->t);
	const char *cname = col >= 0 && col < sc->nfields ? sc->fields[col].name : NULL;
	return catalog_dead_letter_row(s->set->cat, dead, s->table, source, m->offset, cname,
				       err_msg(&e), m->val, m->val_len);
}

static void *
part_main(void *arg)
{
	PartSrc *ps = arg;
	Source *s = ps->src;
	Catalog *cat = s->set->cat;
	char source[700];
	snprintf(source, sizeof(source), "%s%d", s->source_prefix, ps->part);
	KafkaConsumer *kc = NULL;
	KafkaMsg *msgs = mem_alloc(sizeof(KafkaMsg) * MAX_BATCH);
	Decoders dec = {0};
	RowBatch rows, dead;
	rowbatch_init(&rows, 1);
	rowbatch_init(&dead, catalog_dead_letter_ncols(cat));
	int64_t dl_max = -1;
	int have_dl = 0;
	int was_paused = 0;
	int64_t pos = -1;
	Err e = {0};
	ps->win_start_ms = clock_wall_ms();
	ps->tokens_ms = clock_mono_ns() / 1000000;
	ps->st.high_watermark = ps->st.lag = -1;
	ps->st.freshness_ms = -1;
	snprintf(ps->st.source, sizeof(ps->st.source), "kafka:%s", s->topic);
	set_state(ps, "STARTING", NULL);
	if (msgs == NULL) {
		err_set(&e, ERR_NOMEM, "starting the consumer of %s", source);
		set_state(ps, "ERROR", &e);
		goto out;
	}
	while (!atomic_load(&s->stop)) {
		err_clear(&e);
		if (atomic_load(&s->paused)) {
			if (!was_paused) {
				kafka_consumer_close(kc);
				kc = NULL;
				if (table_seal_partition(s->t, ps->part, &e) != 0)
					log_warn("table %s: sealing partition %d at pause: %s", s->table,
						 ps->part, err_msg(&e));
				was_paused = 1;
				set_state(ps, "PAUSED", NULL);
			}
			nap(s, POLL_MS);
			continue;
		}
		was_paused = 0;
		if (!have_dl) {
			if (catalog_dead_letter_max(cat, s->table, source, &dl_max, &e) != 0) {
				set_state(ps, "ERROR", &e);
				nap(s, RETRY_MS);
				continue;
			}
			have_dl = 1;
		}
		if (kc == NULL) {
			pos = table_stream_next(s->t, ps->part);
			int from = atomic_exchange(&ps->resume_from, 0);
			if (pos < 0 || from) {
				int64_t at;
				int low = from ? from == 1 : s->reset_smallest;
				int rc = watermark(s, ps->part, low, &at, &e);
				if (rc == 0 && pos >= 0 && at < pos)
					at = pos;	/* never consume a message twice */
				if (rc == 0 && (pos < 0 || at != pos)) {
					RowBatch none;
					rowbatch_init(&none, table_schema(s->t)->nfields);
					rc = table_write_stream(s->t, ps->part, &none, pos < 0 ? at : pos, at, &e);
					rowbatch_free(&none);
				}
				if (rc) {
					if (from)
						atomic_store(&ps->resume_from, from);
					set_state(ps, "ERROR", &e);
					nap(s, RETRY_MS);
					continue;
				}
				pos = at;
			}
			if (kafka_consumer_open(&s->props, s->topic, ps->part, pos, &kc, &e) != 0) {
				set_state(ps, "ERROR", &e);
				nap(s, RETRY_MS);
				continue;
			}
			ps->st.offset = pos;
			ps->st.error[0] = '\0';
			set_state(ps, "CONSUMING", NULL);
		}
		/* the rate limit: a bucket of one second of messages */
		int max = MAX_BATCH;
		if (s->rate_limit > 0) {
			double rate = s->rate_limit / (s->nparts > 0 ? s->nparts : 1);
			int64_t now = clock_mono_ns() / 1000000;
			ps->tokens += rate * (double)(now - ps->tokens_ms) / 1000.0;
			ps->tokens_ms = now;
			if (ps->tokens > rate)
				ps->tokens = rate < 1 ? 1 : rate;
			if (ps->tokens < 1) {
				nap(s, (int64_t)((1 - ps->tokens) * 1000.0 / rate) + 1);
				continue;
			}
			if (ps->tokens < max)
				max = (int)ps->tokens;
		}
		int n = kafka_consumer_poll(kc, msgs, max, POLL_MS, &e);
		if (n < 0) {
			kafka_consumer_close(kc);
			kc = NULL;
			set_state(ps, "ERROR", &e);
			nap(s, RETRY_MS);
			continue;
		}
		int64_t lo, hi;
		kafka_consumer_cached_watermarks(kc, &lo, &hi);
		if (n == 0) {
			if (hi >= 0) {
				ps->st.high_watermark = hi;
				ps->st.lag = hi > pos ? hi - pos : 0;
				if (ps->st.lag == 0)
					ps->st.delay_ms = 0;
			}
			if (clock_wall_ms() - ps->st.last_ingest_ms >= REPORT_MS)
				report(ps);
			continue;
		}
		const Schema *sc = table_schema(s->t);
		if (decoders_for(s, &dec, sc, &e) != 0) {
			kafka_consumer_release(kc);
			kafka_consumer_close(kc);
			kc = NULL;
			set_state(ps, "ERROR", &e);
			nap(s, RETRY_MS);
			continue;
		}
		rowbatch_free(&rows);
		rowbatch_init(&rows, sc->nfields);
		rowbatch_reset(&dead);
		int rc = 0;
		int64_t oldest = INT64_MAX, newest = 0, end = pos;
		uint64_t bytes = 0, nmsg = 0, dead_before = ps->st.dead_letters;
		for (int i = 0; i < n && rc == 0; i++) {
			const KafkaMsg *m = &msgs[i];
			if (m->offset < pos)
				continue;	/* already consumed */
			size_t had = dead.nrows;
			rc = decode(ps, &dec, m, &rows, &dead, dl_max, source);
			if (rc == 0 && dead.nrows > had && s->dlq) {
				Err pe = {0};
				if (kafka_produce(s->dlq, s->dlq_topic, -1, m->key, m->key_len, m->val,
						  m->val_len, 0, &pe) != 0)
					log_warn("table %s: dead-letter topic %s: %s", s->table, s->dlq_topic,
						 err_msg(&pe));
			}
			end = m->offset + 1;
			bytes += m->val_len;
			nmsg++;
			if (m->ts_ms > 0 && m->ts_ms < oldest)
				oldest = m->ts_ms;
			if (m->ts_ms > newest)
				newest = m->ts_ms;
		}
		kafka_consumer_release(kc);
		if (rc == 0 && dead.nrows > 0) {
			rc = catalog_dead_letters_write(cat, &dead, &e);
			if (rc == 0)
				dl_max = end - 1;
		}
		if (rc == 0 && end > pos)
			rc = table_write_stream(s->t, ps->part, &rows, pos, end, &e);
		if (rc) {
			if (e.code == 0)
				err_set(&e, rc, "writing to %s", s->table);
			/* consumed again from pos after a pause */
			ps->st.dead_letters = dead_before;
			kafka_consumer_close(kc);
			kc = NULL;
			set_state(ps, "ERROR", &e);
			log_warn("table %s partition %d: %s; consuming again from offset %" PRId64
				 " in %d ms", s->table, ps->part, err_msg(&e), pos, RETRY_MS);
			nap(s, RETRY_MS);
			continue;
		}
		int64_t now = clock_wall_ms();
		pos = end;
		if (s->rate_limit > 0)
			ps->tokens -= (double)nmsg;
		metric_add(METRIC_STREAM_MESSAGES, nmsg);
		metric_add(METRIC_STREAM_ROWS, rows.nrows);
		metric_add(METRIC_STREAM_DEAD_LETTERS, ps->st.dead_letters - dead_before);
		ps->st.offset = pos;
		ps->st.messages += nmsg;
		ps->st.rows += rows.nrows;
		ps->st.bytes += bytes;
		ps->win_msgs += nmsg;
		ps->win_rows += rows.nrows;
		ps->win_bytes += bytes;
		ps->st.last_ingest_ms = now;
		if (hi >= 0) {
			ps->st.high_watermark = hi;
			ps->st.lag = hi > pos ? hi - pos : 0;
		}
		if (oldest != INT64_MAX) {
			ps->st.freshness_ms = now - oldest;
			ps->fresh[ps->fresh_at] = ps->st.freshness_ms;
			ps->fresh_at = (ps->fresh_at + 1) % FRESH_RING;
			if (ps->nfresh < FRESH_RING)
				ps->nfresh++;
			ps->st.delay_ms = ps->st.lag > 0 ? now - newest : 0;
		}
		if (ps->st.state[0] != 'C' || ps->st.error[0])
			ps->st.error[0] = '\0';
		snprintf(ps->st.state, sizeof(ps->st.state), "CONSUMING");
		report(ps);
	}
out:
	kafka_consumer_close(kc);
	decoders_free(&dec);
	rowbatch_free(&rows);
	rowbatch_free(&dead);
	mem_free(msgs);
	return NULL;
}

/* ---- sources ------------------------------------------------------------ */

static void
source_stop(Source *s)
{
	atomic_store(&s->stop, 1);
	for (int i = 0; i < s->nparts; i++) {
		pthread_join(s->parts[i]->th, NULL);
		mem_free(s->parts[i]);
	}
	kafka_producer_close(s->dlq);
	table_ingest_clear(s->t);
	table_unref(s->t);
	cJSON_Delete(s->settings);
	arena_free(&s->arena);
	mem_free(s);
}

/* Starts consumers for partitions the topic gained (set thread). */
static void
source_discover(Source *s)
{
	int64_t now = clock_wall_ms();
	if (now < s->next_discover_ms)
		return;
	s->next_discover_ms = now + DISCOVER_MS;
	int n = 0;
	Err e = {0};
	int rc = kafka_topic_partitions(&s->props, s->topic, META_TIMEOUT_MS, &n, &e);
	if (rc == 0 && n > TABLE_MAX_PARTS)
		n = TABLE_MAX_PARTS;
	if (rc == 0 && n > s->nparts)
		rc = table_ensure_partitions(s->t, n, &e);
	if (rc) {
		if (strcmp(s->error, err_msg(&e)) != 0)
			log_warn("table %s: %s", s->table, err_msg(&e));
		snprintf(s->error, sizeof(s->error), "%s", err_msg(&e));
		if (s->nparts == 0) {
			IngestStat st = {0};
			snprintf(st.source, sizeof(st.source), "kafka:%s", s->topic);
			snprintf(st.state, sizeof(st.state), "ERROR");
			snprintf(st.error, sizeof(st.error), "%s", err_msg(&e));
			st.offset = st.high_watermark = st.lag = st.freshness_ms = -1;
			table_ingest_set(s->t, 0, &st);
		}
		return;
	}
	s->error[0] = '\0';
	while (s->nparts < n) {
		PartSrc *ps = mem_calloc(1, sizeof(PartSrc));
		if (ps == NULL)
			break;
		ps->src = s;
		ps->part = s->nparts;
		if (pthread_create(&ps->th, NULL, part_main, ps) != 0) {
			mem_free(ps);
			log_error("table %s: cannot start a consumer thread", s->table);
			break;
		}
		s->parts[s->nparts++] = ps;
	}
}

static Source *
source_start(StreamSet *set, Table *t, const TableConfig *cfg)
{
	Source *s = mem_calloc(1, sizeof(Source));
	if (s == NULL)
		return NULL;
	arena_init(&s->arena, 1024);
	s->set = set;
	s->t = t;
	table_ref(t);
	s->cfg = cfg;
	s->table = arena_strdup(&s->arena, table_name(t));
	Err e = {0};
	char path[4200];
	if (s->table == NULL || source_configure(s, cfg, table_schema(t), 0, &e) != 0 ||
	    streamset_check(set, cfg, table_schema(t), &e) != 0) {
		log_error("table %s: not consuming: %s", table_name(t),
			  e.code ? err_msg(&e) : "no memory");
		IngestStat st = {0};
		snprintf(st.source, sizeof(st.source), "kafka:%s", cfg->topic ? cfg->topic : "?");
		snprintf(st.state, sizeof(st.state), "ERROR");
		snprintf(st.error, sizeof(st.error), "%s", e.code ? err_msg(&e) : "no memory");
		st.offset = st.high_watermark = st.lag = st.freshness_ms = -1;
		table_ingest_set(t, 0, &st);
		s->nparts = 0;
		atomic_store(&s->stop, 1);
		return s;	/* kept, so it is not retried until the config changes */
	}
	if (s->dlq_topic && kafka_producer_open(&s->props, &s->dlq, &e) != 0) {
		log_warn("table %s: no dead-letter topic: %s", s->table, err_msg(&e));
		s->dlq = NULL;
	}
	flag_path(set, s->table, path, sizeof(path));
	atomic_store(&s->paused, file_exists(path));
	log_info("table %s: consuming Kafka topic %s from %s%s", s->table, s->topic, s->props.brokers,
		 atomic_load(&s->paused) ? " (paused)" : "");
	source_discover(s);
	return s;
}

/* ---- the set ------------------------------------------------------------ */

static int
is_stream(const TableConfig *cfg)
{
	return cfg && cfg->type == TABLE_REALTIME && cfg->stream_type;
}

static void
sync_locked(StreamSet *set)
{
	Table **tabs = NULL;
	int n = 0;
	if (catalog_tables(set->cat, &tabs, &n) != 0)
		return;
	/* stop sources whose table is gone or whose config changed */
	for (Source **sp = &set->sources; *sp;) {
		Source *s = *sp;
		int keep = 0;
		for (int i = 0; i < n && !keep; i++)
			keep = tabs[i] == s->t && table_config_of(tabs[i], TABLE_REALTIME) == s->cfg;
		if (keep) {
			sp = &s->next;
			continue;
		}
		*sp = s->next;
		log_info("table %s: stopping its Kafka source", s->table);
		source_stop(s);
	}
	for (int i = 0; i < n; i++) {
		const TableConfig *cfg = table_config_of(tabs[i], TABLE_REALTIME);
		Source *s = set->sources;
		while (s && s->t != tabs[i])
			s = s->next;
		if (s == NULL && is_stream(cfg) && (s = source_start(set, tabs[i], cfg)) != NULL) {
			s->next = set->sources;
			set->sources = s;
		}
		table_unref(tabs[i]);
	}
	mem_free(tabs);
	for (Source *s = set->sources; s && !atomic_load(&set->quitting); s = s->next)
		if (!atomic_load(&s->stop))
			source_discover(s);
}

static void *
set_main(void *arg)
{
	StreamSet *set = arg;
	pthread_mutex_lock(&set->mu);
	while (!set->stop) {
		set->poke = 0;
		sync_locked(set);
		if (set->poke || set->stop)
			continue;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += SYNC_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&set->cv, &set->mu, &ts);
	}
	pthread_mutex_unlock(&set->mu);
	return NULL;
}

int
streamset_create(Catalog *c, const XformCompiler *cc, StreamSet **out, Err *e)
{
	StreamSet *set = mem_calloc(1, sizeof(StreamSet));
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/streams", catalog_data_dir(c));
	if (set == NULL || (set->state_dir = mem_strdup(dir)) == NULL) {
		mem_free(set);
		return err_set(e, ERR_NOMEM, "starting the stream sources");
	}
	set->cat = c;
	set->cc = *cc;
	pthread_mutex_init(&set->mu, NULL);
	pthread_cond_init(&set->cv, NULL);
	if (pthread_create(&set->th, NULL, set_main, set) != 0) {
		mem_free(set->state_dir);
		mem_free(set);
		return err_set(e, ERR_INTERNAL, "cannot start the stream thread");
	}
	*out = set;
	return 0;
}

void
streamset_free(StreamSet *set)
{
	if (set == NULL)
		return;
	atomic_store(&set->quitting, 1);
	pthread_mutex_lock(&set->mu);
	set->stop = 1;
	pthread_cond_signal(&set->cv);
	pthread_mutex_unlock(&set->mu);
	pthread_join(set->th, NULL);
	/* every consumer is told first, so they wind down together (each
	 * may be waiting seconds on a broker that is gone) */
	for (Source *s = set->sources; s; s = s->next)
		atomic_store(&s->stop, 1);
	while (set->sources) {
		Source *s = set->sources;
		set->sources = s->next;
		source_stop(s);
	}
	pthread_mutex_destroy(&set->mu);
	pthread_cond_destroy(&set->cv);
	mem_free(set->state_dir);
	mem_free(set);
}

void
streamset_sync(StreamSet *set)
{
	pthread_mutex_lock(&set->mu);
	sync_locked(set);
	pthread_mutex_unlock(&set->mu);
}

/* The source of table (caller holds mu), or NULL with e set. */
static Source *
find(StreamSet *set, const char *table, Err *e)
{
	for (Source *s = set->sources; s; s = s->next)
		if (strcmp(s->table, table) == 0)
			return s;
	err_set(e, ERR_NOT_FOUND, "table %s is not consuming from a stream", table);
	return NULL;
}

static void
answer(Source *s, int paused, const char *desc, Buf *out)
{
	buf_printf(out, "{\"pauseFlag\":%s,\"consumingSegments\":[", paused ? "true" : "false");
	for (int i = 0; !paused && i < s->nparts; i++)
		buf_printf(out, "%s\"%s__%d__consuming\"", i ? "," : "", s->table, i);
	buf_printf(out, "],\"description\":\"%s\"}", desc);
}

int
streamset_pause(StreamSet *set, const char *table, Buf *out, Err *e)
{
	streamset_sync(set);
	pthread_mutex_lock(&set->mu);
	Source *s = find(set, table, e);
	int rc = s ? flag_set(set, table, 1, e) : ERR_NOT_FOUND;
	if (rc == 0) {
		atomic_store(&s->paused, 1);
		answer(s, 1, "Pause flag is set. Consuming segments are being committed. Use /pauseStatus "
			     "endpoint in a few moments to check if all consuming segments have been "
			     "committed.", out);
	}
	pthread_mutex_unlock(&set->mu);
	return rc;
}

int
streamset_resume(StreamSet *set, const char *table, const char *consume_from, Buf *out, Err *e)
{
	int from = 0;
	if (consume_from && *consume_from) {
		if (strcasecmp(consume_from, "smallest") == 0)
			from = 1;
		else if (strcasecmp(consume_from, "largest") == 0)
			from = 2;
		else
			return err_set(e, ERR_INVALID, "consumeFrom must be smallest or largest, got '%s'",
				       consume_from);
	}
	streamset_sync(set);
	pthread_mutex_lock(&set->mu);
	Source *s = find(set, table, e);
	int rc = s ? flag_set(set, table, 0, e) : ERR_NOT_FOUND;
	if (rc == 0) {
		for (int i = 0; from && i < s->nparts; i++)
			atomic_store(&s->parts[i]->resume_from, from);
		atomic_store(&s->paused, 0);
		answer(s, 0, "Pause flag is cleared. Consuming segments are being created. Use "
			     "/pauseStatus endpoint in a few moments to double check.", out);
	}
	pthread_mutex_unlock(&set->mu);
	return rc;
}

int
streamset_pause_status(StreamSet *set, const char *table, Buf *out, Err *e)
{
	streamset_sync(set);
	pthread_mutex_lock(&set->mu);
	Source *s = find(set, table, e);
	if (s)
		answer(s, atomic_load(&s->paused), "", out);
	pthread_mutex_unlock(&set->mu);
	return s ? 0 : ERR_NOT_FOUND;
}
