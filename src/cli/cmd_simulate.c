/*
 * cmd_simulate.c -- `waybill simulate`: streams simulated order life-cycle
 * events from about 20 microservices (one Kafka topic per service) and an
 * item-availability update stream, with injectable faults and a
 * ground-truth log of what was injected.  The events themselves come from
 * simgen.c; this file parses the options, writes the side files
 * (--emit-items, --emit-configs), creates the topics, paces the messages
 * and delivers them to Kafka (ingest/kafka.h) or to stdout as NDJSON.
 *
 * How it works: simgen yields messages in send order, each with a send
 * time on its timeline (epoch ms from --start-time).  With --rate R > 0
 * the timeline runs at wall-clock speed: a message is sent when the wall
 * clock reaches its send time, and order events are also held to R per
 * second by a token bucket (100 ms of burst), so event times are close to
 * the moment of sending.  With --rate 0 nothing waits; the timeline is
 * laid out as if at 10,000 order events/s.  Truth lines are written as
 * the messages that realise them are sent.  SIGINT/SIGTERM end the run
 * early: the producer is flushed and the summary printed.
 *
 * States: parsing -> setup (files written, topics created, producer open)
 * -> streaming (until the orders are done, --duration passes or a signal
 * comes) -> flushing -> summary.
 *
 * Ownership: option strings are borrowed from argv; the generator, the
 * producer, the broker list read from --bootstrap-file and the Bufs are
 * owned here and freed before return.
 *
 * Failures: bad usage exit 2 with a message; a broker that does not answer
 * (about 15 s at most: topic creation, then a metadata request), a file that cannot be written or a
 * failed delivery exit 1 with the reason on stderr.
 *
 * Exports: cmd_simulate.
 */
#include "cli/cmd.h"
#include "cli/simgen.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/file.h"
#include "base/mem.h"
#include "ingest/kafka.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOMINAL_RATE    10000.0 /* timeline rate for --rate 0 */
#define TOPIC_TIMEOUT   10000   /* ms to create a topic */
#define CREATE_PROBE_MS 2000    /* ms for the first topic (see ensure_topics) */
#define BOOT_WAIT_MS    10000   /* ms to wait for --bootstrap-file */
#define MAX_PARTITIONS  10000

typedef struct SimOpts {
	SimConfig c;
	double rate;
	double duration_s; /* 0 = no limit */
	int has_avail_rate;
	int partitions;
	const char *brokers;
	const char *bootstrap_file;
	const char *prefix;
	const char *avail_topic;
	const char *truth;
	const char *emit_items;
	const char *emit_configs;
	const char *config_brokers;
	int to_stdout;
	int has_seed;
	int has_start;
} SimOpts;

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
usage(FILE *f)
{
	fputs("usage: waybill simulate (--brokers LIST | --bootstrap-file F | --stdout) [options]\n"
	      "\n"
	      "Streams order life-cycle events from 20 microservices (one topic per service:\n"
	      "order customer pricing promotions tax checkout payment fraud inventory store\n"
	      "picking packing label routing dispatch driver_app delivery_tracking notification\n"
	      "loyalty returns) for markets US, CA, MX, plus item-availability updates.\n"
	      "\n"
	      "  --brokers LIST          Kafka bootstrap servers (host:port,...)\n"
	      "  --bootstrap-file F      read the bootstrap address from F (as written by\n"
	      "                          'waybill devbroker'; waits up to 10 s for it)\n"
	      "  --stdout                write NDJSON to stdout (a \"topic\" field added)\n"
	      "  --topic-prefix P        prefix of every topic name (default none)\n"
	      "  --partitions N          partitions per topic when creating it (default 4)\n"
	      "  --rate R                order events per second, 0 = as fast as possible\n"
	      "                          (default 1000)\n"
	      "  --duration SECONDS      stop after this long\n"
	      "  --orders N              stop once N orders have completed their life cycle\n"
	      "                          (without --duration/--orders: until SIGINT/SIGTERM)\n"
	      "  --seed N                random seed: same seed and start time, same output\n"
	      "                          (default: from the clock)\n"
	      "  --start-time MS         timeline origin, epoch ms (default: now)\n"
	      "  --time-scale X          real-world delays are divided by X (default 600:\n"
	      "                          an hour of processing takes 6 s)\n"
	      "  --fault SPEC            inject a fault (repeatable), SPEC = "
	      "KIND[:KEY=VALUE,...]:\n"
	      "                            slow:service=S[,factor=F][,extra=MS][,market=M]\n"
	      "                            drop:service=S[,share=P][,market=M]\n"
	      "                            burst:market=M[,service=payment|fraud|inventory|\n"
	      "                                  delivery_tracking][,share=P]\n"
	      "                            dup[:share=P][,service=S][,delay=MS]\n"
	      "                            late[:share=P][,service=S][,delay=MS]\n"
	      "                            stall[:share=P][,stage=STAGE][,market=M]\n"
	      "                          every kind also takes from=SEC,until=SEC (a window\n"
	      "                          from the start); see docs/simulator.md\n"
	      "  --truth FILE            write the injected faults as NDJSON\n"
	      "  --items N               items in the availability stream (default 1000)\n"
	      "  --nodes N               nodes (stores, DCs) (default 100)\n"
	      "  --availability-rate R   availability updates per second (default rate/10;\n"
	      "                          0 = none)\n"
	      "  --availability-topic T  its topic (default item_availability)\n"
	      "  --availability-updates N  send exactly N availability updates (with\n"
	      "                          --orders 0: only those), instead of updates while\n"
	      "                          orders arrive\n"
	      "  --availability-late P   share of availability updates that arrive stale\n"
	      "                          (updated_at older than the key's last update;\n"
	      "                          default 0)\n"
	      "  --availability-late-ms MS  how much older at most (default 60000)\n"
	      "  --emit-items FILE       write the items dimension (CSV if FILE ends in .csv,\n"
	      "                          else NDJSON)\n"
	      "  --emit-configs DIR      write a Pinot schema and table config per topic\n"
	      "  --config-brokers LIST   the broker list written into those configs (default:\n"
	      "                          the broker in use, else localhost:9092)\n"
	      "\n"
	      "A summary (events per topic, faults) is printed on stderr at the end.\n",
	      f);
}

