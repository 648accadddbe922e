/*
 * cmd_serve.c -- `waybill serve`: parses the options and runs the server
 * in the foreground until SIGINT/SIGTERM.
 *
 * Sizes and counts are whole numbers > 0 (anything else, or a missing
 * value, is refused with exit code 2 naming the option): --ingest-memory
 * and --query-memory in MiB, --query-timeout in ms, --max-result-rows and
 * --max-groups as counts.
 *
 * Exports: cmd_serve, cmd_serve_parse (shared with demo).
 */
#include "cli/cmd.h"
#include "cli/cmd_serve.h"
#include "base/log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A whole number in [1, max]: 0, or -1 for anything else. */
static int
positive(const char *s, long long max, long long *out)
{
	char *end;
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v <= 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int
cmd_serve_parse(int argc, char **argv, ServerOpts *o, int *i, Err *e)
{
	const char *a = argv[*i];
	const char *val = *i + 1 < argc ? argv[*i + 1] : NULL;
	if (strcmp(a, "--data-dir") == 0 || strcmp(a, "--http") == 0 || strcmp(a, "--pg") == 0) {
		if (val == NULL)
			return err_set(e, ERR_INVALID, "%s needs a value", a);
		(*i)++;
		if (strcmp(a, "--data-dir") == 0) {
			o->data_dir = val;
			return 0;
		}
		if (strcmp(a, "--http") == 0)
			return server_parse_addr(val, &o->http_host, &o->http_port, e);
		return server_parse_addr(val, &o->pg_host, &o->pg_port, e);
	}
	if (strcmp(a, "--pg-users") == 0 || strcmp(a, "--pg-auth") == 0 || strcmp(a, "--pg-cert") == 0 ||
	    strcmp(a, "--pg-key") == 0) {
		if (val == NULL)
			return err_set(e, ERR_INVALID, "%s needs a value", a);
		(*i)++;
		if (strcmp(a, "--pg-users") == 0)
			o->pg_users = val;
		else if (strcmp(a, "--pg-auth") == 0)
			o->pg_auth = val;
		else if (strcmp(a, "--pg-cert") == 0)
			o->pg_cert = val;
		else
			o->pg_key = val;
		return 0;
	}
	if (strcmp(a, "--ingest-memory") == 0 || strcmp(a, "--query-memory") == 0) {
		long long mb;
		if (positive(val, (long long)(SIZE_MAX >> 21), &mb) != 0)
			return err_set(e, ERR_INVALID, "%s needs a size in MiB (a whole number > 0)", a);
		if (strcmp(a, "--ingest-memory") == 0)
			o->ingest_mem_limit = (size_t)mb << 20;
		else
			o->query_mem_limit = (size_t)mb << 20;
		(*i)++;
		return 0;
	}
	if (strcmp(a, "--query-timeout") == 0) {
		long long ms;
		if (positive(val, (long long)30 * 24 * 3600 * 1000, &ms) != 0)
			return err_set(e, ERR_INVALID, "--query-timeout needs milliseconds (a whole number > 0, "
				       "at most 30 days)");
		o->query_timeout_ms = ms;
		(*i)++;
		return 0;
	}
	if (strcmp(a, "--max-result-rows") == 0 || strcmp(a, "--max-groups") == 0) {
		long long n;
		if (positive(val, (long long)1 << 30, &n) != 0)
			return err_set(e, ERR_INVALID, "%s needs a count (a whole number from 1 to %lld)", a,
				       (long long)1 << 30);
		if (strcmp(a, "--max-result-rows") == 0)
			o->max_result_rows = (size_t)n;
		else
			o->max_groups = (size_t)n;
		(*i)++;
		return 0;
	}
	if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
		log_set_level(LOG_DEBUG);
		return 0;
	}
	return err_set(e, ERR_INVALID, "unknown option '%s'", a);
}

int
cmd_serve(int argc, char **argv)
{
	ServerOpts o;
	server_opts_init(&o);
	Err e = {0};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			puts("usage: waybill serve [--data-dir DIR] [--http HOST:PORT] [--pg HOST:PORT]\n"
			     "                     [--ingest-memory MiB] [--query-timeout MS]\n"
			     "                     [--query-memory MiB] [--max-result-rows N] [--max-groups N]\n"
			     "                     [--pg-users FILE] [--pg-auth METHOD] [--pg-cert PEM --pg-key PEM]\n"
			     "                     [--verbose]\n"
			     "defaults: --data-dir ./waybill-data --http 127.0.0.1:8099 --pg 127.0.0.1:5433\n"
			     "PostgreSQL wire: without --pg-users, trust (loopback clients only); with it,\n"
			     "          lines name:password and --pg-auth scram-sha-256 (or md5, password);\n"
			     "          --pg-cert/--pg-key enable TLS (SSLRequest answered 'S')\n"
			     "          --ingest-memory: a quarter of physical memory, for all uploads together\n"
			     "query ceilings (a query's options and SET statements can only lower them):\n"
			     "          --query-timeout 10000 --query-memory 1024 (per query)\n"
			     "          --max-result-rows 1000000 --max-groups 5000000 (per GROUP BY)");
			return 0;
		}
		if (cmd_serve_parse(argc, argv, &o, &i, &e) != 0) {
			fprintf(stderr, "waybill serve: %s\n", err_msg(&e));
			return 2;
		}
	}
	if (server_run(&o, &e) != 0) {
		fprintf(stderr, "waybill serve: %s\n", err_msg(&e));
		return 1;
	}
	return 0;
}
