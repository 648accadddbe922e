/*
 * pgwire.c -- the PostgreSQL wire-protocol server (protocol 3.0): psql,
 * libpq, psycopg2, JDBC, pgbench and BI tools talk to Waybill as to a
 * PostgreSQL 15 server.
 *
 * Threads: one listener thread accepts (polling so it sees a stop), and
 * every connection gets a detached thread of its own that runs one
 * Session with blocking I/O to the end.  A statement runs on its
 * session's thread through query_exec (which fans out to the query
 * pool), so a slow query holds only its own connection.  The server
 * keeps the live sessions in a list under its mutex: CancelRequest finds
 * one there by (process id, secret key) and sets its cancel flag, which
 * the query engine checks every batch (QueryOpts.cancel); pgwire_stop
 * shuts every socket down, sets every cancel flag and waits for the
 * threads to leave.
 *
 * Startup: SSLRequest is answered 'S' and TLS (OpenSSL) when a
 * certificate is configured, else 'N'; GSSENCRequest 'N'; protocol 3.x
 * only (a newer minor version gets NegotiateProtocolVersion).
 * Authentication: trust when no users are configured, but then only for
 * loopback peers; with users (pgauth.c) cleartext, MD5 or SCRAM-SHA-256.
 * Then ParameterStatus for the usual parameters, BackendKeyData and
 * ReadyForQuery.  Startup must finish within 60 s.
 *
 * Statements: the simple protocol splits a message into statements
 * (pglex.c) and answers each in turn, stopping at the first error.  The
 * extended protocol keeps named and unnamed prepared statements and
 * portals; Bind splices the parameters into the text as checked SQL
 * literals (pgproto_param_literal); a portal runs once, at its first
 * Describe or Execute, and is then read in slices of the Execute row
 * limit (PortalSuspended between them).  After an error the messages up
 * to Sync are skipped, as PostgreSQL does.  The server itself answers
 * what the engine does not: SET/RESET/SHOW of session parameters (plus
 * Waybill's query options, e.g. SET skipUpsert = true), transaction
 * control (Waybill's SQL is read-only, so transactions only track the
 * status byte and the aborted state), DECLARE/FETCH/MOVE/CLOSE cursors
 * (what psycopg2's named cursors send), COPY (query) TO STDOUT in text
 * or CSV, DEALLOCATE and DISCARD.  Everything else goes to query_exec.
 * Errors carry the SQLSTATE of the shared error table (errcodes.def) and
 * the position, mapped back into the client's text.
 *
 * Limits: a message may be at most 64 MiB (PostgreSQL's is 1 GiB); its
 * body is read as it arrives, so a false length costs no memory.  Bad
 * lengths, unknown message types and protocol violations end the
 * connection with a FATAL error; the server goes on serving.
 *
 * Exports: pgwire_start, pgwire_port, pgwire_stop, pgwire_fuzz.
 */
#define _GNU_SOURCE	/* strcasestr */
#include "server/pgwire.h"
#include "server/pgauth.h"
#include "server/pglex.h"
#include "server/pgproto.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mem.h"
#include "expr/pgtype.h"
#include "query/query.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_MSG ((size_t)64 << 20)
#define MAX_STARTUP 10000
#define MAX_STMTS 4096
#define FLUSH_AT (256 * 1024)
#define STARTUP_TIMEOUT_S 60
#define SERVER_VERSION "15.0"

/* ---- connections ---------------------------------------------------------- */

typedef struct Conn {
	int fd;			/* -1 in fuzz mode */
	SSL *ssl;
	const char *mem;	/* fuzz mode: the client's bytes */
	size_t memlen, mempos;
	char in[16384];
	size_t ipos, ilen;
	Buf out;
	int broken;
} Conn;

static int
conn_flush(Conn *c)
{
	if (c->out.oom) {
		c->broken = 1;
		buf_reset(&c->out);
		c->out.oom = 0;
		return -1;
	}
	size_t off = 0;
	while (off < c->out.len && !c->broken) {
		ssize_t n;
		if (c->fd < 0)
			n = (ssize_t)(c->out.len - off);	/* fuzz: discard */
		else if (c->ssl)
			n = SSL_write(c->ssl, c->out.p + off, (int)(c->out.len - off > (1 << 30) ? 1 << 30 : c->out.len - off));
		else
			n = send(c->fd, c->out.p + off, c->out.len - off, MSG_NOSIGNAL);
		if (n <= 0) {
			if (n < 0 && errno == EINTR && !c->ssl)
				continue;
			c->broken = 1;
			break;
		}
		off += (size_t)n;
	}
	buf_reset(&c->out);
	return c->broken ? -1 : 0;
}

/* Reads more input; flushes pending output first (the client may be
 * waiting for it).  Returns bytes read, 0 at end, -1 on error. */
static ssize_t
conn_fill(Conn *c)
{
	if (c->out.len && conn_flush(c) != 0)
		return -1;
	if (c->broken)
		return -1;
	c->ipos = c->ilen = 0;
	ssize_t n;
	if (c->fd < 0) {
		size_t k = c->memlen - c->mempos;
		if (k > sizeof(c->in))
			k = sizeof(c->in);
		memcpy(c->in, c->mem + c->mempos, k);
		c->mempos += k;
		n = (ssize_t)k;
	} else if (c->ssl) {
		n = SSL_read(c->ssl, c->in, sizeof(c->in));
		if (n <= 0)
			n = SSL_get_error(c->ssl, (int)n) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	} else {
		do
			n = recv(c->fd, c->in, sizeof(c->in), 0);
		while (n < 0 && errno == EINTR);
	}
	if (n < 0)
		c->broken = 1;
	else
		c->ilen = (size_t)n;
	return n;
}

/* Exactly n bytes into dst (NULL: into b, growing it as they arrive). */
static int
conn_read(Conn *c, void *dst, Buf *b, size_t n)
{
	while (n > 0) {
		if (c->ipos == c->ilen && conn_fill(c) <= 0)
			return -1;
		size_t k = c->ilen - c->ipos;
		if (k > n)
			k = n;
		if (dst) {
			memcpy(dst, c->in + c->ipos, k);
			dst = (char *)dst + k;
		} else {
			buf_append(b, c->in + c->ipos, k);
			if (b->oom)
				return -1;
		}
		c->ipos += k;
		n -= k;
	}
	return 0;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- the server --------------------------------------------------------------- */

typedef struct Session Session;

struct PgwireServer {
	Catalog *cat;
	int lfd;
	int port;
	char host[64];
	PgAuthMethod auth;
	PgUsers *users;
	SSL_CTX *tls;
	int max_conns;
	pthread_t listener;
	_Atomic int stopping;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	Session *sessions;	/* live, under mu */
	int nconns;		/* threads running, under mu */
	int32_t next_pid;
};

/* ---- sessions ----------------------------------------------------------------- */

typedef struct Setting {
	char *name;		/* as first set (SHOW prints it) */
	char *value;
} Setting;

/* A statement's outcome, ready to send (all at once in the simple
 * protocol, in slices from a portal). */
typedef struct Outcome {
	ResultSet *rs;		/* rows, or NULL (a command without rows) */
	int owned;		/* rs is ours to free (a FETCH borrows its cursor's) */
	size_t from, to;	/* rows of rs to send */
	size_t first;		/* from when the statement ran (portal tags) */
	char tag[64];		/* CommandComplete; a trailing " %zu" gets the count */
	int counted;		/* add the number of rows sent to tag */
	int copy;		/* 0 none, 1 text, 2 csv */
	int header;
	char delim;
	char null_str[32];
	int binary;		/* cursor declared BINARY: rows in binary */
} Outcome;

typedef struct Stmt {
	struct Stmt *next;
	char *name;
	char *sql;
	size_t len;
	int nparams;
	int32_t *ptypes;	/* 0 = unspecified, until describe_stmt infers it */
	int described;
} Stmt;

typedef struct Portal {
	struct Portal *next;
	char *name;
	char *sql;		/* parameters spliced in */
	size_t len;
	/* offsets map: piece i of sql starts at map_new[i] and corresponds
	 * to the client's text at map_old[i] (for error positions) */
	int nmap;
	size_t *map_new, *map_old;
	int nrfmt;
	int16_t *rfmt;
	int ran;
	int is_cursor;		/* DECLARE'd, lives until CLOSE / end of transaction */
	int hold;
	Outcome out;
} Portal;

struct Session {
	Session *next;		/* in the server's list */
	PgwireServer *srv;	/* NULL in fuzz mode */
	Catalog *cat;
	Conn c;
	int32_t pid, secret;
	_Atomic int cancel;
	int loopback;
	char user[64];
	char database[64];
	char txn;		/* 'I', 'T', 'E' */
	int skip_to_sync;	/* extended protocol: an error happened */
	int ready;		/* startup done: SET changes are reported */
	char report[64];	/* params[i] changed: report it (ready()) */
	int describing;		/* Describe of a statement: plan only */
	WbType *describe_types;	/* ... learning its parameters' types */
	int describe_n;
	int nsettings;
	Setting *settings;
	Stmt *stmts;
	Portal *portals;
	Buf msg;		/* the message being handled */
};

/* Parameters a client may SET or SHOW, their defaults, whether a change
 * is reported with ParameterStatus, and whether they are read-only. */
typedef struct ParamDef {
	const char *name;
	const char *dflt;
	int report;
	int readonly;
} ParamDef;

static const ParamDef params[] = {
	{"application_name", "", 1, 0},
	{"client_encoding", "UTF8", 1, 0},
	{"DateStyle", "ISO, MDY", 1, 0},
	{"TimeZone", "UTC", 1, 0},
	{"IntervalStyle", "postgres", 1, 0},
	{"integer_datetimes", "on", 1, 1},
	{"is_superuser", "on", 1, 1},
	{"server_encoding", "UTF8", 1, 1},
	{"server_version", SERVER_VERSION, 1, 1},
	{"server_version_num", "150000", 0, 1},
	{"session_authorization", "waybill", 1, 0},
	{"standard_conforming_strings", "on", 1, 0},
	{"default_transaction_read_only", "off", 1, 0},
	{"in_hot_standby", "off", 1, 1},
	{"extra_float_digits", "1", 0, 0},
	{"search_path", "\"$user\", public", 0, 0},
	{"statement_timeout", "0", 0, 0},
	{"lock_timeout", "0", 0, 0},
	{"idle_in_transaction_session_timeout", "0", 0, 0},
	{"idle_session_timeout", "0", 0, 0},
	{"bytea_output", "hex", 0, 0},
	{"client_min_messages", "notice", 0, 0},
	{"lc_messages", "C", 0, 0},
	{"lc_monetary", "C", 0, 0},
	{"lc_numeric", "C", 0, 0},
	{"lc_time", "C", 0, 0},
	{"lc_collate", "C", 0, 1},
	{"lc_ctype", "C", 0, 1},
	{"transaction_isolation", "read committed", 0, 0},
	{"default_transaction_isolation", "read committed", 0, 0},
	{"transaction_read_only", "off", 0, 0},
	{"default_transaction_deferrable", "off", 0, 0},
	{"max_identifier_length", "63", 0, 1},
	{"max_index_keys", "32", 0, 1},
	{"block_size", "8192", 0, 1},
	{"escape_string_warning", "on", 0, 0},
	{"jit", "off", 0, 0},
	{"row_security", "on", 0, 0},
	{"synchronous_commit", "on", 0, 0},
	{"timezone_abbreviations", "Default", 0, 0},
	{"work_mem", "4MB", 0, 0},
	{"xmloption", "content", 0, 0},
	{"password_encryption", "scram-sha-256", 0, 0},
	{"max_connections", "1000", 0, 1},
	{"geqo", "on", 0, 0},
	{"enable_seqscan", "on", 0, 0},
	{"ssl", "off", 0, 1},
	/* Waybill's query options (query_parse_options) */
	{"timeoutMs", "", 0, 0},
	{"maxRows", "", 0, 0},
	{"maxRowsInResult", "", 0, 0},
	{"maxMemoryBytes", "", 0, 0},
	{"numGroupsLimit", "", 0, 0},
	{"maxGroups", "", 0, 0},
	{"pinotDefaultLimit", "", 0, 0},
	{"useMultiStageEngine", "", 0, 0},
	{"enableNullHandling", "", 0, 0},
	{"skipUpsert", "", 0, 0},
};
#define NPARAMS ((int)(sizeof(params) / sizeof(params[0])))
_Static_assert(sizeof(params) / sizeof(params[0]) <= sizeof(((Session *)0)->report), "Session.report too small");
#define FIRST_WB_OPTION 47	/* params[FIRST_WB_OPTION..] are query options */

static const ParamDef *
param_def(const char *name)
{
	for (int i = 0; i < NPARAMS; i++)
		if (strcasecmp(params[i].name, name) == 0)
			return &params[i];
	return NULL;
}

static Setting *
setting_find(Session *s, const char *name)
{
	for (int i = 0; i < s->nsettings; i++)
		if (strcasecmp(s->settings[i].name, name) == 0)
			return &s->settings[i];
	return NULL;
}

static const char *
setting_get(Session *s, const char *name)
{
	Setting *st = setting_find(s, name);
	if (st)
		return st->value;
	const ParamDef *d = param_def(name);
	if (d == NULL)
		return NULL;
	if (strcasecmp(name, "session_authorization") == 0)
		return s->user;
	if (strcasecmp(name, "ssl") == 0)
		return s->c.ssl ? "on" : "off";
	return d->dflt;
}

static int
setting_put(Session *s, const char *name, const char *value)
{
	Setting *st = setting_find(s, name);
	char *v = mem_strdup(value);
	if (v == NULL)
		return ERR_NOMEM;
	if (st) {
		mem_free(st->value);
		st->value = v;
		return 0;
	}
	Setting *nv = mem_realloc(s->settings, sizeof(Setting) * (size_t)(s->nsettings + 1));
	char *n = mem_strdup(name);
	if (nv == NULL || n == NULL) {
		if (nv)
			s->settings = nv;
		mem_free(v);
		mem_free(n);
		return ERR_NOMEM;
	}
	s->settings = nv;
	s->settings[s->nsettings].name = n;
	s->settings[s->nsettings].value = v;
	s->nsettings++;
	return 0;
}

static void
setting_drop(Session *s, const char *name)
{
	Setting *st = setting_find(s, name);
	if (st == NULL)
		return;
	mem_free(st->name);
	mem_free(st->value);
	*st = s->settings[--s->nsettings];
}

/* statement_timeout's value in ms ("5000", "5s", "1min"); -1 if bad. */
static int64_t
timeout_ms(const char *v)
{
	char *end;
	double x = strtod(v, &end);
	if (end == v || x < 0)
		return -1;
	while (*end == ' ')
		end++;
	double mul = 1;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "min") == 0)
		mul = 60000;
	else if (strcmp(end, "h") == 0)
		mul = 3600000;
	else if (strcmp(end, "d") == 0)
		mul = 86400000;
	else
		return -1;
	return (int64_t)(x * mul);
}

