/*
 * pqcheck.c -- a libpq client that checks Waybill's PostgreSQL wire protocol
 * (issue 7) the way C programs use it.  Not part of the CMake build: the
 * integration test tests/integration/test_pgwire_clients.py compiles it with
 *   cc tests/pgwire/pqcheck.c -I/usr/include/postgresql -lpq -o pqcheck
 * and runs it against a server that holds the test's typed table.
 *
 * Usage: pqcheck DSN TABLE NROWS SLOW_SQL
 *   DSN       a libpq connection string
 *   TABLE     the typed table the test pushed (columns and the values of
 *             rows 1 and 2 are the KNOWN_* constants below, kept in step
 *             with KNOWN_ROW / NULL_ROW in test_pgwire_clients.py)
 *   NROWS     how many rows TABLE holds (ids 1..NROWS)
 *   SLOW_SQL  a query that runs for many seconds (cancelled by PQcancel)
 *
 * Each check prints one line, "OK name" or "FAIL name: what was wrong",
 * and the program ends with "ALL OK" (exit 0) or "FAILED n" (exit 1).  The
 * checks are independent: a failing one does not stop the others (a check
 * that leaves the connection unusable reconnects for the next one).
 *
 * What is decoded from the binary result format (resultFormat = 1):
 *   int2/int4/int8 in network byte order, float4/float8 (IEEE, network
 *   order), bool (one byte), timestamp/timestamptz (int64 microseconds since
 *   2000-01-01 00:00:00 UTC), numeric (ndigits, weight, sign, dscale, base
 *   10000 digits), bytea (raw bytes), text/varchar/json (UTF-8 bytes), jsonb
 *   (version byte 1 + text), one-dimensional arrays (ndim, hasnull flag,
 *   element type oid, length, lower bound 1, then length-prefixed
 *   elements).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

/* type oids (pg_type.dat) */
#define BOOLOID		16
#define BYTEAOID	17
#define INT8OID		20
#define INT2OID		21
#define INT4OID		23
#define TEXTOID		25
#define JSONOID		114
#define FLOAT4OID	700
#define FLOAT8OID	701
#define INT4ARRAYOID	1007
#define TEXTARRAYOID	1009
#define VARCHARARRAYOID	1015
#define VARCHAROID	1043
#define TIMESTAMPOID	1114
#define TIMESTAMPTZOID	1184
#define NUMERICOID	1700
#define JSONBOID	3802

/* Row id 1 of TABLE (see KNOWN_ROW in the pytest file). */
#define KNOWN_COLS "id, c_int, c_long, c_float, c_double, c_dec, c_bool, c_ts, c_str, c_json, c_bytes, c_mvint, c_mvstr"
#define KNOWN_INT	(-123456)
#define KNOWN_LONG	(-8000000000123LL)
#define KNOWN_FLOAT	1.5f
#define KNOWN_DOUBLE	3.141592653589793
#define KNOWN_DEC	"12345.625"

/* Waybill's types (PQCHECK_WAYBILL_TYPES=1): BIG_DECIMAL is stored and
 * sent as DOUBLE (float8), and there is no 2-byte integer (SMALLINT is
 * INT, int4) -- docs/postgres.md.  Against PostgreSQL: numeric, int2. */
static int waybill_types;
#define KNOWN_TS_US	762529530123000LL	/* 2024-02-29 13:45:30.123 UTC */
#define KNOWN_TS_TEXT	"2024-02-29 13:45:30.123"
#define KNOWN_STR	"h\xc3\xa9llo, w\xc3\xb6rld"
#define KNOWN_JSON_KEY	"\"a\""
#define KNOWN_BYTES	"\x00\xff\x10"
#define KNOWN_BYTES_LEN	3
static const int known_mvint[] = { 3, -1, 7 };
static const char *known_mvstr[] = { "x", "y z" };

static const char *dsn, *table, *slow_sql;
static long nrows;
static int failures;
static char why[1024];		/* reason of the current check's failure */

static int
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return -1;
}

static void
report(const char *name, int rc)
{
	if (rc == 0) {
		printf("OK %s\n", name);
	} else {
		printf("FAIL %s: %s\n", name, why);
		failures++;
	}
	fflush(stdout);
}

