/*
 * pgauth.c -- who may connect to the PostgreSQL wire server, and the
 * three password exchanges PostgreSQL clients speak: cleartext, MD5 and
 * SCRAM-SHA-256.
 *
 * Users come from a file (waybill serve --pg-users FILE), read once at
 * start: "name:secret" lines, where the secret is a password or one of
 * PostgreSQL's stored forms (pg_authid.rolpassword): "md5" + hex MD5 of
 * password+name, or "SCRAM-SHA-256$iter:salt$StoredKey:ServerKey".  A
 * plain password is turned into both stored forms at load time (SCRAM
 * with a random 16-byte salt and 4096 iterations, as PostgreSQL does),
 * so the plain text is not kept.  Passwords are used as bytes (no
 * SASLprep: it is the identity for ASCII passwords).
 *
 * SCRAM (RFC 5802/7677) as PostgreSQL runs it: the mechanism is
 * SCRAM-SHA-256 without channel binding (gs2 header "n,," or "y,,"); the
 * user name in the client-first-message is ignored, the startup packet's
 * is used.  The server checks the proof -- H(ClientProof XOR
 * HMAC(StoredKey, AuthMessage)) == StoredKey -- in constant time and
 * proves itself with HMAC(ServerKey, AuthMessage).  An unknown user gets
 * a mock exchange (salt derived from the name) so a client cannot tell
 * unknown users from wrong passwords.  Crypto is OpenSSL's (PBKDF2,
 * HMAC, SHA-256, MD5, base64, random bytes).
 *
 * Exports: pgauth_method_parse, pgauth_method_name, pgauth_load,
 * pgauth_free, pgauth_count, pgauth_check_password, pgauth_has_md5,
 * pgauth_check_md5, pgauth_scram_first, pgauth_scram_final.
 */
#include "server/pgauth.h"
#include "base/file.h"
#include "base/mem.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCRAM_ITER 4096

typedef struct PgUser {
	char *name;
	int has_md5;
	char md5[36];		/* "md5" + 32 hex */
	int has_scram;
	int iterations;
	unsigned char salt[16];
	size_t saltlen;
	unsigned char stored_key[32];
	unsigned char server_key[32];
} PgUser;

struct PgUsers {
	int n;
	PgUser *v;
};

int
pgauth_method_parse(const char *s, PgAuthMethod *m, Err *e)
{
	if (strcasecmp(s, "trust") == 0)
		*m = PGAUTH_TRUST;
	else if (strcasecmp(s, "password") == 0)
		*m = PGAUTH_PASSWORD;
	else if (strcasecmp(s, "md5") == 0)
		*m = PGAUTH_MD5;
	else if (strcasecmp(s, "scram-sha-256") == 0)
		*m = PGAUTH_SCRAM;
	else
		return err_set(e, ERR_INVALID, "unknown authentication method '%s' (trust, password, md5, scram-sha-256)",
			       s);
	return 0;
}

const char *
pgauth_method_name(PgAuthMethod m)
{
	static const char *const n[] = {"trust", "password", "md5", "scram-sha-256"};
	return (unsigned)m < 4 ? n[m] : "?";
}

static void
hex(const unsigned char *d, size_t n, char *out)
{
	static const char h[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = h[d[i] >> 4];
		out[2 * i + 1] = h[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
md5hex(const void *d, size_t n, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_Digest(d, n, md, &len, EVP_md5(), NULL);
	hex(md, 16, out);
}

/* base64 decode of s (n chars) into out (cap bytes); -1 if invalid. */
static int
b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap || n > 4096)
		return -1;
	int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (len < 0)
		return -1;
	if (s[n - 1] == '=')
		len--;
	if (s[n - 2] == '=')
		len--;
	return len;
}

static void
b64_encode(const unsigned char *d, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, d, (int)n);
}

static void
scram_keys(const char *password, const unsigned char *salt, size_t saltlen, int iter,
	   unsigned char stored[32], unsigned char server[32])
{
	unsigned char salted[32], ck[32];
	unsigned int len;
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen, iter, EVP_sha256(), 32, salted);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ck, &len);
	SHA256(ck, 32, stored);
	HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Server Key", 10, server, &len);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ck, sizeof(ck));
}