/* Checks and applies SET name = value (value NULL: RESET).  Reported
 * parameters are announced with ParameterStatus. */
static int
set_param(Session *s, const char *name, const char *value, Err *e)
{
	const ParamDef *d = param_def(name);
	if (d == NULL && strchr(name, '.') == NULL)
		return err_set(e, ERR_NOT_FOUND, "unrecognized configuration parameter \"%s\"", name);
	if (d && d->readonly)
		return err_set(e, ERR_INVALID, "parameter \"%s\" cannot be changed", d->name);
	if (value && d) {
		if (strcasecmp(d->name, "client_encoding") == 0) {
			if (strcasecmp(value, "UTF8") != 0 && strcasecmp(value, "UTF-8") != 0 &&
			    strcasecmp(value, "UNICODE") != 0 && strcasecmp(value, "SQL_ASCII") != 0)
				return err_set(e, ERR_INVALID,
					       "invalid value for parameter \"client_encoding\": \"%s\" (Waybill sends UTF8 only)",
					       value);
			value = strcasecmp(value, "SQL_ASCII") == 0 ? "SQL_ASCII" : "UTF8";
		} else if (strcasecmp(d->name, "DateStyle") == 0) {
			if (strcasestr(value, "iso") == NULL && strcasestr(value, "mdy") == NULL &&
			    strcasestr(value, "ymd") == NULL)
				return err_set(e, ERR_UNSUPPORTED,
					       "invalid value for parameter \"DateStyle\": \"%s\" (Waybill writes ISO dates only)",
					       value);
			value = "ISO, MDY";
		} else if (strcasecmp(d->name, "extra_float_digits") == 0) {
			char *end;
			long x = strtol(value, &end, 10);
			if (*end || x < -15 || x > 3)
				return err_set(e, ERR_INVALID,
					       "invalid value for parameter \"extra_float_digits\": \"%s\" (-15 .. 3)", value);
		} else if (strcasecmp(d->name, "statement_timeout") == 0) {
			if (timeout_ms(value) < 0)
				return err_set(e, ERR_INVALID, "invalid value for parameter \"statement_timeout\": \"%s\"",
					       value);
		} else if (strcasecmp(d->name, "standard_conforming_strings") == 0) {
			if (strcasecmp(value, "on") != 0 && strcasecmp(value, "true") != 0)
				return err_set(e, ERR_UNSUPPORTED, "standard_conforming_strings is always on in Waybill");
			value = "on";
		} else if (d >= &params[FIRST_WB_OPTION]) {
			QueryOpts o;
			memset(&o, 0, sizeof(o));
			char kv[512];
			snprintf(kv, sizeof(kv), "%s=%s", d->name, value);
			int rc = query_parse_options(kv, &o, e);
			if (rc)
				return rc;
		}
	}
	const char *shown = d ? d->name : name;
	if (value == NULL)
		setting_drop(s, shown);
	else if (setting_put(s, shown, value) != 0)
		return err_set(e, ERR_NOMEM, "out of memory");
	if (d && d->report && s->ready)
		s->report[d - params] = 1;	/* sent before ReadyForQuery */
	return 0;
}

/* ReadyForQuery, after the ParameterStatus of every reported setting
 * that changed (PostgreSQL reports them once the command completed). */
static void
ready(Session *s)
{
	for (int i = 0; i < NPARAMS; i++) {
		if (s->report[i]) {
			s->report[i] = 0;
			pgproto_param_status(&s->c.out, params[i].name, setting_get(s, params[i].name));
		}
	}
	pgproto_ready(&s->c.out, s->txn);
}

static const char *
setting_cb(void *ctx, const char *name)
{
	return setting_get(ctx, name);
}

/* The QueryOpts of the session's next statement. */
static void
session_opts(Session *s, QueryOpts *o)
{
	memset(o, 0, sizeof(*o));
	Buf kv;
	buf_init(&kv);
	for (int i = FIRST_WB_OPTION; i < NPARAMS; i++) {
		const Setting *st = setting_find(s, params[i].name);
		if (st && st->value[0])
			buf_printf(&kv, "%s=%s;", params[i].name, st->value);
	}
	if (kv.len) {
		Err e = {0};
		(void)query_parse_options(kv.p, o, &e);	/* checked when SET */
	}
	buf_free(&kv);
	int64_t t = timeout_ms(setting_get(s, "statement_timeout"));
	if (t > 0 && (o->timeout_ms == 0 || t < o->timeout_ms))
		o->timeout_ms = t;
	o->cancel = &s->cancel;
	o->user = s->user;
	o->database = s->database;
	o->setting = setting_cb;
	o->setting_ctx = s;
	o->pg_names = 1;
	o->describe_only = s->describing;
	o->param_types = s->describe_types;
	o->nparams = s->describe_n;
}

/* ---- sending ---------------------------------------------------------------- */

static void
send_error(Session *s, int code, const Err *e, int position)
{
	char msg[ERR_MSG_MAX];
	snprintf(msg, sizeof(msg), "%s", e && e->msg[0] ? e->msg : err_text(code));
	/* the position travels in its own field */
	/* (possibly twice: a function's error inside a statement's) */
	for (int k = 0; k < 2 && e && e->pos > 0; k++) {
		char *at = NULL, *p = msg;
		while ((p = strstr(p, " at position ")) != NULL)
			at = p++;
		if (at && at[13] && strspn(at + 13, "0123456789") == strlen(at + 13))
			*at = '\0';
	}
	if (code == ERR_TIMEOUT) {
		/* PostgreSQL's words first: clients match on them */
		char t[ERR_MSG_MAX];
		snprintf(t, sizeof(t), "canceling statement due to statement timeout (%s)", msg);
		snprintf(msg, sizeof(msg), "%s", t);
	}
	pgproto_error(&s->c.out, 'E', "ERROR", err_sqlstate(code), msg, NULL, NULL, position);
}

static void
send_fatal(Session *s, int code, const char *msg)
{
	pgproto_error(&s->c.out, 'E', "FATAL", err_sqlstate(code), msg, NULL, NULL, 0);
	conn_flush(&s->c);
}

static void
send_notice(Session *s, const char *severity, const char *sqlstate, const char *msg)
{
	pgproto_error(&s->c.out, 'N', severity, sqlstate, msg, NULL, NULL, 0);
}

static void
row_description(Session *s, const ResultSet *rs, const int16_t *fmts, int nfmts, int binary_all)
{
	Buf *b = &s->c.out;
	size_t m = pgproto_begin(b, 'T');
	pgproto_put_i16(b, rs->ncols);
	for (int i = 0; i < rs->ncols; i++) {
		const ResultCol *c = &rs->cols[i];
		int32_t oid = pgtype_oid(c->untyped ? TYPE_NULL : c->type, c->mv);
		const PgType *pt = pgtype_find(oid);
		pgproto_put_str(b, c->name ? c->name : "?column?");
		pgproto_put_i32(b, 0);
		pgproto_put_i16(b, 0);
		pgproto_put_i32(b, oid);
		pgproto_put_i16(b, pt ? pt->len : -1);
		pgproto_put_i32(b, -1);
		int f = binary_all ? 1 : nfmts == 1 ? fmts[0] : nfmts > i ? fmts[i] : 0;
		pgproto_put_i16(b, f);
	}
	pgproto_end(b, m);
}

/* Per-column formats of a portal (0 text, 1 binary) for ncols columns,
 * in out (caller's array of ncols). */
static void
formats_of(const int16_t *fmts, int nfmts, int binary_all, int ncols, int16_t *out)
{
	for (int i = 0; i < ncols; i++)
		out[i] = binary_all ? 1 : nfmts == 1 ? fmts[0] : nfmts > i ? fmts[i] : 0;
}

static void
copy_field(Buf *b, const Value *v, const Outcome *o, Buf *tmp)
{
	if (v->null) {
		if (o->copy == 2)
			buf_puts(b, o->null_str);
		else
			buf_puts(b, o->null_str[0] ? o->null_str : "\\N");
		return;
	}
	buf_reset(tmp);
	pgproto_text_value(v, tmp);
	const char *p = tmp->p ? tmp->p : "";
	size_t n = tmp->len;
	if (o->copy == 2) {
		int quote = n == 0 && o->null_str[0] == '\0';
		for (size_t i = 0; i < n && !quote; i++)
			if (p[i] == o->delim || p[i] == '"' || p[i] == '\n' || p[i] == '\r')
				quote = 1;
		if (!quote && strlen(o->null_str) == n && memcmp(p, o->null_str, n) == 0)
			quote = 1;
		if (!quote) {
			buf_append(b, p, n);
			return;
		}
		buf_putc(b, '"');
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '"')
				buf_putc(b, '"');
			buf_putc(b, p[i]);
		}
		buf_putc(b, '"');
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (ch == '\\')
			buf_puts(b, "\\\\");
		else if (ch == '\n')
			buf_puts(b, "\\n");
		else if (ch == '\r')
			buf_puts(b, "\\r");
		else if (ch == '\t')
			buf_puts(b, "\\t");
		else if (ch == o->delim) {
			buf_putc(b, '\\');
			buf_putc(b, ch);
		} else
			buf_putc(b, ch);
	}
}

/* COPY ... TO STDOUT: CopyOutResponse, one CopyData per row, CopyDone. */
static size_t
send_copy(Session *s, const Outcome *o)
{
	Buf *b = &s->c.out;
	const ResultSet *rs = o->rs;
	size_t m = pgproto_begin(b, 'H');
	buf_putc(b, 0);
	pgproto_put_i16(b, rs->ncols);
	for (int i = 0; i < rs->ncols; i++)
		pgproto_put_i16(b, 0);
	pgproto_end(b, m);
	Buf tmp;
	buf_init(&tmp);
	if (o->header) {
		m = pgproto_begin(b, 'd');
		for (int i = 0; i < rs->ncols; i++) {
			if (i)
				buf_putc(b, o->delim);
			Value v = value_str(TYPE_STRING, rs->cols[i].name, (uint32_t)strlen(rs->cols[i].name));
			copy_field(b, &v, o, &tmp);
		}
		buf_putc(b, '\n');
		pgproto_end(b, m);
	}
	size_t n = 0;
	for (size_t r = o->from; r < o->to && !s->c.broken; r++, n++) {
		const Value *row = rs->rows + r * (size_t)rs->ncols;
		m = pgproto_begin(b, 'd');
		for (int i = 0; i < rs->ncols; i++) {
			if (i)
				buf_putc(b, o->delim);
			copy_field(b, &row[i], o, &tmp);
		}
		buf_putc(b, '\n');
		pgproto_end(b, m);
		if (b->len > FLUSH_AT)
			conn_flush(&s->c);
	}
	buf_free(&tmp);
	pgproto_simple(b, 'c');
	return n;
}

/* Rows [from, min(to, from + max)) as DataRows; returns how many. */
static size_t
send_rows(Session *s, const ResultSet *rs, size_t from, size_t to, size_t max, const int16_t *fmts)
{
	size_t n = 0;
	for (size_t r = from; r < to && (max == 0 || n < max) && !s->c.broken; r++, n++) {
		pgproto_data_row(&s->c.out, rs->rows + r * (size_t)rs->ncols, rs->ncols, fmts);
		if (s->c.out.len > FLUSH_AT)
			conn_flush(&s->c);
	}
	return n;
}

static void
complete(Session *s, const Outcome *o, size_t n)
{
	char tag[96];
	if (o->counted)
		snprintf(tag, sizeof(tag), "%s %zu", o->tag, n);
	else
		snprintf(tag, sizeof(tag), "%s", o->tag);
	pgproto_complete(&s->c.out, tag);
}

