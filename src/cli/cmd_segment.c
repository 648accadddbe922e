/*
 * cmd_segment.c -- `waybill segment inspect FILE` and `waybill segment
 * verify FILE`: reads a segment file (storage/segfile.h) without a server.
 *
 * inspect prints the footer: format version, size, rows, time range,
 * source positions, creation time, and per column its type, encoding,
 * dictionary size, bytes on disk and decoded, null count and min/max,
 * and its indexes (inverted, sorted, range, bloom) with their bytes.
 * verify checks every block checksum, the padding and every block's
 * contents (indexes included) and prints "ok" (exit 0) or the first damage found (exit 1).
 * A file that cannot be opened is exit 1 with the error; bad usage exit 2.
 * Output goes to the given streams so tests can call the command.
 *
 * Exports: cmd_segment.
 */
#include "cli/cmd.h"
#include "base/buf.h"
#include "base/civil.h"
#include "storage/codec.h"
#include "storage/segfile.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void
seg_usage(FILE *f)
{
	fputs("usage: waybill segment inspect FILE\n"
	      "       waybill segment verify FILE\n"
	      "\n"
	      "inspect  print a segment file's metadata and columns\n"
	      "verify   check every checksum and structure; exit 0 if sound, 1 if not\n",
	      f);
}

static void
print_time(FILE *f, int64_t ms)
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	int64_t rem = ms - days * 86400000;
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	fprintf(f, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ (%" PRId64 ")", y, m, d,
		(int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
		(int)(rem % 1000), ms);
}

/* Min or max of column c as text (dictionary entries shortened). */
static void
minmax_text(SegFile *sf, int c, const SegNum *v, Buf *b)
{
	const SegColInfo *ci = segfile_col(sf, c);
	if (type_is_var(ci->type)) {
		SegDict d;
		Err e = {0};
		if (segfile_dict(sf, c, &d, &e) != 0) {
			buf_puts(b, "(damaged dictionary)");
			return;
		}
		Value val = segfile_dict_value(&d, v->id);
		Buf t;
		buf_init(&t);
		value_format(&val, &t);
		if (t.len > 40) {
			buf_append(b, t.p, 37);
			buf_puts(b, "...");
		} else if (t.p) {
			buf_append(b, t.p, t.len);
		}
		buf_free(&t);
		return;
	}
	Value val = type_is_float(ci->type) ? value_double(ci->type, v->d) : value_int(ci->type, v->i);
	value_format(&val, b);
}

static int
inspect(SegFile *sf, FILE *out)
{
	const SegMeta *m = segfile_meta(sf);
	fprintf(out, "file:        %s\n", segfile_path(sf));
	fprintf(out, "format:      version %u\n", m->version);
	fprintf(out, "bytes:       %" PRIu64 "\n", m->file_bytes);
	fprintf(out, "rows:        %" PRIu64 "\n", m->nrows);
	fprintf(out, "columns:     %d\n", m->ncols);
	fprintf(out, "blocks:      %u\n", m->nblocks);
	fprintf(out, "created:     ");
	print_time(out, m->created_ms);
	fputc('\n', out);
	if (m->time_col >= 0) {
		fprintf(out, "time column: %s", segfile_col(sf, m->time_col)->name);
		if (m->has_time)
			fprintf(out, " [%" PRId64 ", %" PRId64 "]", m->tmin, m->tmax);
		else
			fprintf(out, " (no non-null value)");
		fputc('\n', out);
	} else {
		fprintf(out, "time column: none\n");
	}
	fprintf(out, "sorted by:   %s\n", m->sort_col >= 0 ? segfile_col(sf, m->sort_col)->name : "none");
	fprintf(out, "sources:     %u\n", m->nsources);
	for (uint32_t i = 0; i < m->nsources; i++)
		fprintf(out, "  id %" PRId64 ": [%" PRId64 ", %" PRId64 ")\n", m->sources[i].id,
			m->sources[i].start, m->sources[i].end);
	fprintf(out, "\n%-24s %-10s %-3s %-22s %-5s %12s %12s %10s  %s\n", "column", "type", "mv",
		"encoding", "codec", "stored", "raw", "nulls", "min .. max");
	Buf mm;
	buf_init(&mm);
	for (int c = 0; c < m->ncols; c++) {
		const SegColInfo *ci = segfile_col(sf, c);
		char enc[64];
		if (ci->has_dict)
			snprintf(enc, sizeof(enc), "dict card=%u bits=%u", ci->card, ci->bits);
		else
			snprintf(enc, sizeof(enc), "raw");
		buf_reset(&mm);
		if (ci->has_minmax) {
			minmax_text(sf, c, &ci->min, &mm);
			buf_puts(&mm, " .. ");
			minmax_text(sf, c, &ci->max, &mm);
		} else {
			buf_puts(&mm, "-");
		}
		fprintf(out, "%-24s %-10s %-3s %-22s %-5s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 "  %s\n",
			ci->name, type_name(ci->type), ci->mv ? "yes" : "no", enc,
			/* blocks a codec barely shrinks are stored raw */
			ci->stored_bytes < ci->raw_bytes ? codec_name(ci->codec) : "none",
			ci->stored_bytes, ci->raw_bytes, ci->null_count, mm.p ? mm.p : "");
		if (ci->mv)
			fprintf(out, "%-24s   %" PRIu64 " elements\n", "", ci->nelems);
		if (ci->indexes) {
			static const char *ixn[4] = {"inverted", "sorted", "range", "bloom"};
			fprintf(out, "%-24s   indexes:", "");
			const char *sep = " ";
			for (int i = 0; i < 4; i++) {
				if (!(ci->indexes & (1u << i)))
					continue;
				if (ci->ix_bytes[i])
					fprintf(out, "%s%s %" PRIu64 " bytes", sep, ixn[i], ci->ix_bytes[i]);
				else
					fprintf(out, "%s%s (through the %s index)", sep, ixn[i],
						(ci->indexes & SEGFILE_IX_SORTED) ? "sorted" : "inverted");
				sep = ", ";
			}
			fputc('\n', out);
		}
	}
	buf_free(&mm);
	return 0;
}

/* The command, writing to out and err (tests pass their own streams). */
static int
segment_run(int argc, char **argv, FILE *out, FILE *err)
{
	if (argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		seg_usage(out);
		return 0;
	}
	if (argc != 2 || (strcmp(argv[0], "inspect") != 0 && strcmp(argv[0], "verify") != 0)) {
		seg_usage(err);
		return 2;
	}
	SegFile *sf;
	Err e = {0};
	if (segfile_open(argv[1], &sf, &e) != 0) {
		fprintf(err, "waybill segment %s: %s\n", argv[0], err_msg(&e));
		return 1;
	}
	int rc = 0;
	if (strcmp(argv[0], "inspect") == 0) {
		inspect(sf, out);
	} else if (segfile_verify(sf, &e) != 0) {
		fprintf(err, "waybill segment verify: %s\n", err_msg(&e));
		rc = 1;
	} else {
		const SegMeta *m = segfile_meta(sf);
		fprintf(out, "ok: %s: %" PRIu64 " rows, %d columns, %u blocks verified\n",
			argv[1], m->nrows, m->ncols, m->nblocks);
	}
	segfile_close(sf);
	return rc;
}

int
cmd_segment(int argc, char **argv)
{
	return segment_run(argc, argv, stdout, stderr);
}