/* Parses "SCRAM-SHA-256$iter:salt$stored:server" into u. */
static int
parse_scram(PgUser *u, const char *s)
{
	const char *p = s + strlen("SCRAM-SHA-256$");
	char *end;
	long it = strtol(p, &end, 10);
	if (*end != ':' || it < 1 || it > 10000000)
		return -1;
	const char *salt = end + 1, *d1 = strchr(salt, '$');
	if (d1 == NULL)
		return -1;
	const char *sk = d1 + 1, *c = strchr(sk, ':');
	if (c == NULL)
		return -1;
	unsigned char sb[64];
	int sl = b64_decode(salt, (size_t)(d1 - salt), sb, sizeof(sb));
	if (sl <= 0 || (size_t)sl > sizeof(u->salt))
		return -1;
	memcpy(u->salt, sb, (size_t)sl);
	unsigned char k1[48], k2[48];
	int l1 = b64_decode(sk, (size_t)(c - sk), k1, sizeof(k1));
	int l2 = b64_decode(c + 1, strlen(c + 1), k2, sizeof(k2));
	if (sl <= 0 || l1 != 32 || l2 != 32)
		return -1;
	u->saltlen = (size_t)sl;
	u->iterations = (int)it;
	memcpy(u->stored_key, k1, 32);
	memcpy(u->server_key, k2, 32);
	u->has_scram = 1;
	return 0;
}

int
pgauth_load(const char *path, PgUsers **out, Err *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc = file_read_all(path, &text, &len, e);
	if (rc)
		return rc;
	PgUsers *us = mem_calloc(1, sizeof(PgUsers));
	if (us == NULL) {
		mem_free(text);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	int lineno = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		char *colon = strchr(line, ':');
		if (colon == NULL || colon == line || colon[1] == '\0') {
			rc = err_set(e, ERR_BAD_CONFIG, "%s line %d: expected name:password", path, lineno);
			break;
		}
		*colon = '\0';
		const char *secret = colon + 1;
		PgUser *nv = mem_realloc(us->v, sizeof(PgUser) * (size_t)(us->n + 1));
		if (nv == NULL) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			break;
		}
		us->v = nv;
		PgUser *u = &us->v[us->n];
		memset(u, 0, sizeof(*u));
		if ((u->name = mem_strdup(line)) == NULL) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			break;
		}
		us->n++;
		if (strncmp(secret, "SCRAM-SHA-256$", 14) == 0) {
			if (parse_scram(u, secret) != 0) {
				rc = err_set(e, ERR_BAD_CONFIG,
					     "%s line %d: malformed SCRAM verifier for user \"%s\" (expected "
					     "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)",
					     path, lineno, u->name);
				break;
			}
		} else if (strlen(secret) == 35 && strncmp(secret, "md5", 3) == 0 &&
			   strspn(secret + 3, "0123456789abcdef") == 32) {
			memcpy(u->md5, secret, 36);
			u->has_md5 = 1;
		} else {
			Buf pu;
			buf_init(&pu);
			buf_puts(&pu, secret);
			buf_puts(&pu, u->name);
			char h[33];
			md5hex(pu.p, pu.len, h);
			OPENSSL_cleanse(pu.p, pu.len);
			buf_free(&pu);
			snprintf(u->md5, sizeof(u->md5), "md5%s", h);
			u->has_md5 = 1;
			u->saltlen = 16;
			u->iterations = SCRAM_ITER;
			if (RAND_bytes(u->salt, 16) != 1) {
				rc = err_set(e, ERR_INTERNAL, "no random bytes for a SCRAM salt");
				break;
			}
			scram_keys(secret, u->salt, 16, SCRAM_ITER, u->stored_key, u->server_key);
			u->has_scram = 1;
		}
	}
	OPENSSL_cleanse(text, len);
	mem_free(text);
	if (rc == 0 && us->n == 0)
		rc = err_set(e, ERR_BAD_CONFIG, "%s names no users", path);
	if (rc) {
		pgauth_free(us);
		return rc;
	}
	*out = us;
	return 0;
}