static void
outcome_free(Outcome *o)
{
	if (o->owned)
		result_free(o->rs);
	memset(o, 0, sizeof(*o));
}

/* ---- result sets built here (SHOW) -------------------------------------------- */

static ResultSet *
text_result(int ncols, const char *const *names)
{
	ResultSet *rs = mem_calloc(1, sizeof(ResultSet));
	if (rs == NULL)
		return NULL;
	arena_init(&rs->arena, 4096);
	rs->ncols = ncols;
	rs->cols = arena_alloc(&rs->arena, sizeof(ResultCol) * (size_t)ncols);
	if (rs->cols == NULL) {
		result_free(rs);
		return NULL;
	}
	for (int i = 0; i < ncols; i++) {
		memset(&rs->cols[i], 0, sizeof(ResultCol));
		rs->cols[i].name = arena_strdup(&rs->arena, names[i]);
		rs->cols[i].type = TYPE_STRING;
	}
	return rs;
}

static int
text_result_add(ResultSet *rs, const char *const *vals, size_t cap)
{
	if (rs->nrows == cap)
		return -1;
	for (int i = 0; i < rs->ncols; i++) {
		const char *v = arena_strdup(&rs->arena, vals[i] ? vals[i] : "");
		if (v == NULL)
			return -1;
		rs->rows[rs->nrows * (size_t)rs->ncols + (size_t)i] = value_str(TYPE_STRING, v, (uint32_t)strlen(v));
	}
	rs->nrows++;
	return 0;
}

/* ---- statements the server answers ------------------------------------------- */

typedef enum StmtKind {
	K_QUERY, K_SET, K_RESET, K_SHOW, K_BEGIN, K_COMMIT, K_ROLLBACK, K_SAVEPOINT, K_RELEASE,
	K_DECLARE, K_FETCH, K_MOVE, K_CLOSE, K_COPY, K_DEALLOCATE, K_DISCARD
} StmtKind;

static StmtKind
classify(const char *sql, size_t len)
{
	PgLex l;
	PgTok t, t2;
	pglex_init(&l, sql, len);
	if (pglex_next(&l, &t) != PGT_IDENT)
		return K_QUERY;
	pglex_next(&l, &t2);
	static const struct {
		const char *w;
		StmtKind k;
	} words[] = {{"set", K_SET}, {"reset", K_RESET}, {"show", K_SHOW}, {"begin", K_BEGIN},
		     {"start", K_BEGIN}, {"commit", K_COMMIT}, {"end", K_COMMIT}, {"rollback", K_ROLLBACK},
		     {"abort", K_ROLLBACK}, {"savepoint", K_SAVEPOINT}, {"release", K_RELEASE},
		     {"declare", K_DECLARE}, {"fetch", K_FETCH}, {"move", K_MOVE}, {"close", K_CLOSE},
		     {"copy", K_COPY}, {"deallocate", K_DEALLOCATE}, {"discard", K_DISCARD}};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (pglex_is(&l, &t, words[i].w))
			return words[i].k;
	return K_QUERY;
}

/* A name token's text into name; a quoted name must not be empty
 * (PostgreSQL: zero-length delimited identifier). */
static int
name_text(const PgLex *l, const PgTok *t, Buf *name, Err *e)
{
	size_t before = name->len;
	pglex_text(l, t, name);
	if (name->len == before || name->p == NULL)
		return err_set(e, ERR_SQL_PARSE, "zero-length delimited identifier at or near \"\"\"\"");
	return 0;
}

static int
expect_end(PgLex *l, const char *what, Err *e)
{
	PgTok t;
	if (pglex_next(l, &t) != PGT_END)
		return err_set(e, ERR_SQL_PARSE, "syntax error at or near \"%.*s\" in %s", (int)(t.len > 40 ? 40 : t.len),
			       l->s + t.start, what);
	return 0;
}

static int
do_set(Session *s, const char *sql, size_t len, Outcome *o, Err *e)
{
	PgLex l;
	PgTok t;
	pglex_init(&l, sql, len);
	pglex_next(&l, &t);	/* SET */
	pglex_next(&l, &t);
	if (pglex_is(&l, &t, "session") || pglex_is(&l, &t, "local")) {
		PgTok t2;
		PgLex save = l;
		pglex_next(&l, &t2);
		if (pglex_is(&l, &t, "session") &&
		    (pglex_is(&l, &t2, "characteristics") || pglex_is(&l, &t2, "authorization"))) {
			snprintf(o->tag, sizeof(o->tag), "SET");
			return 0;	/* isolation levels and roles: nothing to do */
		}
		l = save;
		pglex_next(&l, &t);
	}
	if (pglex_is(&l, &t, "transaction")) {
		snprintf(o->tag, sizeof(o->tag), "SET");
		return 0;
	}
	Buf name, val;
	buf_init(&name);
	buf_init(&val);
	int rc = 0;
	if (pglex_is(&l, &t, "time")) {
		pglex_next(&l, &t);
		if (!pglex_is(&l, &t, "zone")) {
			rc = err_set(e, ERR_SQL_PARSE, "syntax error in SET TIME ZONE");
			goto out;
		}
		buf_puts(&name, "TimeZone");
	} else if (pglex_is(&l, &t, "names")) {
		buf_puts(&name, "client_encoding");
	} else if (t.kind == PGT_IDENT || t.kind == PGT_QIDENT) {
		/* keep the client's spelling: SHOW prints it */
		if (t.kind == PGT_IDENT)
			buf_append(&name, sql + t.start, t.len);
		else if ((rc = name_text(&l, &t, &name, e)) != 0)
			goto out;
		PgTok d;
		PgLex save = l;
		while (pglex_next(&l, &d) == PGT_OTHER && sql[d.start] == '.' && pglex_next(&l, &d) == PGT_IDENT) {
			buf_putc(&name, '.');
			buf_append(&name, sql + d.start, d.len);
			save = l;
		}
		l = save;
		pglex_next(&l, &t);
		if (!(pglex_is(&l, &t, "to") || (t.kind == PGT_OTHER && sql[t.start] == '='))) {
			rc = err_set(e, ERR_SQL_PARSE, "syntax error in SET: expected TO or = after \"%s\"", name.p);
			goto out;
		}
	} else {
		rc = err_set(e, ERR_SQL_PARSE, "syntax error in SET");
		goto out;
	}
	/* values: a comma-separated list of words, strings and numbers */
	int nvals = 0, is_default = 0;
	for (;;) {
		if (pglex_next(&l, &t) == PGT_END)
			break;
		if (t.kind == PGT_OTHER && sql[t.start] == ',') {
			buf_puts(&val, ", ");
			continue;
		}
		if (t.kind == PGT_OTHER && sql[t.start] == '-') {
			buf_putc(&val, '-');
			continue;
		}
		if (pglex_is(&l, &t, "default") || (nvals == 0 && pglex_is(&l, &t, "local") &&
						    strcasecmp(name.p, "TimeZone") == 0)) {
			is_default = 1;
			nvals++;
			continue;
		}
		if (t.kind == PGT_OTHER || t.kind == PGT_SEMI || t.kind == PGT_PARAM) {
			rc = err_set(e, ERR_SQL_PARSE, "syntax error at or near \"%.*s\" in SET", (int)t.len,
				     sql + t.start);
			goto out;
		}
		if (t.kind == PGT_IDENT && strcasecmp(name.p, "search_path") != 0)
			buf_append(&val, sql + t.start, t.len);
		else
			pglex_text(&l, &t, &val);
		nvals++;
	}
	if (nvals == 0) {
		rc = err_set(e, ERR_SQL_PARSE, "syntax error in SET: no value for \"%s\"", name.p);
		goto out;
	}
	rc = set_param(s, name.p, is_default ? NULL : val.p ? val.p : "", e);
	if (rc == 0)
		snprintf(o->tag, sizeof(o->tag), "SET");
out:
	buf_free(&name);
	buf_free(&val);
	return rc;
}

static int
do_reset(Session *s, const char *sql, size_t len, Outcome *o, Err *e)
{
	PgLex l;
	PgTok t;
	pglex_init(&l, sql, len);
	pglex_next(&l, &t);
	pglex_next(&l, &t);
	Buf name;
	buf_init(&name);
	int rc = 0;
	if (pglex_is(&l, &t, "all")) {
		while (s->nsettings > 0)
			setting_drop(s, s->settings[0].name);
	} else if (pglex_is(&l, &t, "time")) {
		rc = set_param(s, "TimeZone", NULL, e);
	} else if (t.kind == PGT_IDENT || t.kind == PGT_QIDENT) {
		if ((rc = name_text(&l, &t, &name, e)) == 0)
			rc = set_param(s, name.p, NULL, e);
	} else {
		rc = err_set(e, ERR_SQL_PARSE, "syntax error in RESET");
	}
	buf_free(&name);
	if (rc == 0)
		snprintf(o->tag, sizeof(o->tag), "RESET");
	return rc;
}

