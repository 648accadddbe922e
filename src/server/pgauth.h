/*
 * pgauth.h -- PostgreSQL authentication for the wire server: the users
 * file, cleartext and MD5 password checks, and the server side of
 * SCRAM-SHA-256 (RFC 5802 / 7677, as PostgreSQL runs it).
 */
#ifndef WB_PGAUTH_H
#define WB_PGAUTH_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

typedef enum PgAuthMethod {
	PGAUTH_TRUST = 0,
	PGAUTH_PASSWORD,	/* cleartext */
	PGAUTH_MD5,
	PGAUTH_SCRAM
} PgAuthMethod;

typedef struct PgUsers PgUsers;

/* Parses "trust", "password", "md5" or "scram-sha-256". */
int pgauth_method_parse(const char *s, PgAuthMethod *m, Err *e);
const char *pgauth_method_name(PgAuthMethod m);

/* Loads a users file: one "name:secret" per line (# comments, blank
 * lines).  The secret is a password, PostgreSQL's "md5<32 hex>" hash of
 * password+name, or a SCRAM verifier
 * "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" (base64).
 * Errors name the line. */
int pgauth_load(const char *path, PgUsers **out, Err *e);
void pgauth_free(PgUsers *u);
int pgauth_count(const PgUsers *u);

/* Cleartext password check; 0 = accepted. */
int pgauth_check_password(const PgUsers *u, const char *user, const char *password);
/* MD5: response is "md5" + md5hex(md5hex(password + user) + salt).
 * Users known only by a SCRAM verifier cannot pass (PostgreSQL runs SCRAM
 * for them instead: pgauth_has_md5 says which). */
int pgauth_has_md5(const PgUsers *u, const char *user);
int pgauth_check_md5(const PgUsers *u, const char *user, const unsigned char salt[4],
		     const char *response);

/* SCRAM-SHA-256 exchange state, one per connection. */
typedef struct PgScram {
	int step;			/* 0 before first, 1 after, 2 done */
	int known;			/* the user exists */
	int iterations;
	unsigned char salt[16];
	size_t saltlen;
	unsigned char stored_key[32];
	unsigned char server_key[32];
	char nonce[96];			/* client nonce + server nonce */
	char client_first_bare[512];
	char server_first[256];
} PgScram;

/* Takes the client-first-message (of SASLInitialResponse) and writes the
 * server-first-message to out.  An unknown user gets a made-up exchange
 * that fails at the end, like a wrong password. */
int pgauth_scram_first(PgScram *s, const PgUsers *u, const char *user, const char *msg, size_t n,
		       Buf *out, Err *e);
/* Takes the client-final-message; on a valid proof writes the
 * server-final-message ("v=...") to out and returns 0. */
int pgauth_scram_final(PgScram *s, const char *msg, size_t n, Buf *out, Err *e);

#endif
