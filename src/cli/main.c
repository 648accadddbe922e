/*
 * main.c -- the waybill binary: dispatches to subcommands.
 *
 * Exports: main.
 */
#include "cli/cmd.h"

#include <stdio.h>
#include <string.h>

static void
usage(FILE *f)
{
	fputs("usage: waybill COMMAND [options]\n"
	      "\n"
	      "commands:\n"
	      "  serve    run the server (--data-dir DIR --http HOST:PORT --pg HOST:PORT)\n"
	      "  demo     run a server with example tables loaded and print queries to try\n"
	      "  ingest   push a file into a table (FILE --table T [--format ndjson|csv|avro] [--server URL])\n"
	      "  sql      run a query against a server (SQL [--server URL])\n"
	      "  segment  inspect or verify a segment file (inspect|verify FILE)\n"
	      "  devbroker run an in-memory Kafka broker for tests and demos\n"
	      "           ([--topics a,b --partitions N] [--topic NAME:PARTITIONS]... [--bootstrap-file F])\n"
	      "  simulate stream simulated order life-cycle events from 20 services to Kafka or stdout\n"
	      "           (--brokers LIST | --bootstrap-file F | --stdout) [--rate R] [--fault SPEC]...\n"
	      "  bench: not available yet in this build\n"
	      "\n"
	      "Run 'waybill COMMAND --help' for a command's options.\n",
	      f);
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *c = argv[1];
	if (strcmp(c, "serve") == 0)
		return cmd_serve(argc - 2, argv + 2);
	if (strcmp(c, "demo") == 0)
		return cmd_demo(argc - 2, argv + 2);
	if (strcmp(c, "ingest") == 0)
		return cmd_ingest(argc - 2, argv + 2);
	if (strcmp(c, "sql") == 0)
		return cmd_sql(argc - 2, argv + 2);
	if (strcmp(c, "segment") == 0)
		return cmd_segment(argc - 2, argv + 2);
	if (strcmp(c, "devbroker") == 0)
		return cmd_devbroker(argc - 2, argv + 2);
	if (strcmp(c, "simulate") == 0)
		return cmd_simulate(argc - 2, argv + 2);
	if (strcmp(c, "bench") == 0) {
		fprintf(stderr, "waybill %s: not available yet in this build\n", c);
		return 2;
	}
	fprintf(stderr, "waybill: unknown command '%s'\n\n", c);
	usage(stderr);
	return 2;
}