/* A number in [lo, hi] or an error naming the option. */
static int
num_opt(const char *opt, const char *v, double lo, double hi, int whole, double *out, Err *e)
{
	char *end;
	if (v == NULL)
		return err_set(e, ERR_INVALID, "%s needs a value", opt);
	errno = 0;
	double d = strtod(v, &end);
	if (*v == '\0' || *end != '\0' || errno || !isfinite(d) || d < lo || d > hi ||
	    (whole && d != floor(d)))
		return err_set(e, ERR_INVALID, "%s '%s': expected a%s number from %.0f to %.0f",
		               opt, v, whole ? " whole" : "", lo, hi);
	*out = d;
	return 0;
}

static int
str_opt(const char *opt, const char *v, const char **out, Err *e)
{
	if (v == NULL || *v == '\0')
		return err_set(e, ERR_INVALID, "%s needs a value", opt);
	*out = v;
	return 0;
}

static int
topic_name_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static int
parse(int argc, char **argv, SimOpts *o, Err *e)
{
	double d;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;
		if (strcmp(a, "--stdout") == 0) {
			o->to_stdout = 1;
			continue;
		}
		if (strcmp(a, "--brokers") == 0)
			rc = str_opt(a, v, &o->brokers, e);
		else if (strcmp(a, "--bootstrap-file") == 0)
			rc = str_opt(a, v, &o->bootstrap_file, e);
		else if (strcmp(a, "--topic-prefix") == 0) {
			if (v == NULL)
				return err_set(e, ERR_INVALID, "--topic-prefix needs a value");
			if (!topic_name_ok(v) || strlen(v) > 200)
				return err_set(
				        e, ERR_INVALID,
				        "--topic-prefix '%s': use letters, digits, '.', '_', '-'",
				        v);
			o->prefix = v;
		} else if (strcmp(a, "--availability-topic") == 0) {
			rc = str_opt(a, v, &o->avail_topic, e);
			if (rc == 0 && (!topic_name_ok(v) || strlen(v) > 200))
				return err_set(
				        e, ERR_INVALID,
				        "--availability-topic '%s': use letters, digits, '.', "
				        "'_', '-'",
				        v);
		} else if (strcmp(a, "--partitions") == 0) {
			rc = num_opt(a, v, 1, MAX_PARTITIONS, 1, &d, e);
			o->partitions = (int)d;
		} else if (strcmp(a, "--rate") == 0) {
			rc = num_opt(a, v, 0, 1e9, 0, &o->rate, e);
		} else if (strcmp(a, "--duration") == 0) {
			rc = num_opt(a, v, 0.001, 1e9, 0, &o->duration_s, e);
		} else if (strcmp(a, "--orders") == 0) {
			rc = num_opt(a, v, 0, 1e12, 1, &d, e);
			o->c.orders = (int64_t)d;
		} else if (strcmp(a, "--seed") == 0) {
			rc = num_opt(a, v, 0, 9007199254740991.0, 1, &d, e);
			o->c.seed = (uint64_t)d;
			o->has_seed = 1;
		} else if (strcmp(a, "--start-time") == 0) {
			rc = num_opt(a, v, 0, 1e14, 1, &d, e);
			o->c.start_ms = (int64_t)d;
			o->has_start = 1;
		} else if (strcmp(a, "--time-scale") == 0) {
			rc = num_opt(a, v, 0.001, 1e9, 0, &o->c.time_scale, e);
		} else if (strcmp(a, "--items") == 0) {
			rc = num_opt(a, v, 1, 100000000, 1, &d, e);
			o->c.items = (int)d;
		} else if (strcmp(a, "--nodes") == 0) {
			rc = num_opt(a, v, 1, 1000000, 1, &d, e);
			o->c.nodes = (int)d;
		} else if (strcmp(a, "--availability-updates") == 0) {
			rc = num_opt(a, v, 0, 1e15, 1, &d, e);
			o->c.avail_updates = (int64_t)d;
		} else if (strcmp(a, "--availability-late") == 0) {
			rc = num_opt(a, v, 0, 1, 0, &o->c.avail_late, e);
		} else if (strcmp(a, "--availability-late-ms") == 0) {
			rc = num_opt(a, v, 1, 1e12, 1, &d, e);
			o->c.avail_late_ms = (int64_t)d;
		} else if (strcmp(a, "--availability-rate") == 0) {
			rc = num_opt(a, v, 0, 1e9, 0, &o->c.avail_rate, e);
			o->has_avail_rate = 1;
		} else if (strcmp(a, "--fault") == 0) {
			if (v == NULL || *v == '\0')
				return err_set(e, ERR_INVALID,
				               "--fault needs a value KIND[:KEY=VALUE,...]");
			if (o->c.nfaults == SIMGEN_MAX_FAULTS)
				return err_set(e, ERR_INVALID, "at most %d --fault options",
				               SIMGEN_MAX_FAULTS);
			rc = simgen_parse_fault(v, &o->c.faults[o->c.nfaults], e);
			o->c.nfaults++;
		} else if (strcmp(a, "--truth") == 0)
			rc = str_opt(a, v, &o->truth, e);
		else if (strcmp(a, "--emit-items") == 0)
			rc = str_opt(a, v, &o->emit_items, e);
		else if (strcmp(a, "--emit-configs") == 0)
			rc = str_opt(a, v, &o->emit_configs, e);
		else if (strcmp(a, "--config-brokers") == 0)
			rc = str_opt(a, v, &o->config_brokers, e);
		else
			return err_set(e, ERR_INVALID, "unknown option '%s'", a);
		if (rc)
			return rc;
		i++;
	}
	int dests = (o->brokers != NULL) + (o->bootstrap_file != NULL) + o->to_stdout;
	if (dests > 1)
		return err_set(e, ERR_INVALID,
		               "give only one of --brokers, --bootstrap-file and --stdout");
	if (dests == 0 && (o->c.orders != 0 || o->c.avail_updates > 0))
		return err_set(e, ERR_INVALID,
		               "where to? give --brokers LIST, --bootstrap-file F or --stdout");
	return 0;
}

