/*
 * cmd_devbroker.c -- `waybill devbroker`: a development Kafka broker for
 * tests and the demo, built on librdkafka's in-memory mock cluster
 * (rdkafka_mock.h), which speaks the real Kafka protocol on loopback ports.
 *
 * How it works: the options are parsed and checked first (bad usage is a
 * message on stderr and exit code 2, before anything is started).  Then
 * SIGINT and SIGTERM are blocked, so that the threads librdkafka starts
 * inherit the blocked mask and the main thread alone takes them with
 * sigwait().  The mock cluster lives inside a producer handle created
 * with a minimal configuration (it never produces); --brokers mock brokers
 * are started and each --topic (NAME:PARTITIONS), and each name of
 * --topics a,b,c (with --partitions N, default 1), is created with its
 * partition count and replication factor 1.  Topics not declared are created by the mock on
 * first use (metadata request or produce) with its default partition
 * count.  The bootstrap address ("127.0.0.1:PORT,...") is printed on
 * stdout as one line and, with --bootstrap-file, written to PATH.tmp.PID
 * and renamed onto PATH, so a reader sees either no file or the whole
 * line.  On SIGINT/SIGTERM the cluster and the handle are destroyed, the
 * bootstrap file is removed (its address is dead) and the exit code is 0.
 *
 * States: parsing -> running (cluster created, address published) ->
 * stopping (signal taken by cmd_devbroker's sigwait) -> exited.
 *
 * Ownership: the topic table, its names and the temporary file name are
 * mem_* allocations freed before return; --bootstrap-file's path is
 * borrowed from argv; the rd_kafka_t handle and the mock cluster are librdkafka's and
 * are destroyed with its functions.
 *
 * Failures: bad usage exit 2; a cluster, topic or bootstrap file that
 * cannot be created exit 1 with the reason on stderr.
 *
 * Exports: cmd_devbroker.
 */
#include "cli/cmd.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BROKERS    32
#define MAX_PARTITIONS 10000
#define MAX_TOPIC_LEN  249 /* Kafka's limit on a topic name */
#define MAX_LISTS      64  /* --topics options */

typedef struct DevTopic {
	char *name; /* owned: mem_strndup of the topic's name */
	int partitions;
} DevTopic;

typedef struct DevOpts {
	int brokers;
	DevTopic *topics;
	int ntopics;
	const char *bootstrap_file;
} DevOpts;

static void
usage(FILE *f)
{
	fputs("usage: waybill devbroker [--brokers N] [--topics NAME,... [--partitions N]]\n"
	      "                         [--topic NAME:PARTITIONS]... [--bootstrap-file PATH]\n"
	      "\n"
	      "Runs an in-memory Kafka cluster (librdkafka's mock cluster) on loopback ports\n"
	      "until SIGINT/SIGTERM, for tests and demos. Nothing is kept on disk.\n"
	      "\n"
	      "  --brokers N             number of brokers, 1 to 32 (default 1)\n"
	      "  --topics NAME,...       create these topics (repeatable), each with\n"
	      "                          --partitions partitions\n"
	      "  --partitions N          partitions of the --topics topics, 1 to 10000 (default "
	      "1)\n"
	      "  --topic NAME:PARTITIONS create a topic (repeatable); other topics are created\n"
	      "                          on first use with the mock's default partition count\n"
	      "  --bootstrap-file PATH   also write the bootstrap address to PATH (atomically;\n"
	      "                          removed again on exit)\n"
	      "\n"
	      "The bootstrap address (127.0.0.1:PORT,...) is printed on stdout as one line.\n",
	      f);
}

