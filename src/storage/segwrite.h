/*
 * segwrite.h -- writes a segment file (docs/segment-format.md) from the
 * published rows of a mutable segment.
 */
#ifndef WB_SEGWRITE_H
#define WB_SEGWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "storage/mutseg.h"
#include "storage/segfile.h"

typedef struct SegColOpt {
	const char *name;	/* column name, stored in the footer (required) */
	int dict;		/* 1: sorted dictionary + bit-packed ids; STRING,
				 * JSON and BYTES always get one */
	int codec;		/* CodecId for the column's row blocks */
	int inverted;		/* 1: inverted index (dictionary columns; ignored
				 * for a raw column) */
	int range;		/* 1: range index: a dictionary column's ranges
				 * of ids (through its inverted or sorted index
				 * when it has one), a raw column's values */
	int bloom;		/* 1: bloom filter over the distinct values */
} SegColOpt;

typedef struct SegWriteSpec {
	const MutSeg *seg;	/* rows [0, nrows) are written */
	size_t nrows;		/* 0: every row published when the write starts */
	const SegColOpt *cols;	/* one per column of seg */
	int sort_col;		/* -1, or a single-value column to sort rows by;
				 * a dictionary column also gets a sorted index */
	int time_col;		/* -1, or an INT/LONG/TIMESTAMP single-value
				 * column whose min/max is the time range */
	const SegSource *sources;
	uint32_t nsources;
	int64_t created_ms;	/* 0: now */
	/* For tests and measurements; 0 means the default. */
	uint32_t version;	/* SEGFILE_VERSION, or 2: the previous layout
				 * (data blocks not framed in sub-blocks) */
	uint32_t sub_rows;	/* SEGFILE_SUB_ROWS: rows per sub-block, a power
				 * of two in [SEGFILE_SUB_MIN, SEGFILE_BLOCK_ROWS] */
} SegWriteSpec;

/* Writes the segment to path: path.tmp, fsync, rename, directory fsync.
 * *bytes_out (may be NULL) gets the file size.  Reads only the MutSeg's
 * published rows and may run while its writer appends.  On failure no
 * file is left behind (the temporary is removed). */
int segwrite_file(const char *path, const SegWriteSpec *spec, uint64_t *bytes_out, Err *e);

#endif