/* ---- side files --------------------------------------------------------- */

static int
write_file(const char *path, const Buf *b, Err *e)
{
	if (b->oom)
		return err_set(e, ERR_NOMEM, "out of memory");
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return err_set(e, ERR_IO, "cannot create %s: %s", path, strerror(errno));
	size_t w = fwrite(b->p, 1, b->len, f);
	int bad = w != b->len || ferror(f);
	if (fclose(f) != 0 || bad)
		return err_set(e, ERR_IO, "write %s: %s", path, strerror(errno));
	return 0;
}

/* The table name of a topic: characters other than letters, digits and
 * '_' become '_'. */
static void
table_name(Buf *b, const char *topic)
{
	for (const char *s = topic; *s; s++) {
		char c = *s;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		buf_putc(b, ok ? c : '_');
	}
}

static void
field(Buf *b, const char *name, const char *type, int *first)
{
	buf_printf(b, "%s\n    {\"name\": \"%s\", \"dataType\": \"%s\"}", *first ? "" : ",", name,
	           type);
	*first = 0;
}

static void
stream_config(Buf *b, const char *topic, const char *brokers)
{
	buf_puts(b, "  \"ingestionConfig\": {\n    \"streamIngestionConfig\": {\n"
	            "      \"streamConfigMaps\": [\n        {\n"
	            "          \"streamType\": \"kafka\",\n"
	            "          \"stream.kafka.topic.name\": ");
	buf_json_str(b, topic, strlen(topic));
	buf_puts(b, ",\n          \"stream.kafka.broker.list\": ");
	buf_json_str(b, brokers, strlen(brokers));
	buf_puts(b, ",\n          \"stream.kafka.consumer.type\": \"lowlevel\",\n"
	            "          \"stream.kafka.decoder.class.name\": "
	            "\"org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder\",\n"
	            "          \"stream.kafka.consumer.factory.class.name\": "
	            "\"org.apache.pinot.plugin.stream.kafka20.KafkaConsumerFactory\",\n"
	            "          \"stream.kafka.consumer.prop.auto.offset.reset\": \"smallest\",\n"
	            "          \"realtime.segment.flush.threshold.rows\": \"500000\",\n"
	            "          \"realtime.segment.flush.threshold.time\": \"1h\"\n"
	            "        }\n      ]\n    }\n  },\n");
}

