/*
 * cmd_serve.c -- `waybill serve`: parses the options and runs the server
 * in the foreground until SIGINT/SIGTERM.
 *
 * Exports: cmd_serve, cmd_serve_parse (shared with demo).
 */
#include "cli/cmd.h"
#include "cli/cmd_serve.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if (strcmp(a, "--ingest-memory") == 0) {
		char *end;
		long long mb = val ? strtoll(val, &end, 10) : -1;
		if (val == NULL || *end || mb <= 0)
			return err_set(e, ERR_INVALID, "--ingest-memory needs a size in MiB");
		o->ingest_mem_limit = (size_t)mb << 20;
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
			     "                     [--ingest-memory MiB] [--verbose]\n"
			     "defaults: --data-dir ./waybill-data --http 127.0.0.1:8099 --pg 127.0.0.1:5433\n"
			     "          --ingest-memory: a quarter of physical memory, for all uploads together");
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