static PGconn *
connect_db(void)
{
	PGconn *c = PQconnectdb(dsn);

	if (PQstatus(c) != CONNECTION_OK) {
		fail("PQconnectdb: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* The result of a command that must succeed with `want` status. */
static int
res_ok(PGresult *r, ExecStatusType want, const char *what)
{
	if (r == NULL)
		return fail("%s: no result", what);
	if (PQresultStatus(r) != want)
		return fail("%s: status %s (want %s): %s", what, PQresStatus(PQresultStatus(r)),
			    PQresStatus(want), PQresultErrorMessage(r));
	return 0;
}

static const char *
sqlstate(const PGresult *r)
{
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	return s ? s : "(none)";
}

/* -- network-order decoding ------------------------------------------------ */

static uint16_t
be16(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint16_t)(u[0] << 8 | u[1]);
}

static uint32_t
be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static uint64_t
be64(const char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void
put_be64(char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (char)(v & 0xff);
		v >>= 8;
	}
}

/* Binary numeric -> decimal text with dscale fraction digits. */
static int
numeric_text(const char *p, int len, char *out, size_t cap)
{
	if (len < 8)
		return fail("numeric: %d bytes, want at least 8", len);
	int ndigits = (int16_t)be16(p), weight = (int16_t)be16(p + 2);
	unsigned sign = be16(p + 4);
	int dscale = (int16_t)be16(p + 6);

	if (len != 8 + 2 * ndigits)
		return fail("numeric: length %d does not match ndigits %d", len, ndigits);
	if (sign != 0 && sign != 0x4000)
		return fail("numeric: sign word 0x%04x", sign);
	if (dscale < 0 || dscale > 1000)
		return fail("numeric: dscale %d", dscale);
	char intpart[256] = "", frac[256] = "";
	size_t il = 0, fl = 0;

	for (int w = weight; w >= 0; w--) {	/* integer base-10000 groups */
		int idx = weight - w;
		int d = idx < ndigits ? (int16_t)be16(p + 8 + 2 * idx) : 0;

		if (d < 0 || d > 9999)
			return fail("numeric: digit %d out of range", d);
		il += (size_t)snprintf(intpart + il, sizeof intpart - il, il ? "%04d" : "%d", d);
	}
	if (il == 0)
		il = (size_t)snprintf(intpart, sizeof intpart, "0");
	for (int g = 0; (int)fl < dscale; g++) {	/* fraction groups -1, -2, ... */
		int idx = weight + 1 + g;
		int d = (idx >= 0 && idx < ndigits) ? (int16_t)be16(p + 8 + 2 * idx) : 0;

		fl += (size_t)snprintf(frac + fl, sizeof frac - fl, "%04d", d);
	}
	frac[dscale] = '\0';
	snprintf(out, cap, "%s%s%s%s", sign ? "-" : "", intpart, dscale ? "." : "", frac);
	return 0;
}

/* A one-dimensional binary array; elements' (pointer, length) into el/elen. */
static int
array_elems(const char *p, int len, uint32_t want_elem1, uint32_t want_elem2, int max,
	    const char **el, int *elen, int *n)
{
	if (len < 12)
		return fail("array: %d bytes", len);
	int ndim = (int)be32(p), flags = (int)be32(p + 4);
	uint32_t et = be32(p + 8);

	if (ndim != 1)
		return fail("array: ndim %d, want 1", ndim);
	if (flags != 0 && flags != 1)
		return fail("array: flags %d", flags);
	if (et != want_elem1 && et != want_elem2)
		return fail("array: element type %u, want %u or %u", et, want_elem1, want_elem2);
	if (len < 20)
		return fail("array: %d bytes, no dimension", len);
	int cnt = (int)be32(p + 12), lb = (int)be32(p + 16);

	if (lb != 1)
		return fail("array: lower bound %d, want 1", lb);
	if (cnt < 0 || cnt > max)
		return fail("array: %d elements, want at most %d", cnt, max);
	const char *q = p + 20, *end = p + len;

	for (int i = 0; i < cnt; i++) {
		if (end - q < 4)
			return fail("array: element %d truncated", i);
		int l = (int)be32(q);

		q += 4;
		if (l < 0) {
			el[i] = NULL;
			elen[i] = -1;
			continue;
		}
		if (end - q < l)
			return fail("array: element %d length %d past the end", i, l);
		el[i] = q;
		elen[i] = l;
		q += l;
	}
	if (q != end)
		return fail("array: %d trailing bytes", (int)(end - q));
	*n = cnt;
	return 0;
}

/* -- checks --------------------------------------------------------------- */

static int
check_connect(PGconn *c)
{
	const char *v;

	if (PQprotocolVersion(c) != 3)
		return fail("protocol version %d", PQprotocolVersion(c));
	if (PQserverVersion(c) < 90000)
		return fail("PQserverVersion %d (server_version '%s')", PQserverVersion(c),
			    PQparameterStatus(c, "server_version") ?: "(not sent)");
	v = PQparameterStatus(c, "client_encoding");
	if (v == NULL || strcmp(v, "UTF8") != 0)
		return fail("client_encoding %s, want UTF8", v ?: "(not sent)");
	v = PQparameterStatus(c, "integer_datetimes");
	if (v == NULL || strcmp(v, "on") != 0)
		return fail("integer_datetimes %s, want on", v ?: "(not sent)");
	v = PQparameterStatus(c, "standard_conforming_strings");
	if (v == NULL || strcmp(v, "on") != 0)
		return fail("standard_conforming_strings %s, want on", v ?: "(not sent)");
	v = PQparameterStatus(c, "DateStyle");
	if (v == NULL || strncmp(v, "ISO", 3) != 0)
		return fail("DateStyle %s, want ISO, ...", v ?: "(not sent)");
	if (PQbackendPID(c) == 0)
		return fail("PQbackendPID is 0 (no BackendKeyData)");
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		return fail("transaction status %d after connect, want idle", PQtransactionStatus(c));
	return 0;
}

static int
want_type(PGresult *r, int col, Oid a, Oid b)
{
	Oid t = PQftype(r, col);

	if (t != a && t != b)
		return fail("column %s: type oid %u, want %u%s", PQfname(r, col), t, a,
			    b != a ? (b == 0 ? "" : " or another listed one") : "");
	return 0;
}

static int
check_types_common(PGresult *r)
{
	static const struct { const char *name; Oid a, b; } want[] = {
		{ "id", INT4OID, INT4OID }, { "c_int", INT4OID, INT4OID },
		{ "c_long", INT8OID, INT8OID }, { "c_float", FLOAT4OID, FLOAT4OID },
		{ "c_double", FLOAT8OID, FLOAT8OID }, { "c_dec", NUMERICOID, NUMERICOID },	/* float8 on Waybill */
		{ "c_bool", BOOLOID, BOOLOID }, { "c_ts", TIMESTAMPOID, TIMESTAMPTZOID },
		{ "c_str", TEXTOID, VARCHAROID }, { "c_json", JSONOID, JSONBOID },
		{ "c_bytes", BYTEAOID, BYTEAOID }, { "c_mvint", INT4ARRAYOID, INT4ARRAYOID },
		{ "c_mvstr", TEXTARRAYOID, VARCHARARRAYOID },
	};

	if (PQntuples(r) != 1)
		return fail("%d rows, want 1", PQntuples(r));
	if (PQnfields(r) != (int)(sizeof want / sizeof want[0]))
		return fail("%d columns, want %zu", PQnfields(r), sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		if (strcmp(PQfname(r, (int)i), want[i].name) != 0)
			return fail("column %zu is named %s, want %s", i, PQfname(r, (int)i), want[i].name);
		Oid a = want[i].a, b = want[i].b;
		if (waybill_types && a == NUMERICOID)
			a = b = FLOAT8OID;
		if (want_type(r, (int)i, a, b))
			return -1;
		if (PQgetisnull(r, 0, (int)i))
			return fail("column %s is NULL", want[i].name);
	}
	return 0;
}

static int
check_text_types(PGconn *c)
{
	char sql[512];
	PGresult *r;
	int rc = -1;

	snprintf(sql, sizeof sql, "SELECT " KNOWN_COLS " FROM %s WHERE id = 1", table);
	r = PQexec(c, sql);
	if (res_ok(r, PGRES_TUPLES_OK, "PQexec") || check_types_common(r))
		goto out;
	for (int i = 0; i < PQnfields(r); i++) {
		if (PQfformat(r, i) != 0) {
			fail("column %s: format %d, want text", PQfname(r, i), PQfformat(r, i));
			goto out;
		}
	}
#define TXT(col, want) do { \
		const char *g_ = PQgetvalue(r, 0, col); \
		if (strcmp(g_, want) != 0) { \
			fail("column %s: text '%s', want '%s'", PQfname(r, col), g_, want); \
			goto out; \
		} \
	} while (0)
	TXT(0, "1");
	TXT(1, "-123456");
	TXT(2, "-8000000000123");
	TXT(3, "1.5");
	TXT(4, "3.141592653589793");
	TXT(5, KNOWN_DEC);
	TXT(6, "t");
	if (PQftype(r, 7) == TIMESTAMPTZOID)
		TXT(7, KNOWN_TS_TEXT "+00");
	else
		TXT(7, KNOWN_TS_TEXT);
	TXT(8, KNOWN_STR);
	if (strstr(PQgetvalue(r, 0, 9), KNOWN_JSON_KEY) == NULL) {
		fail("c_json: text '%s' has no key %s", PQgetvalue(r, 0, 9), KNOWN_JSON_KEY);
		goto out;
	}
	TXT(10, "\\x00ff10");
	TXT(11, "{3,-1,7}");
	TXT(12, "{x,\"y z\"}");
#undef TXT
	rc = 0;
out:
	PQclear(r);
	return rc;
}

static int
check_binary_types(PGconn *c)
{
	char sql[512], num[300];
	PGresult *r;
	int rc = -1;
	const char *v, *el[16];
	int elen[16], n;

	snprintf(sql, sizeof sql, "SELECT " KNOWN_COLS " FROM %s WHERE id = $1", table);
	const char *pv[1] = { "1" };

	r = PQexecParams(c, sql, 1, NULL, pv, NULL, NULL, 1);
	if (res_ok(r, PGRES_TUPLES_OK, "PQexecParams") || check_types_common(r))
		goto out;
	for (int i = 0; i < PQnfields(r); i++) {
		if (PQfformat(r, i) != 1) {
			fail("column %s: format %d, want binary", PQfname(r, i), PQfformat(r, i));
			goto out;
		}
	}
#define LEN(col, want) do { \
		if (PQgetlength(r, 0, col) != (want)) { \
			fail("column %s: %d bytes in binary, want %d", PQfname(r, col), \
			     PQgetlength(r, 0, col), (int)(want)); \
			goto out; \
		} \
		v = PQgetvalue(r, 0, col); \
	} while (0)
	LEN(0, 4);
	if ((int32_t)be32(v) != 1) {
		fail("id: %d, want 1", (int32_t)be32(v));
		goto out;
	}
	LEN(1, 4);
	if ((int32_t)be32(v) != KNOWN_INT) {
		fail("c_int: %d, want %d", (int32_t)be32(v), KNOWN_INT);
		goto out;
	}
	LEN(2, 8);
	if ((int64_t)be64(v) != KNOWN_LONG) {
		fail("c_long: %lld, want %lld", (long long)(int64_t)be64(v), KNOWN_LONG);
		goto out;
	}
	LEN(3, 4);
	{
		uint32_t u = be32(v);
		float f;

		memcpy(&f, &u, 4);
		if (f != KNOWN_FLOAT) {
			fail("c_float: %g (bits 0x%08x), want %g", f, u, KNOWN_FLOAT);
			goto out;
		}
	}
	LEN(4, 8);
	{
		uint64_t u = be64(v);
		double d;

		memcpy(&d, &u, 8);
		if (d != KNOWN_DOUBLE) {
			fail("c_double: %.17g, want %.17g", d, KNOWN_DOUBLE);
			goto out;
		}
	}
	v = PQgetvalue(r, 0, 5);
	if (waybill_types) {
		uint64_t u;
		double d;

		if (PQgetlength(r, 0, 5) != 8) {
			fail("c_dec: %d bytes, want a float8", PQgetlength(r, 0, 5));
			goto out;
		}
		u = be64(v);
		memcpy(&d, &u, 8);
		snprintf(num, sizeof num, "%.3f", d);
	} else if (numeric_text(v, PQgetlength(r, 0, 5), num, sizeof num))
		goto out;
	if (strcmp(num, KNOWN_DEC) != 0) {
		fail("c_dec: binary numeric decodes to %s, want %s", num, KNOWN_DEC);
		goto out;
	}
	LEN(6, 1);
	if (v[0] != 1) {
		fail("c_bool: byte %d, want 1", v[0]);
		goto out;
	}
	LEN(7, 8);
	if ((int64_t)be64(v) != KNOWN_TS_US) {
		fail("c_ts: %lld us since 2000-01-01, want %lld", (long long)(int64_t)be64(v), KNOWN_TS_US);
		goto out;
	}
	LEN(8, (int)strlen(KNOWN_STR));
	if (memcmp(v, KNOWN_STR, strlen(KNOWN_STR)) != 0) {
		fail("c_str: bytes differ");
		goto out;
	}
	v = PQgetvalue(r, 0, 9);
	{
		int l = PQgetlength(r, 0, 9);
		char buf[512];

		if (PQftype(r, 9) == JSONBOID) {
			if (l < 1 || v[0] != 1) {
				fail("c_json: jsonb version byte %d, want 1", l ? v[0] : -1);
				goto out;
			}
			v++;
			l--;
		}
		if (l <= 0 || l >= (int)sizeof buf) {
			fail("c_json: %d bytes", l);
			goto out;
		}
		memcpy(buf, v, (size_t)l);
		buf[l] = '\0';
		if (buf[0] != '{' || strstr(buf, KNOWN_JSON_KEY) == NULL) {
			fail("c_json: binary '%s' is not the object", buf);
			goto out;
		}
	}
	LEN(10, KNOWN_BYTES_LEN);
	if (memcmp(v, KNOWN_BYTES, KNOWN_BYTES_LEN) != 0) {
		fail("c_bytes: bytes differ");
		goto out;
	}
	v = PQgetvalue(r, 0, 11);
	if (array_elems(v, PQgetlength(r, 0, 11), INT4OID, INT4OID, 16, el, elen, &n))
		goto out;
	if (n != 3) {
		fail("c_mvint: %d elements, want 3", n);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (elen[i] != 4 || (int32_t)be32(el[i]) != known_mvint[i]) {
			fail("c_mvint[%d]: length %d value %d, want %d", i, elen[i],
			     elen[i] == 4 ? (int32_t)be32(el[i]) : 0, known_mvint[i]);
			goto out;
		}
	}
	v = PQgetvalue(r, 0, 12);
	if (array_elems(v, PQgetlength(r, 0, 12), TEXTOID, VARCHAROID, 16, el, elen, &n))
		goto out;
	if (n != 2) {
		fail("c_mvstr: %d elements, want 2", n);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (elen[i] != (int)strlen(known_mvstr[i]) || memcmp(el[i], known_mvstr[i], (size_t)elen[i]) != 0) {
			fail("c_mvstr[%d] differs from '%s'", i, known_mvstr[i]);
			goto out;
		}
	}
#undef LEN
	rc = 0;
out:
	PQclear(r);
	return rc;
}