/* Writes DIR/<table>_schema.json and DIR/<table>_table_config.json. */
static int
emit_pair(const char *dir, const char *table, const Buf *schema, const Buf *config, Err *e)
{
	Buf path;
	buf_init(&path);
	buf_printf(&path, "%s/%s_schema.json", dir, table);
	int rc = path.oom ? err_set(e, ERR_NOMEM, "out of memory") : write_file(path.p, schema, e);
	buf_reset(&path);
	buf_printf(&path, "%s/%s_table_config.json", dir, table);
	if (rc == 0)
		rc = path.oom ? err_set(e, ERR_NOMEM, "out of memory")
		              : write_file(path.p, config, e);
	buf_free(&path);
	return rc;
}

static int
emit_configs(const SimOpts *o, const char *brokers, Err *e)
{
	if (mkdir(o->emit_configs, 0755) != 0 && errno != EEXIST)
		return err_set(e, ERR_IO, "--emit-configs: cannot create %s: %s", o->emit_configs,
		               strerror(errno));
	Buf topic, table, schema, config;
	buf_init(&topic);
	buf_init(&table);
	buf_init(&schema);
	buf_init(&config);
	int rc = 0;
	for (int t = 0; t < simgen_topic_count() && rc == 0; t++) {
		int avail = t == simgen_avail_topic();
		buf_reset(&topic);
		buf_reset(&table);
		buf_reset(&schema);
		buf_reset(&config);
		buf_printf(&topic, "%s%s", o->prefix,
		           avail && o->avail_topic ? o->avail_topic : simgen_topic_name(t));
		table_name(&table, topic.p ? topic.p : "");
		int first = 1;
		buf_puts(&schema, "{\n  \"schemaName\": ");
		buf_json_str(&schema, table.p, table.len);
		buf_puts(&schema, ",\n  \"dimensionFieldSpecs\": [");
		if (avail) {
			field(&schema, "item_id", "STRING", &first);
			field(&schema, "node_id", "STRING", &first);
			field(&schema, "market", "STRING", &first);
			buf_puts(&schema, "\n  ],\n  \"metricFieldSpecs\": [");
			first = 1;
			field(&schema, "qty", "INT", &first);
			buf_puts(&schema,
			         "\n  ],\n  \"dateTimeFieldSpecs\": [\n"
			         "    {\"name\": \"updated_at\", \"dataType\": \"LONG\", "
			         "\"format\": \"1:MILLISECONDS:EPOCH\", \"granularity\": "
			         "\"1:MILLISECONDS\"}\n  ],\n"
			         "  \"primaryKeyColumns\": [\"item_id\", \"node_id\"]\n}\n");
		} else {
			static const char *const dims[] = {"event_id",   "order_id", "service",
			                                   "event_type", "stage",    "status",
			                                   "market",     "store_id"};
			for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++)
				field(&schema, dims[i], "STRING", &first);
			field(&schema, "seq", "INT", &first);
			field(&schema, "attempt", "INT", &first);
			buf_puts(&schema, "\n  ],\n  \"metricFieldSpecs\": [");
			first = 1;
			field(&schema, "latency_ms", "INT", &first);
			field(&schema, "amount", "DOUBLE", &first);
			field(&schema, "items", "INT", &first);
			buf_puts(&schema, "\n  ],\n  \"dateTimeFieldSpecs\": [\n"
			                  "    {\"name\": \"ts\", \"dataType\": \"LONG\", "
			                  "\"format\": \"1:MILLISECONDS:EPOCH\", \"granularity\": "
			                  "\"1:MILLISECONDS\"}\n  ]\n}\n");
		}
		buf_puts(&config, "{\n  \"tableName\": ");
		buf_json_str(&config, table.p, table.len);
		buf_printf(
		        &config,
		        ",\n  \"tableType\": \"REALTIME\",\n  \"segmentsConfig\": {\n"
		        "    \"schemaName\": \"%s\",\n    \"timeColumnName\": \"%s\",\n"
		        "    \"retentionTimeUnit\": \"DAYS\",\n    \"retentionTimeValue\": \"7\",\n"
		        "    \"replication\": \"1\"\n  },\n  \"tenants\": {},\n"
		        "  \"tableIndexConfig\": {\n    \"loadMode\": \"MMAP\",\n"
		        "    \"invertedIndexColumns\": %s\n  },\n",
		        table.p, avail ? "updated_at" : "ts",
		        avail ? "[\"market\"]" : "[\"market\", \"event_type\", \"status\"]");
		stream_config(&config, topic.p, brokers);
		if (avail)
			buf_puts(&config, "  \"upsertConfig\": {\"mode\": \"FULL\", "
			                  "\"comparisonColumns\": [\"updated_at\"]},\n");
		buf_puts(&config, "  \"metadata\": {\"customConfigs\": {\"generator\": "
		                  "\"waybill simulate\"}}\n}\n");
		if (topic.oom || table.oom)
			rc = err_set(e, ERR_NOMEM, "out of memory");
		else
			rc = emit_pair(o->emit_configs, table.p, &schema, &config, e);
	}
	if (rc == 0) {
		/* the order flow over the service tables (docs/lifecycle.md) */
		const char *names[64];
		Buf tn[64];
		int n = 0;
		for (int t = 0; t < simgen_topic_count() && n < 64; t++) {
			if (t == simgen_avail_topic())
				continue;
			buf_init(&tn[n]);
			buf_reset(&topic);
			buf_printf(&topic, "%s%s", o->prefix, simgen_topic_name(t));
			table_name(&tn[n], topic.p ? topic.p : "");
			names[n] = tn[n].p ? tn[n].p : "";
			n++;
		}
		buf_reset(&config);
		simgen_flow_json(names, n, o->c.time_scale, &config);
		for (int i = 0; i < n; i++)
			buf_free(&tn[i]);
		char path[4200];
		snprintf(path, sizeof(path), "%s/order_flow.json", o->emit_configs);
		if (config.oom)
			rc = err_set(e, ERR_NOMEM, "out of memory");
		else
			rc = file_write_atomic(path, config.p, config.len, e);
	}
	if (rc == 0) {
		/* the items dimension (for --emit-items) */
		buf_reset(&table);
		buf_reset(&schema);
		buf_reset(&config);
		buf_printf(&table, "%sitems", o->prefix);
		Buf tn;
		buf_init(&tn);
		table_name(&tn, table.p ? table.p : "");
		buf_puts(&schema, "{\n  \"schemaName\": ");
		buf_json_str(&schema, tn.p, tn.len);
		int first = 1;
		buf_puts(&schema, ",\n  \"dimensionFieldSpecs\": [");
		field(&schema, "item_id", "STRING", &first);
		field(&schema, "category", "STRING", &first);
		field(&schema, "department", "STRING", &first);
		buf_puts(&schema, "\n  ],\n  \"metricFieldSpecs\": [");
		first = 1;
		field(&schema, "price", "DOUBLE", &first);
		buf_puts(&schema, "\n  ],\n  \"primaryKeyColumns\": [\"item_id\"]\n}\n");
		buf_puts(&config, "{\n  \"tableName\": ");
		buf_json_str(&config, tn.p, tn.len);
		buf_puts(&config, ",\n  \"tableType\": \"OFFLINE\",\n  \"isDimTable\": true,\n"
		                  "  \"segmentsConfig\": {\"schemaName\": ");
		buf_json_str(&config, tn.p, tn.len);
		buf_puts(&config, ", \"replication\": \"1\"},\n  \"tenants\": {},\n"
		                  "  \"tableIndexConfig\": {\"loadMode\": \"MMAP\"},\n"
		                  "  \"metadata\": {}\n}\n");
		if (tn.oom)
			rc = err_set(e, ERR_NOMEM, "out of memory");
		else
			rc = emit_pair(o->emit_configs, tn.p, &schema, &config, e);
		buf_free(&tn);
	}
	buf_free(&topic);
	buf_free(&table);
	buf_free(&schema);
	buf_free(&config);
	return rc;
}

