/*
 * push.c -- a push-ingest job: decoder -> row batch -> table, with
 * rejected records collected for sys.dead_letters.
 *
 * Memory is bounded: rows accumulate in one RowBatch until PUSH_FLUSH_ROWS
 * rows or PUSH_FLUSH_BYTES of strings, then the batch is written
 * (table_write: durable and visible on return) and reset.  A body small
 * enough for one batch is therefore written atomically.  Rejected records
 * become rows of the dead-letter table (raw bytes sanitized to valid
 * UTF-8, cut at 64 KiB) and are written just before the good rows of the
 * same flush, so each bad record is stored once per accepted flush.
 *
 * The job owns its decoder and batches, and holds a reference to the
 * target table and to sys.dead_letters.
 *
 * Exports: push_begin, push_feed, push_finish, push_progress, push_free.
 */
#include "ingest/push.h"
#include "base/clock.h"
#include "base/mem.h"

#include <stdio.h>
#include <string.h>

#define PUSH_FLUSH_ROWS 65536
#define PUSH_FLUSH_BYTES (32u << 20)
#define PUSH_RAW_MAX (64u << 10)

struct PushJob {
	Catalog *cat;
	Table *table;
	Table *dead;
	Decoder *dec;
	char *source;
	RowBatch rows;
	RowBatch bad;
	PushResult res;
	int failed;
	Err fail_err;
};

static void
copy_trunc(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* Appends s as valid UTF-8 into the arena: invalid bytes become U+FFFD. */
static char *
sanitize(Arena *a, const char *s, size_t n, uint32_t *outlen)
{
	if (n > PUSH_RAW_MAX)
		n = PUSH_RAW_MAX;
	char *d = arena_alloc(a, n * 3 + 1);
	if (d == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		int ok = len > 0 && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] >> 6) == 2;
		if (ok && c == 0)
			ok = 0;
		if (ok) {
			memcpy(d + o, s + i, len);
			o += len;
			i += len;
		} else {
			memcpy(d + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	d[o] = '\0';
	*outlen = (uint32_t)o;
	return d;
}

static void
on_reject(void *ctx, uint64_t line, const char *column, const char *reason,
	  const char *raw, size_t raw_len)
{
	PushJob *j = ctx;
	j->res.rejected++;
	if (j->res.nerrors < PUSH_MAX_ERRORS) {
		PushError *pe = &j->res.errors[j->res.nerrors++];
		pe->line = line;
		copy_trunc(pe->column, sizeof(pe->column), column);
		copy_trunc(pe->reason, sizeof(pe->reason), reason);
	}
	Value *r = rowbatch_add_row(&j->bad);
	if (r == NULL)
		return;
	Arena *a = &j->bad.arena;
	const char *tn = table_name(j->table);
	uint32_t rl = 0;
	char *rs = sanitize(a, raw, raw_len, &rl);
	char *rsn = arena_strdup(a, reason ? reason : "");
	char *cn = column ? arena_strdup(a, column) : NULL;
	r[0] = value_str(TYPE_STRING, tn, (uint32_t)strlen(tn));
	r[1] = value_str(TYPE_STRING, j->source, (uint32_t)strlen(j->source));
	r[2] = value_int(TYPE_LONG, (int64_t)line);
	r[3] = cn ? value_str(TYPE_STRING, cn, (uint32_t)strlen(cn)) : value_null(TYPE_STRING);
	r[4] = value_str(TYPE_STRING, rsn ? rsn : "", rsn ? (uint32_t)strlen(rsn) : 0);
	r[5] = rs ? value_str(TYPE_STRING, rs, rl) : value_null(TYPE_STRING);
	r[6] = value_int(TYPE_TIMESTAMP, clock_wall_ms());
}

static int
flush(PushJob *j, Err *e)
{
	Err local = {0};
	if (e == NULL)
		e = &local;
	int rc = 0;
	if (j->bad.nrows) {
		rc = table_write(j->dead, &j->bad, e);
		rowbatch_reset(&j->bad);
	}
	if (rc == 0 && j->rows.nrows) {
		rc = table_write(j->table, &j->rows, e);
		if (rc == 0)
			j->res.accepted += j->rows.nrows;
		rowbatch_reset(&j->rows);
	}
	if (rc) {
		j->failed = 1;
		j->fail_err = *e;
	}
	return rc;
}

int
push_begin(Catalog *c, Table *t, DecodeFormat fmt, const DecodeOpts *o,
	   const char *source, PushJob **out, Err *e)
{
	PushJob *j = mem_calloc(1, sizeof(PushJob));
	if (j == NULL)
		return err_set(e, ERR_NOMEM, "starting ingest");
	j->cat = c;
	j->table = t;
	table_ref(t);
	j->dead = catalog_get_table(c, "sys.dead_letters");
	j->source = mem_strdup(source ? source : "http");
	rowbatch_init(&j->rows, table_schema(t)->nfields);
	rowbatch_init(&j->bad, j->dead ? table_schema(j->dead)->nfields : 1);
	j->dec = decoder_create(fmt, table_schema(t), o, e);
	if (j->dec == NULL || j->dead == NULL || j->source == NULL) {
		int rc = e && e->code ? e->code : err_set(e, ERR_NOMEM, "starting ingest");
		push_free(j);
		return rc;
	}
	*out = j;
	return 0;
}

int
push_feed(PushJob *j, const char *data, size_t n, Err *e)
{
	if (j->failed) {
		if (e && e->code == 0)
			*e = j->fail_err;
		return j->fail_err.code;
	}
	/* feed in slices so one huge chunk cannot grow the batch unbounded */
	while (n > 0) {
		size_t k = n > (1u << 20) ? (1u << 20) : n;
		if (decoder_feed(j->dec, data, k, &j->rows, on_reject, j) != 0)
			return err_set(e, ERR_NOMEM, "decoding the body");
		j->res.bytes += k;
		data += k;
		n -= k;
		if (j->rows.nrows >= PUSH_FLUSH_ROWS || j->rows.arena.total >= PUSH_FLUSH_BYTES ||
		    j->bad.nrows >= PUSH_FLUSH_ROWS || j->bad.arena.total >= PUSH_FLUSH_BYTES) {
			int rc = flush(j, e);
			if (rc)
				return rc;
		}
	}
	return 0;
}

void
push_progress(const PushJob *j, PushResult *res)
{
	*res = j->res;
}

int
push_finish(PushJob *j, PushResult *res, Err *e)
{
	int rc = 0;
	if (j->failed) {
		if (e && e->code == 0)
			*e = j->fail_err;
		rc = j->fail_err.code;
	} else if (decoder_finish(j->dec, &j->rows, on_reject, j) != 0) {
		rc = err_set(e, ERR_NOMEM, "decoding the body");
	} else {
		rc = flush(j, e);
	}
	if (res)
		*res = j->res;
	return rc;
}

void
push_free(PushJob *j)
{
	if (j == NULL)
		return;
	decoder_free(j->dec);
	rowbatch_free(&j->rows);
	rowbatch_free(&j->bad);
	if (j->dead)
		table_unref(j->dead);
	table_unref(j->table);
	mem_free(j->source);
	mem_free(j);
}