/* int2/int4/int8 in network order, and a numeric that needs a sign. */
static int
check_binary_ints(PGconn *c)
{
	char num[300];
	int rc = -1;
	PGresult *r = PQexecParams(c, "SELECT CAST(-1234 AS SMALLINT) AS a, CAST(-123456 AS INTEGER) AS b, "
				   "CAST(-8000000000123 AS BIGINT) AS c, CAST(-0.5 AS NUMERIC) AS d, "
				   "CAST(1 AS BOOLEAN) = false AS e",
				   0, NULL, NULL, NULL, NULL, 1);

	if (res_ok(r, PGRES_TUPLES_OK, "PQexecParams"))
		goto out;
	if (PQnfields(r) != 5 || PQntuples(r) != 1) {
		fail("%d columns %d rows, want 5 and 1", PQnfields(r), PQntuples(r));
		goto out;
	}
	Oid i2 = waybill_types ? INT4OID : INT2OID, nu = waybill_types ? FLOAT8OID : NUMERICOID;
	if (want_type(r, 0, i2, i2) || want_type(r, 1, INT4OID, INT4OID) ||
	    want_type(r, 2, INT8OID, INT8OID) || want_type(r, 3, nu, nu) ||
	    want_type(r, 4, BOOLOID, BOOLOID))
		goto out;
	if (waybill_types ? PQgetlength(r, 0, 0) != 4 || (int32_t)be32(PQgetvalue(r, 0, 0)) != -1234
			  : PQgetlength(r, 0, 0) != 2 || (int16_t)be16(PQgetvalue(r, 0, 0)) != -1234) {
		fail("int2: %d bytes, value %d", PQgetlength(r, 0, 0), (int16_t)be16(PQgetvalue(r, 0, 0)));
		goto out;
	}
	if (PQgetlength(r, 0, 1) != 4 || (int32_t)be32(PQgetvalue(r, 0, 1)) != -123456) {
		fail("int4: %d bytes, value %d", PQgetlength(r, 0, 1), (int32_t)be32(PQgetvalue(r, 0, 1)));
		goto out;
	}
	if (PQgetlength(r, 0, 2) != 8 || (int64_t)be64(PQgetvalue(r, 0, 2)) != KNOWN_LONG) {
		fail("int8: %d bytes, value %lld", PQgetlength(r, 0, 2),
		     (long long)(int64_t)be64(PQgetvalue(r, 0, 2)));
		goto out;
	}
	if (waybill_types) {
		uint64_t u = be64(PQgetvalue(r, 0, 3));
		double d;

		memcpy(&d, &u, 8);
		snprintf(num, sizeof num, "%g", d);
	} else if (numeric_text(PQgetvalue(r, 0, 3), PQgetlength(r, 0, 3), num, sizeof num))
		goto out;
	if (strcmp(num, "-0.5") != 0) {
		fail("numeric -0.5 decodes to %s", num);
		goto out;
	}
	if (PQgetlength(r, 0, 4) != 1 || PQgetvalue(r, 0, 4)[0] != 0) {
		fail("bool false: %d bytes, byte %d", PQgetlength(r, 0, 4), PQgetvalue(r, 0, 4)[0]);
		goto out;
	}
	rc = 0;
out:
	PQclear(r);
	return rc;
}