/* ---- the broker ------------------------------------------------------------ */

/* Reads the first line of path into *out (caller's, mem_free), waiting up
 * to BOOT_WAIT_MS for the file to appear. */
static int
read_bootstrap(const char *path, char **out, Err *e)
{
	int64_t deadline = clock_mono_ns() + (int64_t)BOOT_WAIT_MS * 1000000;
	for (;;) {
		FILE *f = fopen(path, "r");
		if (f) {
			char line[4096];
			int got = fgets(line, sizeof(line), f) != NULL;
			fclose(f);
			if (got) {
				line[strcspn(line, "\r\n")] = '\0';
				if (line[0]) {
					*out = mem_strdup(line);
					return *out ? 0 : err_set(e, ERR_NOMEM, "out of memory");
				}
			}
		} else if (errno != ENOENT) {
			return err_set(e, ERR_IO, "--bootstrap-file %s: %s", path, strerror(errno));
		}
		if (clock_mono_ns() > deadline || stop_flag)
			return err_set(e, ERR_IO,
			               "--bootstrap-file %s: no broker address after %d s (is "
			               "'waybill devbroker --bootstrap-file %s' running?)",
			               path, BOOT_WAIT_MS / 1000, path);
		clock_sleep_ms(50);
	}
}

typedef struct Out {
	const SimOpts *o;
	KafkaProducer *prod;
	KafkaProps kp;
	FILE *truth;
	char **topics; /* full topic names */
	int ntopics;
	int stdout_closed;
	int64_t last_ms; /* send time of the last message */
} Out;