void
pgauth_free(PgUsers *u)
{
	if (u == NULL)
		return;
	for (int i = 0; i < u->n; i++)
		mem_free(u->v[i].name);
	if (u->v)
		OPENSSL_cleanse(u->v, sizeof(PgUser) * (size_t)u->n);
	mem_free(u->v);
	mem_free(u);
}

int
pgauth_count(const PgUsers *u)
{
	return u ? u->n : 0;
}

static const PgUser *
find(const PgUsers *u, const char *name)
{
	for (int i = 0; u && i < u->n; i++)
		if (strcmp(u->v[i].name, name) == 0)
			return &u->v[i];
	return NULL;
}

int
pgauth_check_password(const PgUsers *us, const char *user, const char *password)
{
	const PgUser *u = find(us, user);
	if (u == NULL)
		return -1;
	if (u->has_scram) {
		unsigned char st[32], sv[32];
		scram_keys(password, u->salt, u->saltlen, u->iterations, st, sv);
		return CRYPTO_memcmp(st, u->stored_key, 32) == 0 ? 0 : -1;
	}
	Buf pu;
	buf_init(&pu);
	buf_puts(&pu, password);
	buf_puts(&pu, user);
	char h[40];
	h[0] = 'm', h[1] = 'd', h[2] = '5';
	md5hex(pu.p ? pu.p : "", pu.len, h + 3);
	buf_free(&pu);
	return CRYPTO_memcmp(h, u->md5, 35) == 0 ? 0 : -1;
}

int
pgauth_has_md5(const PgUsers *us, const char *user)
{
	const PgUser *u = find(us, user);
	return u == NULL || u->has_md5;	/* unknown users fail in MD5 */
}

int
pgauth_check_md5(const PgUsers *us, const char *user, const unsigned char salt[4], const char *response)
{
	const PgUser *u = find(us, user);
	if (u == NULL || !u->has_md5 || strlen(response) != 35)
		return -1;
	char in[36];
	memcpy(in, u->md5 + 3, 32);
	memcpy(in + 32, salt, 4);
	char h[40];
	h[0] = 'm', h[1] = 'd', h[2] = '5';
	md5hex(in, 36, h + 3);
	return CRYPTO_memcmp(h, response, 35) == 0 ? 0 : -1;
}

/* The value of attribute c ("c=value") in a comma-separated SCRAM
 * message, copied into out; -1 if missing or too long. */
static int
attr(const char *msg, size_t n, char c, char *out, size_t cap)
{
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && msg[j] != ',')
			j++;
		if (j - i >= 2 && msg[i] == c && msg[i + 1] == '=') {
			size_t l = j - i - 2;
			if (l >= cap)
				return -1;
			memcpy(out, msg + i + 2, l);
			out[l] = '\0';
			return 0;
		}
		i = j + 1;
	}
	return -1;
}