/* A whole number in [1, max]: 0, or -1 for anything else. */
static int
count_arg(const char *s, long max, int *out)
{
	char *end;
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static int
topic_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* Adds topic spec[0..n) with parts partitions to o->topics; opt and what
 * name the option and its value in messages. */
static int
add_named(DevOpts *o, const char *opt, const char *what, const char *spec, size_t n, int parts,
          Err *e)
{
	if (n == 0)
		return err_set(e, ERR_INVALID, "%s '%s': the topic name is empty", opt, what);
	if (n > MAX_TOPIC_LEN)
		return err_set(e, ERR_INVALID,
		               "%s '%.40s...': the topic name is longer than %d characters", opt,
		               what, MAX_TOPIC_LEN);
	for (size_t i = 0; i < n; i++)
		if (!topic_char_ok(spec[i]))
			return err_set(e, ERR_INVALID,
			               "%s '%s': character %zu of the topic name '%.*s' is not "
			               "allowed (use letters, digits, '.', '_', '-')",
			               opt, what, i + 1, (int)n, spec);
	if ((n == 1 && spec[0] == '.') || (n == 2 && spec[0] == '.' && spec[1] == '.'))
		return err_set(e, ERR_INVALID, "%s '%s': '.' and '..' are not topic names", opt,
		               what);
	for (int i = 0; i < o->ntopics; i++)
		if (strlen(o->topics[i].name) == n && memcmp(o->topics[i].name, spec, n) == 0)
			return err_set(e, ERR_INVALID, "%s '%s': topic '%s' is given twice", opt,
			               what, o->topics[i].name);
	DevTopic *t = mem_realloc(o->topics, (size_t)(o->ntopics + 1) * sizeof(*t));
	if (t == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	o->topics = t;
	char *name = mem_strndup(spec, n);
	if (name == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	o->topics[o->ntopics].name = name;
	o->topics[o->ntopics].partitions = parts;
	o->ntopics++;
	return 0;
}

/* Parses NAME:PARTITIONS into a new entry of o->topics. */
static int
add_topic(DevOpts *o, const char *spec, Err *e)
{
	const char *colon = strrchr(spec, ':');
	if (colon == NULL)
		return err_set(e, ERR_INVALID, "--topic '%s': expected NAME:PARTITIONS", spec);
	int parts = 0;
	if (colon > spec && count_arg(colon + 1, MAX_PARTITIONS, &parts) != 0)
		return err_set(
		        e, ERR_INVALID,
		        "--topic '%s': the partition count must be a whole number from 1 to %d",
		        spec, MAX_PARTITIONS);
	return add_named(o, "--topic", spec, spec, (size_t)(colon - spec), parts, e);
}

/* Adds each name of the comma-separated list with parts partitions. */
static int
add_topic_list(DevOpts *o, const char *list, int parts, Err *e)
{
	const char *p = list;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (add_named(o, "--topics", list, p, n, parts, e) != 0)
			return e->code;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static void
opts_free(DevOpts *o)
{
	for (int i = 0; i < o->ntopics; i++)
		mem_free(o->topics[i].name);
	mem_free(o->topics);
	o->topics = NULL;
	o->ntopics = 0;
}

static int
parse(int argc, char **argv, DevOpts *o, Err *e)
{
	const char *lists[MAX_LISTS];
	int nlists = 0, parts = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--brokers") == 0) {
			if (count_arg(val, MAX_BROKERS, &o->brokers) != 0)
				return err_set(e, ERR_INVALID,
				               "--brokers needs a whole number from 1 to %d",
				               MAX_BROKERS);
			i++;
		} else if (strcmp(a, "--topic") == 0) {
			if (val == NULL)
				return err_set(e, ERR_INVALID,
				               "--topic needs a value NAME:PARTITIONS");
			if (add_topic(o, val, e) != 0)
				return e->code;
			i++;
		} else if (strcmp(a, "--topics") == 0) {
			if (val == NULL || *val == '\0')
				return err_set(e, ERR_INVALID,
				               "--topics needs a value NAME,NAME,...");
			if (nlists == MAX_LISTS)
				return err_set(e, ERR_INVALID, "--topics given more than %d times",
				               MAX_LISTS);
			lists[nlists++] = val;
			i++;
		} else if (strcmp(a, "--partitions") == 0) {
			if (count_arg(val, MAX_PARTITIONS, &parts) != 0)
				return err_set(e, ERR_INVALID,
				               "--partitions needs a whole number from 1 to %d",
				               MAX_PARTITIONS);
			i++;
		} else if (strcmp(a, "--bootstrap-file") == 0) {
			if (val == NULL || *val == '\0')
				return err_set(e, ERR_INVALID, "--bootstrap-file needs a path");
			o->bootstrap_file = val;
			i++;
		} else {
			return err_set(e, ERR_INVALID, "unknown option '%s'", a);
		}
	}
	if (parts > 0 && nlists == 0)
		return err_set(e, ERR_INVALID,
		               "--partitions applies to the names of --topics; "
		               "give --topics too (or --topic NAME:PARTITIONS)");
	for (int i = 0; i < nlists; i++)
		if (add_topic_list(o, lists[i], parts > 0 ? parts : 1, e) != 0)
			return e->code;
	return 0;
}

/* Writes line to path through path.tmp.PID and rename(). */
static int
publish(const char *path, const char *line, Err *e)
{
	Buf tmp;
	buf_init(&tmp);
	buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	if (tmp.oom) {
		buf_free(&tmp);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	int fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err_set(e, ERR_IO, "--bootstrap-file: cannot create %s: %s", tmp.p,
		        strerror(errno));
		buf_free(&tmp);
		return e->code;
	}
	size_t len = strlen(line), off = 0;
	int rc = 0;
	while (off < len) {
		ssize_t w = write(fd, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = err_set(e, ERR_IO, "--bootstrap-file: write %s: %s", tmp.p,
			             strerror(errno));
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) != 0 && rc == 0)
		rc = err_set(e, ERR_IO, "--bootstrap-file: close %s: %s", tmp.p, strerror(errno));
	if (rc == 0 && rename(tmp.p, path) != 0)
		rc = err_set(e, ERR_IO, "--bootstrap-file: rename %s to %s: %s", tmp.p, path,
		             strerror(errno));
	if (rc != 0)
		unlink(tmp.p);
	buf_free(&tmp);
	return rc;
}

/* Starts the cluster, publishes its address and waits for a signal. */
static int
run(const DevOpts *o, const sigset_t *stop, Err *e)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	/* log_level 4 (warnings): the handle has no bootstrap.servers by design,
	 * and the notice saying so would only confuse */
	if (rd_kafka_conf_set(conf, "client.id", "waybill-devbroker", errstr, sizeof(errstr)) !=
	            RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		rd_kafka_conf_destroy(conf);
		return err_set(e, ERR_INTERNAL, "librdkafka configuration: %s", errstr);
	}
	/* rd_kafka_new takes conf on success only */
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		rd_kafka_conf_destroy(conf);
		return err_set(e, ERR_INTERNAL, "cannot create the librdkafka handle: %s", errstr);
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, o->brokers);
	if (mc == NULL) {
		rd_kafka_destroy(rk);
		return err_set(e, ERR_IO, "cannot create a mock cluster of %d broker(s)",
		               o->brokers);
	}
	int rc = 0;
	for (int i = 0; i < o->ntopics && rc == 0; i++) {
		rd_kafka_resp_err_t kerr = rd_kafka_mock_topic_create(mc, o->topics[i].name,
		                                                      o->topics[i].partitions, 1);
		if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR)
			rc = err_set(e, ERR_IO, "cannot create topic '%s' with %d partitions: %s",
			             o->topics[i].name, o->topics[i].partitions,
			             rd_kafka_err2str(kerr));
	}
	Buf line;
	buf_init(&line);
	if (rc == 0) {
		buf_printf(&line, "%s\n", rd_kafka_mock_cluster_bootstraps(mc));
		if (line.oom)
			rc = err_set(e, ERR_NOMEM, "out of memory");
	}
	if (rc == 0 && o->bootstrap_file)
		rc = publish(o->bootstrap_file, line.p, e);
	if (rc == 0) {
		fputs(line.p, stdout);
		fflush(stdout);
		int sig;
		while (sigwait(stop, &sig) != 0)
			;
		if (o->bootstrap_file)
			unlink(o->bootstrap_file);
	}
	buf_free(&line);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return rc;
}

int
cmd_devbroker(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
	DevOpts o = {.brokers = 1};
	Err e = {0};
	if (parse(argc, argv, &o, &e) != 0) {
		fprintf(stderr, "waybill devbroker: %s\n", err_msg(&e));
		opts_free(&o);
		return e.code == ERR_NOMEM ? 1 : 2;
	}
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0) {
		fprintf(stderr, "waybill devbroker: cannot block SIGINT/SIGTERM\n");
		opts_free(&o);
		return 1;
	}
	int rc = run(&o, &stop, &e);
	opts_free(&o);
	if (rc != 0) {
		fprintf(stderr, "waybill devbroker: %s\n", err_msg(&e));
		return 1;
	}
	return 0;
}