static const char *const PROD_KEYS[] = {"client.id", "linger.ms", "message.timeout.ms",
                                        "queue.buffering.max.messages"};
static const char *const PROD_VALS[] = {"waybill-simulate", "5", "30000", "1000000"};

/* Makes sure every topic exists.  Topics are created with --partitions
 * partitions; a broker that does not answer CreateTopics (librdkafka's
 * mock cluster before 2.1 reports a controller id that no broker has) is
 * detected on the first topic, and then topics are only looked up (the
 * mock creates them on first use, and `waybill devbroker --topics`
 * creates them ahead with their partition count). */
static int
ensure_topics(Out *out, const char *brokers, Err *e)
{
	int create = 1, first = 1;
	/* an availability-only run (--orders 0 --availability-updates N)
	 * needs only that topic */
	int only_avail = out->o->c.orders == 0 && out->o->c.avail_updates > 0;
	for (int t = 0; t < out->ntopics && !stop_flag; t++) {
		if (only_avail && t != simgen_avail_topic())
			continue;
		Err ce = {0};
		int probe = first;
		first = 0;
		int rc = create ? kafka_topic_create(&out->kp, out->topics[t], out->o->partitions,
		                                     probe ? CREATE_PROBE_MS : TOPIC_TIMEOUT, &ce)
		                : ERR_UNSUPPORTED;
		if (rc == 0)
			continue;
		int n = 0;
		Err me = {0};
		if (kafka_topic_partitions(&out->kp, out->topics[t], TOPIC_TIMEOUT, &n, &me) != 0) {
			if (rc == ERR_UNSUPPORTED)
				return err_set(e, me.code, "Kafka at %s: %s", brokers,
				               err_msg(&me));
			return err_set(e, ce.code, "Kafka at %s: %s; %s", brokers, err_msg(&ce),
			               err_msg(&me));
		}
		if (create && probe && rc == ERR_TIMEOUT)
			create = 0; /* answers metadata, not CreateTopics */
		if (n != out->o->partitions)
			fprintf(stderr,
			        "waybill simulate: note: topic %s has %d partition(s), not %d (the "
			        "broker did not create it; with the dev broker, declare topics "
			        "with "
			        "'waybill devbroker --topics ... --partitions N')\n",
			        out->topics[t], n, out->o->partitions);
	}
	return stop_flag ? err_set(e, ERR_CANCELED, "interrupted") : 0;
}