int
pgauth_scram_first(PgScram *s, const PgUsers *us, const char *user, const char *msg, size_t n, Buf *out,
		   Err *e)
{
	memset(s, 0, sizeof(*s));
	if (memchr(msg, '\0', n) != NULL || n > 400)
		return err_set(e, ERR_BAD_REQUEST, "malformed SCRAM message");
	/* gs2 header: n,, or y,, (no channel binding), no authzid */
	if (n < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',' || msg[2] != ',')
		return err_set(e, ERR_BAD_REQUEST,
			       "malformed SCRAM message (channel binding is not supported; expected \"n,,\")");
	const char *bare = msg + 3;
	size_t bn = n - 3;
	char cnonce[64];
	if (attr(bare, bn, 'r', cnonce, sizeof(cnonce)) != 0 || cnonce[0] == '\0')
		return err_set(e, ERR_BAD_REQUEST, "malformed SCRAM message (no client nonce)");
	memcpy(s->client_first_bare, bare, bn);
	s->client_first_bare[bn] = '\0';
	const PgUser *u = find(us, user);
	if (u && u->has_scram) {
		s->known = 1;
		s->iterations = u->iterations;
		memcpy(s->salt, u->salt, u->saltlen);
		s->saltlen = u->saltlen;
		memcpy(s->stored_key, u->stored_key, 32);
		memcpy(s->server_key, u->server_key, 32);
	} else {
		/* mock: a stable salt for the name, keys nobody can match */
		unsigned char md[32];
		SHA256((const unsigned char *)user, strlen(user), md);
		memcpy(s->salt, md, 16);
		s->saltlen = 16;
		s->iterations = SCRAM_ITER;
		RAND_bytes(s->stored_key, 32);
		RAND_bytes(s->server_key, 32);
	}
	unsigned char rnd[18];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return err_set(e, ERR_INTERNAL, "no random bytes for a SCRAM nonce");
	char rb[32], sb[32];
	b64_encode(rnd, sizeof(rnd), rb);
	b64_encode(s->salt, s->saltlen, sb);
	snprintf(s->nonce, sizeof(s->nonce), "%s%s", cnonce, rb);
	snprintf(s->server_first, sizeof(s->server_first), "r=%s,s=%s,i=%d", s->nonce, sb, s->iterations);
	buf_puts(out, s->server_first);
	s->step = 1;
	return 0;
}

int
pgauth_scram_final(PgScram *s, const char *msg, size_t n, Buf *out, Err *e)
{
	if (s->step != 1 || memchr(msg, '\0', n) != NULL || n > 400)
		return err_set(e, ERR_BAD_REQUEST, "malformed SCRAM message");
	s->step = 2;
	char cb[16], nonce[128], proof_b64[64];
	if (attr(msg, n, 'c', cb, sizeof(cb)) != 0 || attr(msg, n, 'r', nonce, sizeof(nonce)) != 0 ||
	    attr(msg, n, 'p', proof_b64, sizeof(proof_b64)) != 0)
		return err_set(e, ERR_BAD_REQUEST, "malformed SCRAM message (expected c=, r= and p=)");
	if (strcmp(cb, "biws") != 0 && strcmp(cb, "eSws") != 0)
		return err_set(e, ERR_BAD_REQUEST, "SCRAM channel binding check failed");
	if (strcmp(nonce, s->nonce) != 0)
		return err_set(e, ERR_BAD_REQUEST, "SCRAM nonce mismatch");
	const char *pp = strstr(msg, ",p=");
	if (pp == NULL || (size_t)(pp - msg) > n)
		return err_set(e, ERR_BAD_REQUEST, "malformed SCRAM message");
	unsigned char proof[48];
	if (b64_decode(proof_b64, strlen(proof_b64), proof, sizeof(proof)) != 32)
		return err_set(e, ERR_BAD_REQUEST, "malformed SCRAM proof");
	Buf am;
	buf_init(&am);
	buf_puts(&am, s->client_first_bare);
	buf_putc(&am, ',');
	buf_puts(&am, s->server_first);
	buf_putc(&am, ',');
	buf_append(&am, msg, (size_t)(pp - msg));
	unsigned char sig[32], ck[32], st[32];
	unsigned int len;
	HMAC(EVP_sha256(), s->stored_key, 32, (const unsigned char *)am.p, am.len, sig, &len);
	for (int i = 0; i < 32; i++)
		ck[i] = proof[i] ^ sig[i];
	SHA256(ck, 32, st);
	int ok = s->known && CRYPTO_memcmp(st, s->stored_key, 32) == 0;
	if (ok) {
		unsigned char ssig[32];
		char b64[64];
		HMAC(EVP_sha256(), s->server_key, 32, (const unsigned char *)am.p, am.len, ssig, &len);
		b64_encode(ssig, 32, b64);
		buf_puts(out, "v=");
		buf_puts(out, b64);
	}
	buf_free(&am);
	return ok ? 0 : err_set(e, ERR_INVALID, "password authentication failed");
}