/* Every nullable column of row 2 is NULL, in text and in binary. */
static int
check_nulls(PGconn *c)
{
	char sql[512];
	int rc = -1;
	PGresult *r = NULL;

	snprintf(sql, sizeof sql, "SELECT c_int, c_long, c_float, c_double, c_dec, c_bool, c_ts, c_str, "
		 "c_json, c_bytes FROM %s WHERE id = 2", table);
	for (int fmt = 0; fmt <= 1; fmt++) {
		r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, fmt);
		if (res_ok(r, PGRES_TUPLES_OK, fmt ? "binary" : "text"))
			goto out;
		if (PQntuples(r) != 1) {
			fail("%d rows, want 1", PQntuples(r));
			goto out;
		}
		for (int i = 0; i < PQnfields(r); i++) {
			if (!PQgetisnull(r, 0, i)) {
				fail("%s: column %s is not NULL (%d bytes)", fmt ? "binary" : "text",
				     PQfname(r, i), PQgetlength(r, 0, i));
				goto out;
			}
		}
		PQclear(r);
		r = NULL;
	}
	rc = 0;
out:
	PQclear(r);
	return rc;
}

/* An int8 parameter sent in binary with its type, a text one untyped. */
static int
check_params(PGconn *c)
{
	char sql[512], p1[8];
	int rc = -1;
	PGresult *r;

	snprintf(sql, sizeof sql, "SELECT id, c_str FROM %s WHERE c_long = $1", table);
	put_be64(p1, (uint64_t)KNOWN_LONG);
	{
		Oid types[1] = { INT8OID };
		const char *vals[1] = { p1 };
		int lens[1] = { 8 }, fmts[1] = { 1 };

		r = PQexecParams(c, sql, 1, types, vals, lens, fmts, 0);
	}
	if (res_ok(r, PGRES_TUPLES_OK, "int8 binary parameter"))
		goto out;
	if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "1") != 0) {
		fail("int8 binary parameter: %d rows (first id %s), want id 1", PQntuples(r),
		     PQntuples(r) ? PQgetvalue(r, 0, 0) : "-");
		goto out;
	}
	PQclear(r);
	snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE c_str = $1 AND c_int < $2 AND id <> $3", table);
	{
		const char *vals[3] = { KNOWN_STR, "-100000", "99" };

		r = PQexecParams(c, sql, 3, NULL, vals, NULL, NULL, 0);
	}
	if (res_ok(r, PGRES_TUPLES_OK, "untyped text parameters"))
		goto out;
	if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "1") != 0) {
		fail("untyped text parameters: %d rows, want id 1", PQntuples(r));
		goto out;
	}
	PQclear(r);
	/* a quote in a parameter is data, not SQL */
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE c_str = $1", table);
	{
		const char *vals[1] = { "x' OR '1'='1" };

		r = PQexecParams(c, sql, 1, NULL, vals, NULL, NULL, 0);
	}
	if (res_ok(r, PGRES_TUPLES_OK, "quote in a parameter"))
		goto out;
	if (strcmp(PQgetvalue(r, 0, 0), "0") != 0) {
		fail("quote in a parameter: count %s, want 0", PQgetvalue(r, 0, 0));
		goto out;
	}
	rc = 0;