static int
do_show(Session *s, const char *sql, size_t len, Outcome *o, Err *e)
{
	PgLex l;
	PgTok t;
	pglex_init(&l, sql, len);
	pglex_next(&l, &t);
	pglex_next(&l, &t);
	Buf name;
	buf_init(&name);
	int rc = 0;
	ResultSet *rs = NULL;
	if (pglex_is(&l, &t, "all")) {
		static const char *const cols[] = {"name", "setting", "description"};
		rs = text_result(3, cols);
		size_t cap = (size_t)NPARAMS + (size_t)s->nsettings;
		if (rs == NULL || (rs->rows = arena_alloc(&rs->arena, sizeof(Value) * 3 * cap)) == NULL) {
			result_free(rs);
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		for (int i = 0; i < NPARAMS; i++) {
			const char *v[3] = {params[i].name, setting_get(s, params[i].name),
					    i >= FIRST_WB_OPTION ? "Waybill query option" : ""};
			text_result_add(rs, v, cap);
		}
		for (int i = 0; i < s->nsettings; i++) {
			if (param_def(s->settings[i].name))
				continue;
			const char *v[3] = {s->settings[i].name, s->settings[i].value, "custom"};
			text_result_add(rs, v, cap);
		}
	} else {
		const char *shown;
		if (pglex_is(&l, &t, "time")) {
			pglex_next(&l, &t);
			buf_puts(&name, "TimeZone");
			shown = "TimeZone";
		} else if (pglex_is(&l, &t, "transaction")) {
			pglex_next(&l, &t);	/* ISOLATION */
			pglex_next(&l, &t);	/* LEVEL */
			buf_puts(&name, "transaction_isolation");
			shown = "transaction_isolation";
		} else if (pglex_is(&l, &t, "session")) {
			pglex_next(&l, &t);
			buf_puts(&name, "session_authorization");
			shown = "session_authorization";
		} else if (t.kind == PGT_IDENT || t.kind == PGT_QIDENT) {
			if ((rc = name_text(&l, &t, &name, e)) != 0)
				goto out;
			PgTok d;
			PgLex save = l;
			while (pglex_next(&l, &d) == PGT_OTHER && sql[d.start] == '.' && pglex_next(&l, &d) == PGT_IDENT) {
				buf_putc(&name, '.');
				pglex_text(&l, &d, &name);
				save = l;
			}
			l = save;
			shown = name.p;
		} else {
			rc = err_set(e, ERR_SQL_PARSE, "syntax error in SHOW");
			goto out;
		}
		if ((rc = expect_end(&l, "SHOW", e)) != 0)
			goto out;
		const char *v = setting_get(s, name.p);
		if (v == NULL) {
			rc = err_set(e, ERR_NOT_FOUND, "unrecognized configuration parameter \"%s\"", name.p);
			goto out;
		}
		const ParamDef *d = param_def(name.p);
		const Setting *st = setting_find(s, name.p);
		/* the column is named by the parameter's canonical spelling */
		char colname[64];
		snprintf(colname, sizeof(colname), "%s", d ? d->name : st ? st->name : shown);
		const char *cols[] = {colname};
		rs = text_result(1, cols);
		if (rs == NULL || (rs->rows = arena_alloc(&rs->arena, sizeof(Value))) == NULL) {
			result_free(rs);
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		const char *vals[] = {v};
		text_result_add(rs, vals, 1);
	}
	o->rs = rs;
	o->owned = 1;
	o->from = 0;
	o->to = rs->nrows;
	snprintf(o->tag, sizeof(o->tag), "SHOW");
out:
	buf_free(&name);
	return rc;
}

static Portal *
portal_find(Session *s, const char *name)
{
	for (Portal *p = s->portals; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static void
portal_free(Portal *p)
{
	outcome_free(&p->out);
	mem_free(p->name);
	mem_free(p->sql);
	mem_free(p->map_new);
	mem_free(p->map_old);
	mem_free(p->rfmt);
	mem_free(p);
}

static void
portal_drop(Session *s, Portal *x)
{
	for (Portal **pp = &s->portals; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			portal_free(x);
			return;
		}
	}
}

/* Which portals drop_portals removes. */
typedef enum PortalSet {
	PS_CURSORS_NO_HOLD,	/* end of a transaction block */
	PS_CURSORS,		/* CLOSE ALL */
	PS_ALL_BUT_HELD		/* Sync outside a block: all but WITH HOLD cursors */
} PortalSet;

static void
drop_portals(Session *s, PortalSet which)
{
	Portal **pp = &s->portals;
	while (*pp) {
		Portal *p = *pp;
		int held = p->is_cursor && p->hold;
		int drop = which == PS_CURSORS ? p->is_cursor
			 : which == PS_CURSORS_NO_HOLD ? p->is_cursor && !held
						       : !held;
		if (drop) {
			*pp = p->next;
			portal_free(p);
		} else {
			pp = &p->next;
		}
	}
}

static int run_sql(Session *s, const char *sql, size_t len, Outcome *o, Err *e);
static int describe_stmt(Session *s, Stmt *st, Outcome *o, Err *e);

/* A cursor name token's text. */
static int
cursor_name(PgLex *l, PgTok *t, Buf *name, Err *e)
{
	if (t->kind != PGT_IDENT && t->kind != PGT_QIDENT)
		return err_set(e, ERR_SQL_PARSE, "syntax error: expected a cursor name");
	return name_text(l, t, name, e);
}

static int
do_declare(Session *s, const char *sql, size_t len, Outcome *o, Err *e)
{
	PgLex l;
	PgTok t;
	pglex_init(&l, sql, len);
	pglex_next(&l, &t);
	pglex_next(&l, &t);
	Buf name;
	buf_init(&name);
	int rc = cursor_name(&l, &t, &name, e);
	int binary = 0, hold = 0;
	size_t qstart = 0;
	while (rc == 0) {
		if (pglex_next(&l, &t) == PGT_END) {
			rc = err_set(e, ERR_SQL_PARSE, "syntax error in DECLARE: expected CURSOR ... FOR query");
			break;
		}
		if (pglex_is(&l, &t, "binary"))
			binary = 1;
		else if (pglex_is(&l, &t, "with")) {
			PgTok h;
			pglex_next(&l, &h);
			hold = pglex_is(&l, &h, "hold");
		} else if (pglex_is(&l, &t, "for")) {
			qstart = l.pos;
			break;
		} else if (pglex_is(&l, &t, "scroll")) {
			rc = err_set(e, ERR_UNSUPPORTED, "SCROLL cursors are not supported; Waybill cursors only move forward");
		}
	}
	if (rc == 0 && s->txn == 'I' && !hold)
		rc = err_set(e, ERR_NO_TXN, "DECLARE CURSOR can only be used in transaction blocks");
	if (rc == 0 && portal_find(s, name.p) != NULL)
		rc = err_set(e, ERR_DUP_CURSOR, "cursor \"%s\" already exists", name.p);
	Portal *p = NULL;
	if (rc == 0) {
		p = mem_calloc(1, sizeof(Portal));
		if (p == NULL || (p->name = mem_strdup(name.p)) == NULL) {
			mem_free(p);
			p = NULL;
			rc = err_set(e, ERR_NOMEM, "out of memory");
		}
	}
	if (rc == 0) {
		rc = run_sql(s, sql + qstart, len - qstart, &p->out, e);
		if (rc != 0 && e->pos > 0)
			e->pos += (int)qstart;
		if (rc == 0 && p->out.rs == NULL) {
			outcome_free(&p->out);
			rc = err_set(e, ERR_SQL_PARSE, "cursor \"%s\": the statement after FOR returns no rows", name.p);
		}
	}
	if (rc != 0) {
		if (p)
			portal_free(p);
	} else {
		p->is_cursor = 1;
		p->hold = hold;
		p->ran = 1;
		p->out.binary = binary;
		p->next = s->portals;
		s->portals = p;
		snprintf(o->tag, sizeof(o->tag), "DECLARE CURSOR");
	}
	buf_free(&name);
	return rc;
}

static int
do_fetch(Session *s, const char *sql, size_t len, int move, Outcome *o, Err *e)
{
	PgLex l;
	PgTok t;
	pglex_init(&l, sql, len);
	pglex_next(&l, &t);
	size_t count = 1;
	int all = 0;
	pglex_next(&l, &t);
	if (pglex_is(&l, &t, "next")) {
		pglex_next(&l, &t);
	} else if (pglex_is(&l, &t, "forward")) {
		pglex_next(&l, &t);
		if (t.kind == PGT_NUMBER) {
			count = (size_t)strtoull(sql + t.start, NULL, 10);
			pglex_next(&l, &t);
		} else if (pglex_is(&l, &t, "all")) {
			all = 1;
			pglex_next(&l, &t);
		}
	} else if (t.kind == PGT_NUMBER) {
		count = (size_t)strtoull(sql + t.start, NULL, 10);
		pglex_next(&l, &t);
	} else if (pglex_is(&l, &t, "all")) {
		all = 1;
		pglex_next(&l, &t);
	} else if (pglex_is(&l, &t, "prior") || pglex_is(&l, &t, "first") || pglex_is(&l, &t, "last") ||
		   pglex_is(&l, &t, "absolute") || pglex_is(&l, &t, "relative") || pglex_is(&l, &t, "backward") ||
		   (t.kind == PGT_OTHER && sql[t.start] == '-')) {
		return err_set(e, ERR_UNSUPPORTED, "cursor can only scan forward (FETCH NEXT, FORWARD n, n or ALL)");
	}
	if (pglex_is(&l, &t, "from") || pglex_is(&l, &t, "in"))
		pglex_next(&l, &t);
	Buf name;
	buf_init(&name);
	int rc = cursor_name(&l, &t, &name, e);
	if (rc == 0)
		rc = expect_end(&l, move ? "MOVE" : "FETCH", e);
	Portal *p = rc == 0 ? portal_find(s, name.p) : NULL;
	if (rc == 0 && (p == NULL || !p->is_cursor))
		rc = err_set(e, ERR_CURSOR_MISSING, "cursor \"%s\" does not exist", name.p);
	buf_free(&name);
	if (rc)
		return rc;
	ResultSet *rs = p->out.rs;
	size_t from = p->out.from, to = all || count > rs->nrows - from ? rs->nrows : from + count;
	p->out.from = to;
	if (move) {
		snprintf(o->tag, sizeof(o->tag), "MOVE %zu", to - from);
		return 0;
	}
	o->rs = rs;
	o->owned = 0;
	o->from = from;
	o->to = to;
	o->binary = p->out.binary;
	o->counted = 1;
	snprintf(o->tag, sizeof(o->tag), "FETCH");
	return 0;
}

static int
do_close(Session *s, const char *sql, size_t len, Outcome *o, Err *e)
{
	PgLex l;
	PgTok t;
	pglex_init(&l, sql, len);
	pglex_next(&l, &t);
	pglex_next(&l, &t);
	if (pglex_is(&l, &t, "all")) {
		drop_portals(s, PS_CURSORS);
	} else {
		Buf name;
		buf_init(&name);
		int rc = cursor_name(&l, &t, &name, e);
		Portal *p = rc == 0 ? portal_find(s, name.p) : NULL;
		if (rc == 0 && (p == NULL || !p->is_cursor))
			rc = err_set(e, ERR_CURSOR_MISSING, "cursor \"%s\" does not exist", name.p);
		buf_free(&name);
		if (rc)
			return rc;
		portal_drop(s, p);
	}
	snprintf(o->tag, sizeof(o->tag), "CLOSE CURSOR");
	return 0;
}

/* COPY (query) TO STDOUT [WITH] [(options)] | COPY table [(cols)] TO
 * STDOUT ...; old-style options CSV, HEADER, DELIMITER 'c', NULL 's'. */
static int
do_copy(Session *s, const char *sql, size_t len, Outcome *o, Err *e)
{
	PgLex l;
	PgTok t;
	pglex_init(&l, sql, len);
	pglex_next(&l, &t);
	pglex_next(&l, &t);
	Buf q;
	buf_init(&q);
	int rc = 0;
	size_t qoff = 0;
	if (t.kind == PGT_OTHER && sql[t.start] == '(') {
		size_t start = l.pos;
		int depth = t.depth;
		size_t end = start;
		while (pglex_next(&l, &t) != PGT_END) {
			if (t.kind == PGT_OTHER && sql[t.start] == ')' && t.depth == depth + 1 && l.depth == depth) {
				end = t.start;
				break;
			}
		}
		if (t.kind == PGT_END) {
			buf_free(&q);
			return err_set(e, ERR_SQL_PARSE, "syntax error in COPY: unbalanced parentheses");
		}
		buf_append(&q, sql + start, end - start);
		qoff = start;
	} else if (t.kind == PGT_IDENT || t.kind == PGT_QIDENT) {
		Buf table, cols;
		buf_init(&table);
		buf_init(&cols);
		buf_append(&table, sql + t.start, t.len);
		PgLex save = l;
		PgTok d;
		while (pglex_next(&l, &d) == PGT_OTHER && sql[d.start] == '.' &&
		       (pglex_next(&l, &d) == PGT_IDENT || d.kind == PGT_QIDENT)) {
			buf_putc(&table, '.');
			buf_append(&table, sql + d.start, d.len);
			save = l;
		}
		l = save;
		save = l;
		if (pglex_next(&l, &d) == PGT_OTHER && sql[d.start] == '(') {
			size_t start = l.pos;
			while (pglex_next(&l, &d) != PGT_END && !(d.kind == PGT_OTHER && sql[d.start] == ')'))
				;
			buf_append(&cols, sql + start, d.start > start ? d.start - start : 0);
		} else {
			l = save;
		}
		buf_printf(&q, "SELECT %s FROM %s", cols.len ? cols.p : "*", table.p);
		buf_free(&table);
		buf_free(&cols);
		qoff = (size_t)-1;
	} else {
		buf_free(&q);
		return err_set(e, ERR_SQL_PARSE, "syntax error in COPY: expected (query) or a table name");
	}
	pglex_next(&l, &t);
	if (pglex_is(&l, &t, "from")) {
		buf_free(&q);
		return err_set(e, ERR_UNSUPPORTED,
			       "COPY FROM is not supported; load rows with POST /tables/{name}/ingest or a stream");
	}
	PgTok w;
	if (!pglex_is(&l, &t, "to") || (pglex_next(&l, &w), !pglex_is(&l, &w, "stdout"))) {
		buf_free(&q);
		return err_set(e, ERR_UNSUPPORTED, "COPY supports only TO STDOUT (a file on the server is not written)");
	}
	o->copy = 1;
	o->delim = '\t';
	o->null_str[0] = '\0';
	int delim_set = 0, null_set = 0;
	/* options, in either syntax */
	while (rc == 0 && pglex_next(&l, &t) != PGT_END) {
		if (pglex_is(&l, &t, "with") || (t.kind == PGT_OTHER && (sql[t.start] == '(' || sql[t.start] == ')' ||
									 sql[t.start] == ',')))
			continue;
		Buf opt, arg;
		buf_init(&opt);
		buf_init(&arg);
		pglex_text(&l, &t, &opt);
		PgLex save = l;
		PgTok a;
		pglex_next(&l, &a);
		const char *on = opt.p ? opt.p : "";
		int has_arg;
		if (strcmp(on, "format") == 0 || strcmp(on, "delimiter") == 0 || strcmp(on, "null") == 0 ||
		    strcmp(on, "quote") == 0 || strcmp(on, "escape") == 0 || strcmp(on, "encoding") == 0)
			has_arg = a.kind == PGT_STRING || a.kind == PGT_IDENT || a.kind == PGT_QIDENT || a.kind == PGT_NUMBER;
		else if (strcmp(on, "header") == 0)
			has_arg = a.kind == PGT_NUMBER || pglex_is(&l, &a, "true") || pglex_is(&l, &a, "false") ||
				  pglex_is(&l, &a, "on") || pglex_is(&l, &a, "off") || pglex_is(&l, &a, "match");
		else
			has_arg = 0;
		if (has_arg)
			pglex_text(&l, &a, &arg);
		else
			l = save;
		const char *ov = opt.p ? opt.p : "";
		const char *av = arg.p ? arg.p : "";
		if (strcmp(ov, "format") == 0) {
			if (strcasecmp(av, "csv") == 0)
				o->copy = 2;
			else if (strcasecmp(av, "text") == 0)
				o->copy = 1;
			else if (strcasecmp(av, "binary") == 0)
				rc = err_set(e, ERR_UNSUPPORTED, "COPY BINARY is not supported; use FORMAT text or csv");
			else
				rc = err_set(e, ERR_INVALID, "COPY format \"%s\" not recognized", av);
		} else if (strcmp(ov, "csv") == 0) {
			o->copy = 2;
		} else if (strcmp(ov, "binary") == 0) {
			rc = err_set(e, ERR_UNSUPPORTED, "COPY BINARY is not supported; use FORMAT text or csv");
		} else if (strcmp(ov, "header") == 0) {
			o->header = !has_arg || strcasecmp(av, "true") == 0 || strcasecmp(av, "on") == 0 ||
				    strcmp(av, "1") == 0;
		} else if (strcmp(ov, "delimiter") == 0) {
			if (strlen(av) != 1)
				rc = err_set(e, ERR_INVALID, "COPY delimiter must be a single one-byte character");
			o->delim = av[0];
			delim_set = 1;
		} else if (strcmp(ov, "null") == 0) {
			snprintf(o->null_str, sizeof(o->null_str), "%s", av);
			null_set = 1;
		} else if (strcmp(ov, "quote") == 0 || strcmp(ov, "escape") == 0 || strcmp(ov, "encoding") == 0 ||
			   strcmp(ov, "force_quote") == 0) {
			/* accepted; Waybill quotes as PostgreSQL's defaults do */
		} else {
			rc = err_set(e, ERR_INVALID, "COPY option \"%s\" not recognized", ov);
		}
		buf_free(&opt);
		buf_free(&arg);
	}
	if (rc == 0 && o->copy == 2 && !delim_set)
		o->delim = ',';
	if (rc == 0 && o->copy == 1 && !null_set)
		snprintf(o->null_str, sizeof(o->null_str), "\\N");
	if (rc == 0 && o->copy == 1 && o->header)
		rc = err_set(e, ERR_UNSUPPORTED, "COPY HEADER available only in CSV mode");
	if (rc == 0) {
		int copy = o->copy, header = o->header;
		char delim = o->delim, ns[32];
		memcpy(ns, o->null_str, sizeof(ns));
		rc = run_sql(s, q.p ? q.p : "", q.len, o, e);
		if (rc != 0 && e->pos > 0)
			e->pos = qoff == (size_t)-1 ? 0 : e->pos + (int)qoff;
		if (rc == 0 && o->rs == NULL)
			rc = err_set(e, ERR_SQL_PARSE, "COPY: the query returns no rows");
		o->copy = copy;
		o->header = header;
		o->delim = delim;
		memcpy(o->null_str, ns, sizeof(ns));
		o->counted = 1;
		snprintf(o->tag, sizeof(o->tag), "COPY");
	}
	buf_free(&q);
	return rc;
}

static Stmt *
stmt_find(Session *s, const char *name)
{
	for (Stmt *p = s->stmts; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static void
stmt_free(Stmt *p)
{
	mem_free(p->name);
	mem_free(p->sql);
	mem_free(p->ptypes);
	mem_free(p);
}

static void
stmt_drop(Session *s, Stmt *x)
{
	for (Stmt **pp = &s->stmts; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			stmt_free(x);
			return;
		}
	}
}

static int
do_deallocate(Session *s, const char *sql, size_t len, Outcome *o, Err *e)
{
	PgLex l;
	PgTok t;
	pglex_init(&l, sql, len);
	pglex_next(&l, &t);
	pglex_next(&l, &t);
	if (pglex_is(&l, &t, "prepare"))
		pglex_next(&l, &t);
	if (pglex_is(&l, &t, "all")) {
		while (s->stmts)
			stmt_drop(s, s->stmts);
		snprintf(o->tag, sizeof(o->tag), "DEALLOCATE ALL");
		return 0;
	}
	Buf name;
	buf_init(&name);
	pglex_text(&l, &t, &name);
	Stmt *p = stmt_find(s, name.p ? name.p : "");
	int rc = p ? 0 : err_set(e, ERR_STMT_MISSING, "prepared statement \"%s\" does not exist", name.p ? name.p : "");
	buf_free(&name);
	if (rc)
		return rc;
	stmt_drop(s, p);
	snprintf(o->tag, sizeof(o->tag), "DEALLOCATE");
	return 0;
}

/* Runs one statement (no trailing ';') into o.  e->pos is relative to
 * sql. */
static int
run_sql(Session *s, const char *sql, size_t len, Outcome *o, Err *e)
{
	memset(o, 0, sizeof(*o));
	StmtKind k = classify(sql, len);
	if (s->txn == 'E' && k != K_COMMIT && k != K_ROLLBACK)
		return err_set(e, ERR_TXN_ABORTED,
			       "current transaction is aborted, commands ignored until end of transaction block");
	switch (k) {
	case K_SET:
		return do_set(s, sql, len, o, e);
	case K_RESET:
		return do_reset(s, sql, len, o, e);
	case K_SHOW:
		return do_show(s, sql, len, o, e);
	case K_BEGIN:
		if (s->txn != 'I')
			send_notice(s, "WARNING", "25001", "there is already a transaction in progress");
		s->txn = 'T';
		snprintf(o->tag, sizeof(o->tag), "%s", "BEGIN");
		{
			PgLex l;
			PgTok t;
			pglex_init(&l, sql, len);
			pglex_next(&l, &t);
			if (pglex_is(&l, &t, "start"))
				snprintf(o->tag, sizeof(o->tag), "START TRANSACTION");
		}
		return 0;
	case K_COMMIT:
	case K_ROLLBACK: {
		PgLex l;
		PgTok t;
		pglex_init(&l, sql, len);
		pglex_next(&l, &t);
		pglex_next(&l, &t);
		if (pglex_is(&l, &t, "work") || pglex_is(&l, &t, "transaction"))
			pglex_next(&l, &t);
		if (k == K_ROLLBACK && pglex_is(&l, &t, "to")) {
			if (s->txn == 'I')
				return err_set(e, ERR_NO_TXN, "ROLLBACK TO SAVEPOINT can only be used in transaction blocks");
			s->txn = 'T';
			snprintf(o->tag, sizeof(o->tag), "ROLLBACK");
			return 0;
		}
		if (pglex_is(&l, &t, "prepared"))
			return err_set(e, ERR_UNSUPPORTED, "prepared transactions are not supported");
		if (s->txn == 'I')
			send_notice(s, "WARNING", "25P01", "there is no transaction in progress");
		snprintf(o->tag, sizeof(o->tag), "%s", k == K_COMMIT && s->txn != 'E' ? "COMMIT" : "ROLLBACK");
		s->txn = 'I';
		drop_portals(s, PS_CURSORS_NO_HOLD);
		return 0;
	}
	case K_SAVEPOINT:
	case K_RELEASE:
		if (s->txn == 'I')
			return err_set(e, ERR_NO_TXN, "%s can only be used in transaction blocks",
				       k == K_SAVEPOINT ? "SAVEPOINT" : "RELEASE SAVEPOINT");
		snprintf(o->tag, sizeof(o->tag), "%s", k == K_SAVEPOINT ? "SAVEPOINT" : "RELEASE");
		return 0;
	case K_DECLARE:
		return do_declare(s, sql, len, o, e);
	case K_FETCH:
	case K_MOVE:
		return do_fetch(s, sql, len, k == K_MOVE, o, e);
	case K_CLOSE:
		return do_close(s, sql, len, o, e);
	case K_COPY:
		return do_copy(s, sql, len, o, e);
	case K_DEALLOCATE:
		return do_deallocate(s, sql, len, o, e);
	case K_DISCARD: {
		PgLex l;
		PgTok t;
		pglex_init(&l, sql, len);
		pglex_next(&l, &t);
		pglex_next(&l, &t);
		if (pglex_is(&l, &t, "all")) {
			if (s->txn != 'I')
				return err_set(e, ERR_NO_TXN, "DISCARD ALL cannot run inside a transaction block");
			while (s->stmts)
				stmt_drop(s, s->stmts);
			while (s->portals)
				portal_drop(s, s->portals);
			while (s->nsettings > 0)
				setting_drop(s, s->settings[0].name);
		}
		snprintf(o->tag, sizeof(o->tag), "DISCARD %s", pglex_is(&l, &t, "all") ? "ALL" : "PLANS");
		return 0;
	}
	case K_QUERY:
		break;
	}
	char *z = mem_strndup(sql, len);
	if (z == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	QueryOpts qo;
	session_opts(s, &qo);
	atomic_store(&s->cancel, 0);
	ResultSet *rs = NULL;
	int rc = query_exec(s->cat, z, &qo, &rs, e);
	mem_free(z);
	if (rc)
		return rc;
	o->rs = rs;
	o->owned = 1;
	o->from = 0;
	o->to = rs->nrows;
	o->counted = 1;
	snprintf(o->tag, sizeof(o->tag), "SELECT");
	if (rs->partial || rs->warning[0])
		send_notice(s, "WARNING", "01000", rs->warning[0] ? rs->warning : "result cut at the server's row ceiling");
	return 0;
}

/* An error in a statement: inside a transaction block it aborts it. */
static void
statement_failed(Session *s, int code, const Err *e, int position)
{
	send_error(s, code, e, position);
	if (s->txn == 'T')
		s->txn = 'E';
}

/* ---- the simple protocol -------------------------------------------------------- */

static void
simple_query(Session *s, const char *q, size_t len)
{
	static _Thread_local PgSpan spans[MAX_STMTS];
	int n = pglex_split(q, len, spans, MAX_STMTS);
	if (n == 0) {
		pgproto_simple(&s->c.out, 'I');
		ready(s);
		return;
	}
	if (n == MAX_STMTS && spans[n - 1].end < len) {
		Err e = {0};
		err_set(&e, ERR_TOO_LARGE, "more than %d statements in one query message", MAX_STMTS);
		send_error(s, ERR_TOO_LARGE, &e, 0);
		ready(s);
		return;
	}
	for (int i = 0; i < n && !s->c.broken; i++) {
		/* pglex_split's spans are statement texts; spans may be
		 * overwritten by nested calls, so copy this one */
		size_t st = spans[i].start, en = spans[i].end;
		Outcome o;
		Err e = {0};
		int rc = run_sql(s, q + st, en - st, &o, &e);
		if (rc) {
			statement_failed(s, rc, &e, e.pos > 0 ? e.pos + (int)st : 0);
			break;
		}
		size_t sent = 0;
		if (o.copy && o.rs) {
			sent = send_copy(s, &o);
		} else if (o.rs) {
			int16_t *fm = mem_calloc((size_t)o.rs->ncols + 1, sizeof(int16_t));
			if (fm)
				formats_of(NULL, 0, o.binary, o.rs->ncols, fm);
			row_description(s, o.rs, NULL, 0, o.binary);
			sent = send_rows(s, o.rs, o.from, o.to, 0, fm);
			mem_free(fm);
		}
		complete(s, &o, sent);
		outcome_free(&o);
		conn_flush(&s->c);
	}
	ready(s);
}

/* ---- the extended protocol --------------------------------------------------------- */

static void
ext_error(Session *s, int code, const Err *e, int position)
{
	statement_failed(s, code, e, position);
	s->skip_to_sync = 1;
}

static void
msg_parse(Session *s, PgMsg *m)
{
	const char *name = pgproto_get_str(m);
	const char *sql = pgproto_get_str(m);
	int np = pgproto_get_i16(m);
	Err e = {0};
	if (np < 0 || m->bad) {
		err_set(&e, ERR_BAD_REQUEST, "malformed Parse message");
		ext_error(s, ERR_BAD_REQUEST, &e, 0);
		return;
	}
	int32_t *types = mem_calloc((size_t)np + 1, sizeof(int32_t));
	for (int i = 0; types && i < np; i++)
		types[i] = pgproto_get_i32(m);
	if (types == NULL || m->bad) {
		mem_free(types);
		err_set(&e, ERR_BAD_REQUEST, "malformed Parse message");
		ext_error(s, ERR_BAD_REQUEST, &e, 0);
		return;
	}
	size_t len = strlen(sql);
	PgSpan sp[2];
	int nst = pglex_split(sql, len, sp, 2);
	if (nst > 1) {
		mem_free(types);
		err_set(&e, ERR_SQL_PARSE, "cannot insert multiple commands into a prepared statement");
		ext_error(s, ERR_SQL_PARSE, &e, 0);
		return;
	}
	if (name[0] && stmt_find(s, name)) {
		mem_free(types);
		err_set(&e, ERR_DUP_STMT, "prepared statement \"%s\" already exists", name);
		ext_error(s, ERR_DUP_STMT, &e, 0);
		return;
	}
	int maxp = pglex_max_param(sql, len);
	if (maxp > 65535) {
		mem_free(types);
		err_set(&e, ERR_TOO_LARGE, "too many parameters ($%d)", maxp);
		ext_error(s, ERR_TOO_LARGE, &e, 0);
		return;
	}
	if (maxp > np) {
		int32_t *nt = mem_realloc(types, sizeof(int32_t) * (size_t)maxp);
		if (nt == NULL) {
			mem_free(types);
			err_set(&e, ERR_NOMEM, "out of memory");
			ext_error(s, ERR_NOMEM, &e, 0);
			return;
		}
		types = nt;
		for (int i = np; i < maxp; i++)
			types[i] = 0;
		np = maxp;
	}
	Stmt *st = mem_calloc(1, sizeof(Stmt));
	if (st == NULL || (st->name = mem_strdup(name)) == NULL ||
	    (st->sql = mem_strndup(nst ? sql + sp[0].start : "", nst ? sp[0].end - sp[0].start : 0)) == NULL) {
		if (st)
			stmt_free(st);
		mem_free(types);
		err_set(&e, ERR_NOMEM, "out of memory");
		ext_error(s, ERR_NOMEM, &e, 0);
		return;
	}
	st->len = strlen(st->sql);
	st->nparams = np;
	st->ptypes = types;
	if (name[0] == '\0') {
		Stmt *old = stmt_find(s, "");
		if (old)
			stmt_drop(s, old);
	}
	/* PostgreSQL reports a bad statement (syntax, unknown table or
	 * column) at Parse and fixes the parameters' types there: plan it
	 * now (no rows are read) */
	Outcome o;
	if (describe_stmt(s, st, &o, &e) != 0) {
		stmt_free(st);
		ext_error(s, e.code ? e.code : ERR_INTERNAL, &e, e.pos);
		return;
	}
	outcome_free(&o);
	st->next = s->stmts;
	s->stmts = st;
	pgproto_simple(&s->c.out, '1');
}

/* The text of st with every $n replaced by the literal of values[n-1]. */
static int
splice(const Stmt *st, const char *const *vals, const int32_t *lens, const int16_t *fmts, int nfmts,
       Portal *p, Err *e)
{
	Buf b;
	buf_init(&b);
	PgLex l;
	PgTok t;
	pglex_init(&l, st->sql, st->len);
	size_t at = 0;
	int cap = 8;
	p->map_new = mem_alloc(sizeof(size_t) * (size_t)cap);
	p->map_old = mem_alloc(sizeof(size_t) * (size_t)cap);
	if (p->map_new == NULL || p->map_old == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	p->map_new[0] = p->map_old[0] = 0;
	p->nmap = 1;
	while (pglex_next(&l, &t) != PGT_END) {
		if (t.kind != PGT_PARAM)
			continue;
		buf_append(&b, st->sql + at, t.start - at);
		int i = t.param - 1;
		if (i < 0 || i >= st->nparams) {
			buf_free(&b);
			return err_set(e, ERR_SQL_PARSE, "there is no parameter $%d", t.param);
		}
		int f = nfmts == 1 ? fmts[0] : nfmts > i ? fmts[i] : 0;
		int rc = pgproto_param_literal(t.param, st->ptypes[i], f == 1, vals[i], lens[i], &b, e);
		if (rc) {
			buf_free(&b);
			return rc;
		}
		at = t.start + t.len;
		if (p->nmap + 1 > cap) {
			cap *= 2;
			size_t *a = mem_realloc(p->map_new, sizeof(size_t) * (size_t)cap);
			if (a)
				p->map_new = a;
			size_t *o = mem_realloc(p->map_old, sizeof(size_t) * (size_t)cap);
			if (o)
				p->map_old = o;
			if (a == NULL || o == NULL) {
				buf_free(&b);
				return err_set(e, ERR_NOMEM, "out of memory");
			}
		}
		p->map_new[p->nmap] = b.len;
		p->map_old[p->nmap] = at;
		p->nmap++;
	}
	buf_append(&b, st->sql + at, st->len - at);
	if (b.oom) {
		buf_free(&b);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	p->len = b.len;
	p->sql = b.p ? buf_take(&b) : mem_strdup("");
	return p->sql ? 0 : err_set(e, ERR_NOMEM, "out of memory");
}

/* An error position in a portal's spliced text, as a position in the
 * client's statement text. */
static int
map_pos(const Portal *p, int pos)
{
	if (pos <= 0 || p->nmap == 0)
		return pos;
	size_t at = (size_t)pos - 1;
	int i = p->nmap - 1;
	while (i > 0 && p->map_new[i] > at)
		i--;
	return (int)(p->map_old[i] + (at - p->map_new[i])) + 1;
}

static void
msg_bind(Session *s, PgMsg *m)
{
	const char *pname = pgproto_get_str(m);
	const char *sname = pgproto_get_str(m);
	Err e = {0};
	int nf = pgproto_get_i16(m);
	if (nf < 0 || m->bad) {
		err_set(&e, ERR_BAD_REQUEST, "malformed Bind message");
		ext_error(s, ERR_BAD_REQUEST, &e, 0);
		return;
	}
	int16_t *fmts = mem_calloc((size_t)nf + 1, sizeof(int16_t));
	for (int i = 0; fmts && i < nf; i++)
		fmts[i] = (int16_t)pgproto_get_i16(m);
	int np = pgproto_get_i16(m);
	const char **vals = np >= 0 ? mem_calloc((size_t)np + 1, sizeof(char *)) : NULL;
	int32_t *lens = np >= 0 ? mem_calloc((size_t)np + 1, sizeof(int32_t)) : NULL;
	for (int i = 0; vals && lens && i < np && !m->bad; i++) {
		lens[i] = pgproto_get_i32(m);
		if (lens[i] < -1) {
			m->bad = 1;
			break;
		}
		vals[i] = lens[i] >= 0 ? pgproto_get_bytes(m, (size_t)lens[i]) : NULL;
	}
	int nr = pgproto_get_i16(m);
	int16_t *rfmt = nr >= 0 ? mem_calloc((size_t)nr + 1, sizeof(int16_t)) : NULL;
	for (int i = 0; rfmt && i < nr; i++)
		rfmt[i] = (int16_t)pgproto_get_i16(m);
	Portal *p = NULL;
	int rc = 0;
	int bad_fmt = 0;
	for (int i = 0; fmts && i < nf; i++)
		bad_fmt |= fmts[i] != 0 && fmts[i] != 1;
	for (int i = 0; rfmt && i < nr; i++)
		bad_fmt |= rfmt[i] != 0 && rfmt[i] != 1;
	if (fmts == NULL || vals == NULL || lens == NULL || rfmt == NULL || m->bad || np < 0 || nr < 0) {
		rc = err_set(&e, m->bad || np < 0 || nr < 0 ? ERR_BAD_REQUEST : ERR_NOMEM, "malformed Bind message");
		goto out;
	}
	if (bad_fmt) {
		rc = err_set(&e, ERR_BAD_REQUEST, "unsupported format code in Bind (0 text, 1 binary)");
		goto out;
	}
	Stmt *st = stmt_find(s, sname);
	if (st == NULL) {
		rc = err_set(&e, ERR_STMT_MISSING, "prepared statement \"%s\" does not exist", sname);
		goto out;
	}
	if (np != st->nparams) {
		rc = err_set(&e, ERR_BAD_REQUEST, "bind message supplies %d parameters, but prepared statement \"%s\" requires %d",
			     np, sname, st->nparams);
		goto out;
	}
	if (nf > 1 && nf != np) {
		rc = err_set(&e, ERR_BAD_REQUEST, "bind message has %d parameter formats but %d parameters", nf, np);
		goto out;
	}
	int need_types = 0;
	for (int i = 0; i < np; i++) {
		int f = nf == 1 ? fmts[0] : nf > i ? fmts[i] : 0;
		need_types |= f == 1 && st->ptypes[i] == 0 && !st->described;
	}
	if (need_types) {
		/* a binary value is read by its type: infer the types now */
		Outcome o0;
		Err e0 = {0};
		if (describe_stmt(s, st, &o0, &e0) == 0)
			outcome_free(&o0);
	}
	if (pname[0] && portal_find(s, pname)) {
		rc = err_set(&e, ERR_DUP_CURSOR, "portal \"%s\" already exists", pname);
		goto out;
	}
	if (s->txn == 'E') {
		rc = err_set(&e, ERR_TXN_ABORTED,
			     "current transaction is aborted, commands ignored until end of transaction block");
		goto out;
	}
	p = mem_calloc(1, sizeof(Portal));
	if (p == NULL || (p->name = mem_strdup(pname)) == NULL) {
		rc = err_set(&e, ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = splice(st, vals, lens, fmts, nf, p, &e)) != 0)
		goto out;
	p->nrfmt = nr;
	p->rfmt = rfmt;
	rfmt = NULL;
	if (pname[0] == '\0') {
		Portal *old = portal_find(s, "");
		if (old)
			portal_drop(s, old);
	}
	p->next = s->portals;
	s->portals = p;
	p = NULL;
	pgproto_simple(&s->c.out, '2');
out:
	if (p)
		portal_free(p);
	mem_free(fmts);
	mem_free(vals);
	mem_free(lens);
	mem_free(rfmt);
	if (rc)
		ext_error(s, rc, &e, 0);
}

/* Nothing but blanks and comments? */
static int
is_empty(const char *sql, size_t len)
{
	PgLex l;
	PgTok t;
	pglex_init(&l, sql, len);
	return pglex_next(&l, &t) == PGT_END;
}

/* Runs a portal's statement once. */
static int
portal_run(Session *s, Portal *p)
{
	if (p->ran)
		return 0;
	Err e = {0};
	int rc = run_sql(s, p->sql, p->len, &p->out, &e);
	p->ran = 1;
	p->out.first = p->out.from;
	if (rc) {
		ext_error(s, rc, &e, map_pos(p, e.pos));
		return rc;
	}
	return 0;
}

/* Plans st without running it: its row shape in *o (rs without rows, or
 * none), and the types of the parameters the client left unspecified,
 * from what the statement does with them (x = $1 with x an INT column
 * makes $1 int4; LIMIT $1 int8; unconstrained ones stay text).  Each
 * parameter is spliced as a marker the binder recognizes
 * (QueryOpts.param_types). */
static int
describe_stmt(Session *s, Stmt *st, Outcome *o, Err *e)
{
	memset(o, 0, sizeof(*o));
	if (is_empty(st->sql, st->len))
		return 0;
	StmtKind k = classify(st->sql, st->len);
	if (k != K_QUERY && k != K_SHOW)	/* (a FETCH would move its cursor) */
		return 0;
	WbType *wt = mem_calloc((size_t)st->nparams + 1, sizeof(WbType));
	if (wt == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	Buf b;
	buf_init(&b);
	PgLex l;
	PgTok t, prev = {0};
	pglex_init(&l, st->sql, st->len);
	size_t at = 0;
	/* where the marked text's pieces come from, for error positions */
	Portal map;
	memset(&map, 0, sizeof(map));
	int cap = 0;
	while (pglex_next(&l, &t) != PGT_END) {
		if (t.kind == PGT_PARAM && t.param >= 1 && t.param <= st->nparams) {
			if (map.nmap + 2 > cap) {
				cap = cap ? 2 * cap : 8;
				size_t *a = mem_realloc(map.map_new, sizeof(size_t) * (size_t)cap);
				if (a)
					map.map_new = a;
				size_t *o2 = mem_realloc(map.map_old, sizeof(size_t) * (size_t)cap);
				if (o2)
					map.map_old = o2;
				if (a == NULL || o2 == NULL) {
					b.oom = 1;
					break;
				}
				if (map.nmap == 0) {
					map.map_new[0] = map.map_old[0] = 0;
					map.nmap = 1;
				}
			}
			buf_append(&b, st->sql + at, t.start - at);
			int i = t.param - 1;
			if (pglex_is(&l, &prev, "limit") || pglex_is(&l, &prev, "offset") || pglex_is(&l, &prev, "first") ||
			    pglex_is(&l, &prev, "next")) {
				buf_puts(&b, "NULL");
				if (st->ptypes[i] == 0)
					wt[i] = TYPE_LONG;
			} else if (st->ptypes[i] != 0 || k != K_QUERY) {
				buf_puts(&b, "NULL");
			} else {
				buf_printf(&b, "'\x01wbparam%d'", t.param);
			}
			at = t.start + t.len;
			map.map_new[map.nmap] = b.len;
			map.map_old[map.nmap] = at;
			map.nmap++;
		}
		prev = t;
	}
	buf_append(&b, st->sql + at, st->len - at);
	int rc = b.oom ? err_set(e, ERR_NOMEM, "out of memory") : 0;
	if (rc == 0) {
		s->describing = 1;
		s->describe_types = wt;
		s->describe_n = st->nparams;
		rc = run_sql(s, b.p ? b.p : "", b.len, o, e);
		s->describing = 0;
		s->describe_types = NULL;
		s->describe_n = 0;
	}
	if (rc == 0 && !st->described) {
		for (int i = 0; i < st->nparams; i++)
			if (st->ptypes[i] == 0 && wt[i] != TYPE_NULL)
				st->ptypes[i] = pgtype_oid(wt[i], 0);
		st->described = 1;
	}
	/* positions in the marked text, as positions in the client's */
	if (rc != 0)
		e->pos = map_pos(&map, e->pos);
	mem_free(map.map_new);
	mem_free(map.map_old);
	buf_free(&b);
	mem_free(wt);
	return rc;
}

static void
msg_describe(Session *s, PgMsg *m)
{
	int what = pgproto_get_u8(m);
	const char *name = pgproto_get_str(m);
	Err e = {0};
	if (m->bad || (what != 'S' && what != 'P')) {
		err_set(&e, ERR_BAD_REQUEST, "malformed Describe message");
		ext_error(s, ERR_BAD_REQUEST, &e, 0);
		return;
	}
	if (what == 'P') {
		Portal *p = portal_find(s, name);
		if (p == NULL) {
			err_set(&e, ERR_CURSOR_MISSING, "portal \"%s\" does not exist", name);
			ext_error(s, ERR_CURSOR_MISSING, &e, 0);
			return;
		}
		StmtKind k = classify(p->sql, p->len);
		if (is_empty(p->sql, p->len) ||
		    (!p->ran && k != K_QUERY && k != K_SHOW && k != K_FETCH && k != K_COPY)) {
			/* no rows: a command runs at Execute (its effects, such
			 * as ParameterStatus, come in order there) */
			pgproto_simple(&s->c.out, 'n');
			return;
		}
		if (portal_run(s, p) != 0)
			return;
		if (p->out.rs && !p->out.copy)
			row_description(s, p->out.rs, p->rfmt, p->nrfmt, p->out.binary);
		else
			pgproto_simple(&s->c.out, 'n');
		return;
	}
	Stmt *st = stmt_find(s, name);
	if (st == NULL) {
		err_set(&e, ERR_STMT_MISSING, "prepared statement \"%s\" does not exist", name);
		ext_error(s, ERR_STMT_MISSING, &e, 0);
		return;
	}
	Buf *b = &s->c.out;
	Outcome o;
	int rc = describe_stmt(s, st, &o, &e);	/* infers the parameter types too */
	if (rc) {
		ext_error(s, rc, &e, 0);
		return;
	}
	size_t mm = pgproto_begin(b, 't');
	pgproto_put_i16(b, st->nparams);
	for (int i = 0; i < st->nparams; i++)
		pgproto_put_i32(b, st->ptypes[i] ? st->ptypes[i] : PG_TEXT);
	pgproto_end(b, mm);
	/* the row shape: queries and SHOW have one */
	if (o.rs && !o.copy)
		row_description(s, o.rs, NULL, 0, 0);
	else
		pgproto_simple(b, 'n');
	outcome_free(&o);
}

static void
msg_execute(Session *s, PgMsg *m)
{
	const char *name = pgproto_get_str(m);
	int32_t max = pgproto_get_i32(m);
	Err e = {0};
	if (m->bad) {
		err_set(&e, ERR_BAD_REQUEST, "malformed Execute message");
		ext_error(s, ERR_BAD_REQUEST, &e, 0);
		return;
	}
	Portal *p = portal_find(s, name);
	if (p == NULL) {
		err_set(&e, ERR_CURSOR_MISSING, "portal \"%s\" does not exist", name);
		ext_error(s, ERR_CURSOR_MISSING, &e, 0);
		return;
	}
	if (is_empty(p->sql, p->len)) {
		pgproto_simple(&s->c.out, 'I');
		return;
	}
	if (portal_run(s, p) != 0)
		return;
	Outcome *o = &p->out;
	if (o->copy && o->rs) {
		size_t n = send_copy(s, o);
		complete(s, o, n);
		o->from = o->to;
		return;
	}
	if (o->rs == NULL) {
		if (o->tag[0])
			complete(s, o, 0);
		o->tag[0] = '\0';
		return;
	}
	int16_t *fm = mem_calloc((size_t)o->rs->ncols + 1, sizeof(int16_t));
	if (fm == NULL) {
		err_set(&e, ERR_NOMEM, "out of memory");
		ext_error(s, ERR_NOMEM, &e, 0);
		return;
	}
	formats_of(p->rfmt, p->nrfmt, o->binary, o->rs->ncols, fm);
	size_t n = send_rows(s, o->rs, o->from, o->to, max > 0 ? (size_t)max : 0, fm);
	mem_free(fm);
	o->from += n;
	if (o->from < o->to) {
		pgproto_simple(&s->c.out, 's');
		/* the count of a later CommandComplete covers every slice */
		return;
	}
	/* the tag counts the rows of this Execute, as PostgreSQL's does */
	complete(s, o, n);
}

static void
msg_close(Session *s, PgMsg *m)
{
	int what = pgproto_get_u8(m);
	const char *name = pgproto_get_str(m);
	if (m->bad || (what != 'S' && what != 'P')) {
		Err e = {0};
		err_set(&e, ERR_BAD_REQUEST, "malformed Close message");
		ext_error(s, ERR_BAD_REQUEST, &e, 0);
		return;
	}
	if (what == 'S') {
		Stmt *st = stmt_find(s, name);
		if (st)
			stmt_drop(s, st);
	} else {
		Portal *p = portal_find(s, name);
		if (p)
			portal_drop(s, p);
	}
	pgproto_simple(&s->c.out, '3');
}

/* ---- startup ------------------------------------------------------------------------ */

#define SSL_CODE 80877103
#define GSS_CODE 80877104
#define CANCEL_CODE 80877102

static void
cancel_request(PgwireServer *srv, int32_t pid, int32_t secret)
{
	if (srv == NULL)
		return;
	pthread_mutex_lock(&srv->mu);
	for (Session *s = srv->sessions; s; s = s->next) {
		if (s->pid == pid && s->secret == secret) {
			atomic_store(&s->cancel, 1);
			break;
		}
	}
	pthread_mutex_unlock(&srv->mu);
}

/* Reads one typed message into s->msg; 0, or -1 when the connection must
 * end (a FATAL was sent if the client deserved one). */
static int
read_msg(Session *s, char *type)
{
	unsigned char h[5];
	if (conn_read(&s->c, h, NULL, 5) != 0)
		return -1;
	uint32_t len = be32(h + 1);
	if (s->ready && (h[0] == 0 || strchr("QPBDECHSXdcfF", (char)h[0]) == NULL)) {
		char msg[80];
		snprintf(msg, sizeof(msg), "invalid frontend message type %d", h[0]);
		send_fatal(s, ERR_BAD_REQUEST, msg);
		return -1;
	}
	if (len < 4 || len - 4 > MAX_MSG) {
		send_fatal(s, ERR_BAD_REQUEST, len < 4 ? "invalid message length" : "message too long (the limit is 64 MiB)");
		return -1;
	}
	buf_reset(&s->msg);
	if (conn_read(&s->c, NULL, &s->msg, len - 4) != 0)
		return -1;
	*type = (char)h[0];
	return 0;
}

static int
auth_fail(Session *s, const char *why)
{
	char msg[200];
	snprintf(msg, sizeof(msg), "password authentication failed for user \"%s\"", s->user);
	if (why)
		log_info("pgwire: %s: %s", msg, why);
	send_fatal(s, ERR_AUTH_FAILED, msg);
	return -1;
}

static int
authenticate(Session *s)
{
	PgwireServer *srv = s->srv;
	PgAuthMethod m = srv ? srv->auth : PGAUTH_TRUST;
	if (m == PGAUTH_TRUST) {
		if (srv && pgauth_count(srv->users) == 0 && !s->loopback) {
			send_fatal(s, ERR_AUTH,
				   "no users are configured (waybill serve --pg-users), so only loopback clients may connect");
			return -1;
		}
		return 0;
	}
	char type;
	if (m == PGAUTH_PASSWORD || (m == PGAUTH_MD5 && pgauth_has_md5(srv->users, s->user))) {
		unsigned char salt[4] = {0};
		if (m == PGAUTH_MD5) {
			RAND_bytes(salt, 4);
			pgproto_auth(&s->c.out, 5, salt, 4);
		} else {
			pgproto_auth(&s->c.out, 3, NULL, 0);
		}
		if (read_msg(s, &type) != 0)
			return -1;
		if (type != 'p') {
			send_fatal(s, ERR_BAD_REQUEST, "expected a password message");
			return -1;
		}
		PgMsg pm;
		pgproto_msg_init(&pm, s->msg.p ? s->msg.p : "", s->msg.len);
		const char *pw = pgproto_get_str(&pm);
		if (pm.bad)
			return auth_fail(s, "malformed password message");
		int ok = m == PGAUTH_MD5 ? pgauth_check_md5(srv->users, s->user, salt, pw) == 0
					 : pgauth_check_password(srv->users, s->user, pw) == 0;
		return ok ? 0 : auth_fail(s, NULL);
	}
	/* SCRAM-SHA-256 */
	static const char mech[] = "SCRAM-SHA-256\0";
	pgproto_auth(&s->c.out, 10, mech, sizeof(mech));
	if (read_msg(s, &type) != 0)
		return -1;
	if (type != 'p') {
		send_fatal(s, ERR_BAD_REQUEST, "expected a SASLInitialResponse message");
		return -1;
	}
	PgMsg pm;
	pgproto_msg_init(&pm, s->msg.p ? s->msg.p : "", s->msg.len);
	const char *mname = pgproto_get_str(&pm);
	int32_t n = pgproto_get_i32(&pm);
	const char *data = n >= 0 ? pgproto_get_bytes(&pm, (size_t)n) : NULL;
	if (pm.bad || data == NULL || strcmp(mname, "SCRAM-SHA-256") != 0) {
		send_fatal(s, ERR_BAD_REQUEST, "expected SASL mechanism SCRAM-SHA-256");
		return -1;
	}
	PgScram sc;
	Buf reply;
	buf_init(&reply);
	Err e = {0};
	if (pgauth_scram_first(&sc, srv->users, s->user, data, (size_t)n, &reply, &e) != 0) {
		buf_free(&reply);
		send_fatal(s, ERR_BAD_REQUEST, e.msg);
		return -1;
	}
	pgproto_auth(&s->c.out, 11, reply.p, reply.len);
	buf_reset(&reply);
	if (read_msg(s, &type) != 0 || type != 'p') {
		buf_free(&reply);
		if (!s->c.broken)
			send_fatal(s, ERR_BAD_REQUEST, "expected a SASLResponse message");
		return -1;
	}
	if (pgauth_scram_final(&sc, s->msg.p ? s->msg.p : "", s->msg.len, &reply, &e) != 0) {
		buf_free(&reply);
		return auth_fail(s, e.msg);
	}
	pgproto_auth(&s->c.out, 12, reply.p, reply.len);
	buf_free(&reply);
	return 0;
}

/* Startup packet through ReadyForQuery; 0 = the session may go on. */
static int
startup(Session *s)
{
	int did_ssl = 0, did_gss = 0;
	for (;;) {
		unsigned char h[4];
		if (conn_read(&s->c, h, NULL, 4) != 0)
			return -1;
		uint32_t len = be32(h);
		if (len < 8 || len > MAX_STARTUP) {
			send_fatal(s, ERR_BAD_REQUEST, "invalid length of startup packet");
			return -1;
		}
		buf_reset(&s->msg);
		if (conn_read(&s->c, NULL, &s->msg, len - 4) != 0)
			return -1;
		PgMsg m;
		pgproto_msg_init(&m, s->msg.p, s->msg.len);
		int32_t code = pgproto_get_i32(&m);
		if (code == CANCEL_CODE) {
			int32_t pid = pgproto_get_i32(&m), secret = pgproto_get_i32(&m);
			if (!m.bad && len == 16)
				cancel_request(s->srv, pid, secret);
			return -1;
		}
		if (code == SSL_CODE) {
			if (did_ssl || s->c.ssl) {
				send_fatal(s, ERR_BAD_REQUEST, "SSLRequest sent twice");
				return -1;
			}
			did_ssl = 1;
			SSL_CTX *ctx = s->srv ? s->srv->tls : NULL;
			buf_putc(&s->c.out, ctx ? 'S' : 'N');
			if (conn_flush(&s->c) != 0)
				return -1;
			if (ctx) {
				if (s->c.ipos != s->c.ilen) {
					/* bytes after the request would be read in
					 * clear: a man-in-the-middle's trick */
					send_fatal(s, ERR_BAD_REQUEST, "received unencrypted data after SSL request");
					return -1;
				}
				s->c.ssl = SSL_new(ctx);
				if (s->c.ssl == NULL || SSL_set_fd(s->c.ssl, s->c.fd) != 1 || SSL_accept(s->c.ssl) != 1) {
					log_info("pgwire: TLS handshake failed");
					return -1;
				}
			}
			continue;
		}
		if (code == GSS_CODE) {
			if (did_gss) {
				send_fatal(s, ERR_BAD_REQUEST, "GSSENCRequest sent twice");
				return -1;
			}
			did_gss = 1;
			buf_putc(&s->c.out, 'N');
			if (conn_flush(&s->c) != 0)
				return -1;
			continue;
		}
		int major = (int)((uint32_t)code >> 16), minor = code & 0xFFFF;
		if (major != 3) {
			char msg[160];
			snprintf(msg, sizeof(msg), "unsupported frontend protocol %d.%d: server supports 3.0 to 3.0",
				 major, minor);
			send_fatal(s, ERR_UNSUPPORTED, msg);
			return -1;
		}
		/* name/value pairs up to an empty name */
		int nunrec = 0;
		Buf unrec;
		buf_init(&unrec);
		int rc = 0;
		for (;;) {
			const char *k = pgproto_get_str(&m);
			if (m.bad || *k == '\0')
				break;
			const char *v = pgproto_get_str(&m);
			if (m.bad)
				break;
			Err e = {0};
			if (strcmp(k, "user") == 0) {
				snprintf(s->user, sizeof(s->user), "%s", v);
			} else if (strcmp(k, "database") == 0) {
				snprintf(s->database, sizeof(s->database), "%s", v);
			} else if (strcmp(k, "options") == 0) {
				/* -c name=value pairs */
				char opt[512];
				snprintf(opt, sizeof(opt), "%s", v);
				char *save = NULL;
				for (char *w = strtok_r(opt, " ", &save); w && rc == 0; w = strtok_r(NULL, " ", &save)) {
					if (strcmp(w, "-c") == 0)
						continue;
					if (strncmp(w, "--", 2) == 0)
						w += 2;
					else if (strncmp(w, "-c", 2) == 0)
						w += 2;
					char *eq = strchr(w, '=');
					if (eq == NULL)
						continue;
					*eq = '\0';
					if ((rc = set_param(s, w, eq + 1, &e)) != 0)
						send_fatal(s, rc, e.msg);
				}
			} else if (strcmp(k, "replication") == 0) {
				if (strcasecmp(v, "false") != 0 && strcasecmp(v, "off") != 0 && strcmp(v, "0") != 0) {
					send_fatal(s, ERR_UNSUPPORTED, "replication connections are not supported");
					rc = -1;
				}
			} else if (strncmp(k, "_pq_.", 5) == 0) {
				nunrec++;
				pgproto_put_str(&unrec, k);
			} else {
				const ParamDef *d = param_def(k);
				if (d == NULL || !d->readonly) {
					if ((rc = set_param(s, k, v, &e)) != 0 && rc != ERR_NOT_FOUND)
						send_fatal(s, rc, e.msg);
					else
						rc = 0;	/* unknown startup parameters are ignored */
				}
			}
			if (rc)
				break;
		}
		if (rc) {
			buf_free(&unrec);
			return -1;
		}
		if (m.bad) {
			buf_free(&unrec);
			send_fatal(s, ERR_BAD_REQUEST, "invalid startup packet layout: expected terminator as last byte");
			return -1;
		}
		if (s->user[0] == '\0') {
			buf_free(&unrec);
			send_fatal(s, ERR_AUTH, "no PostgreSQL user name specified in startup packet");
			return -1;
		}
		if (s->database[0] == '\0')
			snprintf(s->database, sizeof(s->database), "%s", s->user);
		if (minor > 0 || nunrec > 0) {
			size_t mm = pgproto_begin(&s->c.out, 'v');
			pgproto_put_i32(&s->c.out, 3 << 16);	/* newest supported: 3.0 */
			pgproto_put_i32(&s->c.out, nunrec);
			buf_append(&s->c.out, unrec.p, unrec.len);
			pgproto_end(&s->c.out, mm);
		}
		buf_free(&unrec);
		break;
	}
	if (authenticate(s) != 0)
		return -1;
	if (strcmp(s->database, "waybill") != 0) {
		char msg[200];
		snprintf(msg, sizeof(msg), "database \"%s\" does not exist (Waybill serves one database, \"waybill\")",
			 s->database);
		send_fatal(s, ERR_DB_MISSING, msg);
		return -1;
	}
	pgproto_auth(&s->c.out, 0, NULL, 0);
	/* ParameterStatus of every reported parameter (settings the client
	 * already sent are included: they are now set) */
	for (int i = 0; i < NPARAMS; i++)
		if (params[i].report)
			pgproto_param_status(&s->c.out, params[i].name, setting_get(s, params[i].name));
	const char *app = setting_get(s, "application_name");
	pgproto_param_status(&s->c.out, "application_name", app ? app : "");
	size_t mm = pgproto_begin(&s->c.out, 'K');
	pgproto_put_i32(&s->c.out, s->pid);
	pgproto_put_i32(&s->c.out, s->secret);
	pgproto_end(&s->c.out, mm);
	pgproto_ready(&s->c.out, 'I');
	s->ready = 1;
	return conn_flush(&s->c);
}

/* ---- the session loop ------------------------------------------------------------------ */

static void
session_loop(Session *s)
{
	if (startup(s) != 0)
		return;
	if (s->c.fd >= 0) {
		struct timeval tv = {0, 0};
		setsockopt(s->c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	for (;;) {
		if (s->srv && atomic_load(&s->srv->stopping)) {
			send_fatal(s, ERR_SHUTDOWN, "terminating connection due to administrator command");
			return;
		}
		char type;
		if (read_msg(s, &type) != 0)
			return;
		PgMsg m;
		pgproto_msg_init(&m, s->msg.p ? s->msg.p : "", s->msg.len);
		if (s->skip_to_sync && type != 'S' && type != 'X' && strchr("PBDECH", type) != NULL)
			continue;
		switch (type) {
		case 'Q': {
			const char *q = pgproto_get_str(&m);
			if (m.bad) {
				send_fatal(s, ERR_BAD_REQUEST, "malformed Query message");
				return;
			}
			simple_query(s, q, strlen(q));
			break;
		}
		case 'P':
			msg_parse(s, &m);
			break;
		case 'B':
			msg_bind(s, &m);
			break;
		case 'D':
			msg_describe(s, &m);
			break;
		case 'E':
			msg_execute(s, &m);
			break;
		case 'C':
			msg_close(s, &m);
			break;
		case 'H':
			conn_flush(&s->c);
			break;
		case 'S':
			s->skip_to_sync = 0;
			/* portals end with their implicit transaction (cursors
			 * WITH HOLD stay) */
			if (s->txn == 'I')
				drop_portals(s, PS_ALL_BUT_HELD);
			ready(s);
			break;
		case 'X':
			return;
		case 'F': {
			Err e = {0};
			err_set(&e, ERR_UNSUPPORTED, "the function call message is not supported; call functions in SQL");
			send_error(s, ERR_UNSUPPORTED, &e, 0);
			ready(s);
			break;
		}
		case 'd':
		case 'c':
		case 'f':
			/* COPY FROM data outside a COPY: PostgreSQL ignores it */
			break;
		default: {
			char msg[80];
			snprintf(msg, sizeof(msg), "invalid frontend message type %d", (unsigned char)type);
			send_fatal(s, ERR_BAD_REQUEST, msg);
			return;
		}
		}
		if (s->c.broken)
			return;
	}
}

static void
session_init(Session *s, PgwireServer *srv, Catalog *cat, int fd)
{
	memset(s, 0, sizeof(*s));
	s->srv = srv;
	s->cat = cat;
	s->c.fd = fd;
	buf_init(&s->c.out);
	buf_init(&s->msg);
	s->txn = 'I';
}

static void
session_free(Session *s)
{
	while (s->stmts)
		stmt_drop(s, s->stmts);
	while (s->portals)
		portal_drop(s, s->portals);
	while (s->nsettings > 0)
		setting_drop(s, s->settings[0].name);
	mem_free(s->settings);
	buf_free(&s->c.out);
	buf_free(&s->msg);
	if (s->c.ssl) {
		SSL_shutdown(s->c.ssl);
		SSL_free(s->c.ssl);
	}
}

void
pgwire_fuzz(Catalog *cat, const char *data, size_t len)
{
	Session *s = mem_calloc(1, sizeof(Session));
	if (s == NULL)
		return;
	session_init(s, NULL, cat, -1);
	s->c.mem = data;
	s->c.memlen = len;
	s->loopback = 1;
	session_loop(s);
	session_free(s);
	mem_free(s);
}

/* ---- the listener -------------------------------------------------------------------------- */

typedef struct ConnArg {
	PgwireServer *srv;
	int fd;
	int loopback;
} ConnArg;

static void *
conn_thread(void *arg)
{
	ConnArg a = *(ConnArg *)arg;
	mem_free(arg);
	PgwireServer *srv = a.srv;
	Session *s = mem_calloc(1, sizeof(Session));
	if (s != NULL) {
		session_init(s, srv, srv->cat, a.fd);
		s->loopback = a.loopback;
		RAND_bytes((unsigned char *)&s->secret, sizeof(s->secret));
		pthread_mutex_lock(&srv->mu);
		s->pid = srv->next_pid++;
		s->next = srv->sessions;
		srv->sessions = s;
		int over = srv->nconns > srv->max_conns;
		pthread_mutex_unlock(&srv->mu);
		if (over)
			send_fatal(s, ERR_BUSY, "sorry, too many clients already");
		else
			session_loop(s);
		conn_flush(&s->c);
		pthread_mutex_lock(&srv->mu);
		for (Session **pp = &srv->sessions; *pp; pp = &(*pp)->next) {
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		}
		pthread_mutex_unlock(&srv->mu);
		session_free(s);
		mem_free(s);
	}
	close(a.fd);
	ERR_clear_error();
	OPENSSL_thread_stop();
	pthread_mutex_lock(&srv->mu);
	srv->nconns--;
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
	return NULL;
}

static void *
listen_thread(void *arg)
{
	PgwireServer *srv = arg;
	while (!atomic_load(&srv->stopping)) {
		struct pollfd pf = {srv->lfd, POLLIN, 0};
		int r = poll(&pf, 1, 200);
		if (r <= 0)
			continue;
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept(srv->lfd, (struct sockaddr *)&peer, &pl);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct timeval tv = {STARTUP_TIMEOUT_S, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		int loopback = 0;
		if (peer.ss_family == AF_INET)
			loopback = (ntohl(((struct sockaddr_in *)&peer)->sin_addr.s_addr) >> 24) == 127;
		else if (peer.ss_family == AF_INET6) {
			const struct in6_addr *a6 = &((struct sockaddr_in6 *)&peer)->sin6_addr;
			loopback = IN6_IS_ADDR_LOOPBACK(a6) ||
				   (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
		}
		ConnArg *ca = mem_alloc(sizeof(ConnArg));
		if (ca == NULL) {
			close(fd);
			continue;
		}
		ca->srv = srv;
		ca->fd = fd;
		ca->loopback = loopback;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_mutex_lock(&srv->mu);
		srv->nconns++;
		pthread_mutex_unlock(&srv->mu);
		pthread_t t;
		if (pthread_create(&t, &at, conn_thread, ca) != 0) {
			mem_free(ca);
			close(fd);
			pthread_mutex_lock(&srv->mu);
			srv->nconns--;
			pthread_mutex_unlock(&srv->mu);
		}
		pthread_attr_destroy(&at);
	}
	return NULL;
}

static int
tls_init(PgwireServer *srv, const PgwireOpts *o, Err *e)
{
	if (o->tls_cert == NULL && o->tls_key == NULL)
		return 0;
	if (o->tls_cert == NULL || o->tls_key == NULL)
		return err_set(e, ERR_INVALID, "--pg-cert and --pg-key go together");
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return err_set(e, ERR_INTERNAL, "cannot create a TLS context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1) {
		SSL_CTX_free(ctx);
		return err_set(e, ERR_INVALID, "cannot load TLS certificate %s", o->tls_cert);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		return err_set(e, ERR_INVALID, "cannot load TLS key %s (or it does not match the certificate)",
			       o->tls_key);
	}
	srv->tls = ctx;
	return 0;
}

int
pgwire_start(Catalog *cat, const PgwireOpts *o, PgwireServer **out, Err *e)
{
	PgwireServer *srv = mem_calloc(1, sizeof(PgwireServer));
	if (srv == NULL)
		return err_set(e, ERR_NOMEM, "out of memory");
	srv->cat = cat;
	srv->lfd = -1;
	srv->max_conns = o->max_conns > 0 ? o->max_conns : 1000;
	srv->next_pid = 1000 + (int32_t)(getpid() % 1000) * 1000;
	snprintf(srv->host, sizeof(srv->host), "%s", o->host ? o->host : "127.0.0.1");
	pthread_mutex_init(&srv->mu, NULL);
	pthread_cond_init(&srv->cv, NULL);
	int rc = 0;
	if (o->users_file && (rc = pgauth_load(o->users_file, &srv->users, e)) != 0)
		goto fail;
	if (o->auth) {
		if ((rc = pgauth_method_parse(o->auth, &srv->auth, e)) != 0)
			goto fail;
		if (srv->auth != PGAUTH_TRUST && srv->users == NULL) {
			rc = err_set(e, ERR_INVALID, "--pg-auth %s needs users (--pg-users FILE)", o->auth);
			goto fail;
		}
	} else {
		srv->auth = srv->users ? PGAUTH_SCRAM : PGAUTH_TRUST;
	}
	if ((rc = tls_init(srv, o, e)) != 0)
		goto fail;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, srv->host, &sa.sin_addr) != 1) {
		rc = err_set(e, ERR_INVALID, "--pg: '%s' is not an IPv4 address", srv->host);
		goto fail;
	}
	srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (srv->lfd < 0 || setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(srv->lfd, 512) != 0) {
		rc = err_set(e, ERR_IO, "cannot listen on %s:%d for the PostgreSQL protocol: %s", srv->host, o->port,
			     strerror(errno));
		goto fail;
	}
	socklen_t sl = sizeof(sa);
	getsockname(srv->lfd, (struct sockaddr *)&sa, &sl);
	srv->port = ntohs(sa.sin_port);
	if (pthread_create(&srv->listener, NULL, listen_thread, srv) != 0) {
		rc = err_set(e, ERR_INTERNAL, "cannot start the PostgreSQL listener thread");
		goto fail;
	}
	*out = srv;
	return 0;
fail:
	if (srv->lfd >= 0)
		close(srv->lfd);
	if (srv->tls)
		SSL_CTX_free(srv->tls);
	pgauth_free(srv->users);
	pthread_mutex_destroy(&srv->mu);
	pthread_cond_destroy(&srv->cv);
	mem_free(srv);
	return rc;
}

int
pgwire_port(const PgwireServer *s)
{
	return s->port;
}

void
pgwire_stop(PgwireServer *srv)
{
	if (srv == NULL)
		return;
	atomic_store(&srv->stopping, 1);
	pthread_join(srv->listener, NULL);
	close(srv->lfd);
	pthread_mutex_lock(&srv->mu);
	for (Session *s = srv->sessions; s; s = s->next) {
		atomic_store(&s->cancel, 1);
		shutdown(s->c.fd, SHUT_RDWR);
	}
	int64_t until = clock_mono_ns() + (int64_t)30 * 1000000000;
	while (srv->nconns > 0 && clock_mono_ns() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&srv->cv, &srv->mu, &ts);
		for (Session *s = srv->sessions; s; s = s->next)
			shutdown(s->c.fd, SHUT_RDWR);
	}
	int left = srv->nconns;
	pthread_mutex_unlock(&srv->mu);
	if (left > 0) {
		/* a thread stuck past 30 s: leave the server's memory to it */
		log_warn("pgwire: %d connection(s) did not close", left);
		return;
	}
	if (srv->tls)
		SSL_CTX_free(srv->tls);
	pgauth_free(srv->users);
	pthread_mutex_destroy(&srv->mu);
	pthread_cond_destroy(&srv->cv);
	mem_free(srv);
}