static int
open_kafka(Out *out, const char *brokers, Err *e)
{
	out->kp.brokers = brokers;
	out->kp.n = 0;
	int rc = ensure_topics(out, brokers, e);
	if (rc != 0)
		return rc;
	out->kp.n = 4;
	out->kp.keys = PROD_KEYS;
	out->kp.vals = PROD_VALS;
	return kafka_producer_open(&out->kp, &out->prod, e);
}

static int
deliver(Out *out, const SimMsg *m, Err *e)
{
	if (m->truth && out->truth && fwrite(m->truth, 1, m->truth_len, out->truth) != m->truth_len)
		return err_set(e, ERR_IO, "--truth %s: %s", out->o->truth, strerror(errno));
	if (m->json == NULL || m->json_len == 0)
		return 0;
	const char *topic = out->topics[m->topic];
	if (out->o->to_stdout) {
		if (printf("{\"topic\":\"%s\",", topic) < 0 ||
		    fwrite(m->json + 1, 1, m->json_len - 1, stdout) != m->json_len - 1 ||
		    putchar('\n') == EOF) {
			if (errno == EPIPE) {
				out->stdout_closed = 1;
				return 0;
			}
			return err_set(e, ERR_IO, "writing to stdout: %s", strerror(errno));
		}
		return 0;
	}
	return kafka_produce(out->prod, topic, -1, m->key, m->key_len, m->json, m->json_len, 0, e);
}

/* Sleeps until mono time `until` (ns) in steps, serving the producer. */
static void
wait_until(Out *out, int64_t until)
{
	for (;;) {
		int64_t now = clock_mono_ns();
		if (now >= until || stop_flag)
			return;
		int64_t ms = (until - now) / 1000000;
		clock_sleep_ms(ms > 50 ? 50 : ms < 1 ? 1 : ms);
		if (out->prod)
			kafka_producer_poll(out->prod);
	}
}

static void
summary(const SimOpts *o, const Out *out, SimGen *g, double secs)
{
	const SimStats *s = simgen_stats(g);
	uint64_t total = 0;
	for (int t = 0; t < out->ntopics; t++)
		total += s->per_topic[t];
	fprintf(stderr,
	        "waybill simulate: %llu orders, %llu messages in %.1f s (%.0f/s), seed %llu, "
	        "timeline %lld..%lld, %.1f events/order\n",
	        (unsigned long long)s->orders, (unsigned long long)total, secs,
	        secs > 0 ? (double)total / secs : 0.0, (unsigned long long)o->c.seed,
	        (long long)o->c.start_ms, (long long)out->last_ms, simgen_events_per_order(g));
	for (int t = 0; t < out->ntopics; t++)
		fprintf(stderr, "  %-28s %10llu\n", out->topics[t],
		        (unsigned long long)s->per_topic[t]);
	fprintf(stderr, "  faults:");
	for (int k = 0; k < 6; k++)
		fprintf(stderr, " %s %llu", simgen_fault_name((SimFaultKind)k),
		        (unsigned long long)s->faults[k]);
	if (s->avail_stale)
		fprintf(stderr, "; stale availability updates %llu",
		        (unsigned long long)s->avail_stale);
	fputc('\n', stderr);
}

static int
stream(const SimOpts *o, Out *out, SimGen *g, Err *e)
{
	int64_t t0 = clock_mono_ns();
	int64_t end_ns = o->duration_s > 0 ? t0 + (int64_t)(o->duration_s * 1e9) : INT64_MAX;
	double gap_ns = o->rate > 0 ? 1e9 / o->rate : 0;
	double allowed = (double)t0; /* token bucket: next send allowed */
	uint64_t n = 0;
	SimMsg m;
	while (!stop_flag && !out->stdout_closed) {
		if (o->rate > 0) {
			int64_t next = simgen_peek_ms(g);
			if (next == INT64_MAX)
				break;
			double due_f = (double)t0 + (double)(next - o->c.start_ms) * 1e6;
			if (due_f >= (double)end_ns || due_f > 9e18)
				break;
			int64_t due = (int64_t)due_f;
			wait_until(out, due);
			if (stop_flag)
				break;
		} else if ((n & 1023) == 0 && clock_mono_ns() >= end_ns) {
			break;
		}
		int rc = simgen_next(g, &m, e);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		if (o->rate > 0 && m.is_order_event && m.json) {
			double now = (double)clock_mono_ns();
			if (allowed < now - 1e8)
				allowed = now - 1e8;
			if (allowed > now)
				wait_until(out, (int64_t)allowed);
			allowed += gap_ns;
		}
		out->last_ms = m.send_ms;
		if ((rc = deliver(out, &m, e)) != 0)
			return rc;
		if ((++n & 255) == 0 && out->prod)
			kafka_producer_poll(out->prod);
	}
	return 0;
}