out:
	PQclear(r);
	return rc;
}

static int
check_prepared(PGconn *c)
{
	char sql[512];
	int rc = -1;
	PGresult *r;

	snprintf(sql, sizeof sql, "SELECT id, c_str FROM %s WHERE id = $1", table);
	r = PQprepare(c, "pq_s1", sql, 0, NULL);
	if (res_ok(r, PGRES_COMMAND_OK, "PQprepare"))
		goto out;
	PQclear(r);
	r = PQdescribePrepared(c, "pq_s1");
	if (res_ok(r, PGRES_COMMAND_OK, "PQdescribePrepared"))
		goto out;
	if (PQnparams(r) != 1 || PQparamtype(r, 0) != INT4OID) {
		fail("PQdescribePrepared: %d params, first type %u, want 1 param of type int4 (23)",
		     PQnparams(r), PQnparams(r) ? PQparamtype(r, 0) : 0);
		goto out;
	}
	if (PQnfields(r) != 2 || strcmp(PQfname(r, 0), "id") != 0 || PQftype(r, 0) != INT4OID ||
	    strcmp(PQfname(r, 1), "c_str") != 0) {
		fail("PQdescribePrepared: %d fields (%s %u, ...), want id int4, c_str", PQnfields(r),
		     PQnfields(r) ? PQfname(r, 0) : "-", PQnfields(r) ? PQftype(r, 0) : 0);
		goto out;
	}
	PQclear(r);
	for (int id = 1; id <= 3; id++) {
		char v[16];
		const char *vals[1] = { v };

		snprintf(v, sizeof v, "%d", id);
		r = PQexecPrepared(c, "pq_s1", 1, vals, NULL, NULL, id == 3);
		if (res_ok(r, PGRES_TUPLES_OK, "PQexecPrepared"))
			goto out;
		if (PQntuples(r) != 1) {
			fail("PQexecPrepared id %d: %d rows", id, PQntuples(r));
			goto out;
		}
		if (id == 3 ? (PQgetlength(r, 0, 0) != 4 || (int32_t)be32(PQgetvalue(r, 0, 0)) != 3)
			    : strcmp(PQgetvalue(r, 0, 0), v) != 0) {
			fail("PQexecPrepared id %d: wrong id back", id);
			goto out;
		}
		PQclear(r);
	}
	/* a second statement with the same name is an error (42P05) */
	r = PQprepare(c, "pq_s1", "SELECT 1", 0, NULL);
	if (PQresultStatus(r) != PGRES_FATAL_ERROR || strcmp(sqlstate(r), "42P05") != 0) {
		fail("PQprepare of an existing name: %s sqlstate %s, want error 42P05",
		     PQresStatus(PQresultStatus(r)), sqlstate(r));
		goto out;
	}
	PQclear(r);
	r = PQexec(c, "DEALLOCATE pq_s1");
	if (res_ok(r, PGRES_COMMAND_OK, "DEALLOCATE"))
		goto out;
	PQclear(r);
	r = PQexecPrepared(c, "pq_s1", 0, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_FATAL_ERROR || strcmp(sqlstate(r), "26000") != 0) {
		fail("PQexecPrepared after DEALLOCATE: %s sqlstate %s, want error 26000",
		     PQresStatus(PQresultStatus(r)), sqlstate(r));
		goto out;
	}
	rc = 0;
out:
	PQclear(r);
	return rc;
}

