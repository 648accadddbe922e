/*
 * pgwire.h -- the PostgreSQL wire-protocol server: psql, libpq, JDBC,
 * psycopg2 and BI tools connect to Waybill as to PostgreSQL 15.
 */
#ifndef WB_PGWIRE_H
#define WB_PGWIRE_H

#include "base/err.h"
#include "server/pgauth.h"
#include "table/catalog.h"

typedef struct PgwireOpts {
	const char *host;	/* listen address (default 127.0.0.1) */
	int port;		/* 0 = any free port (pgwire_port says which) */
	const char *users_file;	/* NULL: no users; trust on loopback only */
	const char *auth;	/* "trust", "password", "md5", "scram-sha-256";
				 * NULL: scram-sha-256 with users, else trust */
	const char *tls_cert;	/* PEM files; both or neither */
	const char *tls_key;
	int max_conns;		/* 0 = 1000 */
} PgwireOpts;

typedef struct PgwireServer PgwireServer;

/* Listens and serves each connection on a thread of its own. */
int pgwire_start(Catalog *cat, const PgwireOpts *o, PgwireServer **out, Err *e);
int pgwire_port(const PgwireServer *s);
/* Stops listening, cancels running statements, closes every connection
 * and waits for their threads; frees s. */
void pgwire_stop(PgwireServer *s);

/* Fuzzing and corpus replay: runs one session over data as the bytes a
 * client sent (startup packet first), trust authentication, against cat;
 * the server's answers are discarded.  Never fails: bad input ends the
 * session as it would end a connection. */
void pgwire_fuzz(Catalog *cat, const char *data, size_t len);

#endif