static int
run(SimOpts *o, Err *e)
{
	int rc = 0;
	char *boot = NULL;
	const char *brokers = o->brokers;
	Out out = {.o = o, .last_ms = o->c.start_ms};
	SimGen *g = NULL;
	if (o->bootstrap_file) {
		if ((rc = read_bootstrap(o->bootstrap_file, &boot, e)) != 0)
			return rc;
		brokers = boot;
	}
	out.ntopics = simgen_topic_count();
	out.topics = mem_calloc((size_t)out.ntopics, sizeof(char *));
	if (out.topics == NULL) {
		mem_free(boot);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	for (int t = 0; t < out.ntopics && rc == 0; t++) {
		Buf b;
		buf_init(&b);
		int avail = t == simgen_avail_topic();
		buf_printf(&b, "%s%s", o->prefix,
		           avail && o->avail_topic ? o->avail_topic : simgen_topic_name(t));
		out.topics[t] = buf_take(&b);
		if (out.topics[t] == NULL)
			rc = err_set(e, ERR_NOMEM, "out of memory");
	}
	if (rc == 0 && o->emit_items)
		rc = simgen_write_items(
		        o->emit_items, o->c.items, o->c.seed,
		        strlen(o->emit_items) > 4 &&
		                strcmp(o->emit_items + strlen(o->emit_items) - 4, ".csv") == 0,
		        e);
	if (rc == 0 && o->emit_configs)
		rc = emit_configs(o,
		                  o->config_brokers ? o->config_brokers
		                  : brokers         ? brokers
		                                    : "localhost:9092",
		                  e);
	if (rc == 0 && o->truth && (out.truth = fopen(o->truth, "w")) == NULL)
		rc = err_set(e, ERR_IO, "--truth: cannot create %s: %s", o->truth, strerror(errno));
	if (rc == 0 && brokers)
		rc = open_kafka(&out, brokers, e);
	/* the timeline starts now, after the broker set-up (seconds with the
	 * dev broker), so paced events go out at their event time */
	if (!o->has_start)
		o->c.start_ms = clock_wall_ms();
	if (rc == 0)
		rc = simgen_open(&o->c, &g, e);
	int64_t t0 = clock_mono_ns();
	if (rc == 0)
		rc = stream(o, &out, g, e);
	if (out.prod) {
		Err fe = {0};
		int frc = kafka_producer_flush(out.prod, 60000, &fe);
		if (frc != 0 && rc == 0) {
			rc = frc;
			*e = fe;
		}
		kafka_producer_close(out.prod);
	}
	if (o->to_stdout && fflush(stdout) != 0 && errno != EPIPE && rc == 0)
		rc = err_set(e, ERR_IO, "writing to stdout: %s", strerror(errno));
	if (out.truth && fclose(out.truth) != 0 && rc == 0)
		rc = err_set(e, ERR_IO, "--truth %s: %s", o->truth, strerror(errno));
	if (g) {
		summary(o, &out, g, (double)(clock_mono_ns() - t0) / 1e9);
		simgen_close(g);
	}
	for (int t = 0; t < out.ntopics; t++)
		mem_free(out.topics[t]);
	mem_free(out.topics);
	mem_free(boot);
	return rc;
}

int
cmd_simulate(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
	SimOpts o = {
	        .rate = 1000,
	        .partitions = 4,
	        .prefix = "",
	        .c = {.time_scale = 600,
	              .orders = -1,
	              .avail_updates = -1,
	              .avail_late_ms = 60000,
	              .items = 1000,
	              .nodes = 100},
	};
	Err e = {0};
	if (parse(argc, argv, &o, &e) != 0) {
		fprintf(stderr, "waybill simulate: %s\n", err_msg(&e));
		return 2;
	}
	if (!o.has_seed)
		o.c.seed = (uint64_t)clock_wall_ms();
	if (!o.has_start)
		o.c.start_ms = clock_wall_ms();
	o.c.rate = o.rate > 0 ? o.rate : NOMINAL_RATE;
	if (!o.has_avail_rate)
		o.c.avail_rate = o.c.rate / 10;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (run(&o, &e) != 0) {
		fprintf(stderr, "waybill simulate: %s\n", err_msg(&e));
		return 1;
	}
	return 0;
}