static int
check_single_row(PGconn *c)
{
	char sql[256];
	PGresult *r;
	long rows = 0, last = 0;
	int done = 0;

	snprintf(sql, sizeof sql, "SELECT id FROM %s ORDER BY id", table);
	if (!PQsendQuery(c, sql))
		return fail("PQsendQuery: %s", PQerrorMessage(c));
	if (!PQsetSingleRowMode(c))
		return fail("PQsetSingleRowMode refused");
	while ((r = PQgetResult(c)) != NULL) {
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_SINGLE_TUPLE) {
			long id = atol(PQgetvalue(r, 0, 0));

			if (PQntuples(r) != 1 || id <= last) {
				PQclear(r);
				while ((r = PQgetResult(c)) != NULL)
					PQclear(r);
				return fail("single-row result %ld: id %ld after %ld", rows, id, last);
			}
			last = id;
			rows++;
		} else if (st == PGRES_TUPLES_OK) {
			if (PQntuples(r) != 0)
				fail("final result has %d rows, want 0", PQntuples(r));
			done = PQntuples(r) == 0 ? 1 : -1;
		} else {
			fail("status %s: %s", PQresStatus(st), PQresultErrorMessage(r));
			done = -1;
		}
		PQclear(r);
	}
	if (done != 1)
		return done == 0 ? fail("no final PGRES_TUPLES_OK") : -1;
	if (rows != nrows)
		return fail("%ld rows, want %ld", rows, nrows);
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
check_cancel(PGconn *c)
{
	char errbuf[256];
	PGcancel *cn;
	PGresult *r;
	int rc = 0, got = 0;
	double t0 = now_s(), el;

	if (!PQsendQuery(c, slow_sql))
		return fail("PQsendQuery: %s", PQerrorMessage(c));
	usleep(500000);
	cn = PQgetCancel(c);
	if (cn == NULL)
		return fail("PQgetCancel returned NULL");
	if (!PQcancel(cn, errbuf, sizeof errbuf))
		rc = fail("PQcancel: %s", errbuf);
	PQfreeCancel(cn);
	while ((r = PQgetResult(c)) != NULL) {
		if (rc == 0 && !got) {
			got = 1;
			if (PQresultStatus(r) != PGRES_FATAL_ERROR || strcmp(sqlstate(r), "57014") != 0)
				rc = fail("slow query ended with %s sqlstate %s (%s), want error 57014",
					  PQresStatus(PQresultStatus(r)), sqlstate(r), PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	el = now_s() - t0;
	if (rc == 0 && el > 5.0)
		rc = fail("cancelled query ended %.1f s after it was sent (cancel sent at 0.5 s)", el);
	if (rc)
		return rc;
	r = PQexec(c, "SELECT 41 + 1");
	if (res_ok(r, PGRES_TUPLES_OK, "query after cancel")) {
		PQclear(r);
		return -1;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "42") != 0)
		rc = fail("query after cancel: %s, want 42", PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

static int
check_errors(PGconn *c)
{
	char sql[256];
	PGresult *r;
	const char *pos, *sev;

	r = PQexec(c, "SELECT * FROM pqcheck_no_such_table");
	if (PQresultStatus(r) != PGRES_FATAL_ERROR || strcmp(sqlstate(r), "42P01") != 0) {
		fail("unknown table: %s sqlstate %s, want error 42P01", PQresStatus(PQresultStatus(r)), sqlstate(r));
		PQclear(r);
		return -1;
	}
	sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	if (sev == NULL || strcmp(sev, "ERROR") != 0) {
		fail("unknown table: severity (V field) %s, want ERROR", sev ?: "(not sent)");
		PQclear(r);
		return -1;
	}
	if (PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) == NULL) {
		fail("unknown table: no message (M field)");
		PQclear(r);
		return -1;
	}
	PQclear(r);
	/* extended protocol: a syntax error with its position */
	r = PQexecParams(c, "SELECT * FORM x", 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_FATAL_ERROR || strcmp(sqlstate(r), "42601") != 0) {
		fail("syntax error: %s sqlstate %s, want error 42601", PQresStatus(PQresultStatus(r)), sqlstate(r));
		PQclear(r);
		return -1;
	}
	pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
	if (pos == NULL || atoi(pos) != 10) {
		fail("syntax error: position %s, want 10 (1-based, at 'FORM')", pos ?: "(not sent)");
		PQclear(r);
		return -1;
	}
	PQclear(r);
	snprintf(sql, sizeof sql, "SELECT no_such_column FROM %s", table);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_FATAL_ERROR || strcmp(sqlstate(r), "42703") != 0) {
		fail("unknown column: %s sqlstate %s, want error 42703", PQresStatus(PQresultStatus(r)), sqlstate(r));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	r = PQexec(c, "SELECT 2");
	if (res_ok(r, PGRES_TUPLES_OK, "query after errors")) {
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

static int
check_simple_forms(PGconn *c)
{
	PGresult *r;

	r = PQexec(c, "");
	if (res_ok(r, PGRES_EMPTY_QUERY, "empty query")) {
		PQclear(r);
		return -1;
	}
	PQclear(r);
	/* PQexec keeps the last result of a multi-statement string */
	r = PQexec(c, "SELECT 1; SELECT 2 AS two");
	if (res_ok(r, PGRES_TUPLES_OK, "two statements")) {
		PQclear(r);
		return -1;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "2") != 0 || strcmp(PQfname(r, 0), "two") != 0) {
		fail("two statements: last result %s = %s, want two = 2", PQfname(r, 0), PQgetvalue(r, 0, 0));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	/* every result of a multi-statement string, through PQsendQuery */
	if (!PQsendQuery(c, "SELECT 1; SELECT 'b'; SELECT 3"))
		return fail("PQsendQuery: %s", PQerrorMessage(c));
	int n = 0;

	while ((r = PQgetResult(c)) != NULL) {
		static const char *want[] = { "1", "b", "3" };

		if (PQresultStatus(r) != PGRES_TUPLES_OK || n >= 3 || strcmp(PQgetvalue(r, 0, 0), want[n]) != 0)
			fail("multi-statement result %d: %s %s", n, PQresStatus(PQresultStatus(r)),
			     PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : PQresultErrorMessage(r));
		else
			n++;
		PQclear(r);
	}
	if (n != 3)
		return fail("multi-statement: %d good results, want 3 (%s)", n, why);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(PGconn *); } checks[] = {
		{ "text_types", check_text_types }, { "binary_types", check_binary_types },
		{ "binary_ints", check_binary_ints }, { "nulls", check_nulls },
		{ "params", check_params }, { "prepared", check_prepared },
		{ "single_row", check_single_row }, { "errors", check_errors },
		{ "simple_forms", check_simple_forms }, { "cancel", check_cancel },
	};
	PGconn *c;

	if (argc != 5) {
		fprintf(stderr, "usage: pqcheck DSN TABLE NROWS SLOW_SQL\n");
		return 2;
	}
	dsn = argv[1];
	waybill_types = getenv("PQCHECK_WAYBILL_TYPES") != NULL;
	table = argv[2];
	nrows = atol(argv[3]);
	slow_sql = argv[4];
	c = connect_db();
	report("connect", c ? check_connect(c) : -1);
	if (c == NULL) {
		printf("FAILED %d\n", failures);
		return 1;
	}
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
		if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) {
			PQfinish(c);
			c = connect_db();
			if (c == NULL) {
				report(checks[i].name, -1);
				continue;
			}
		}
		report(checks[i].name, checks[i].fn(c));
	}
	PQfinish(c);
	if (failures) {
		printf("FAILED %d\n", failures);
		return 1;
	}
	printf("ALL OK\n");
	return 0;
}
