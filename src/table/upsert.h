/*
 * upsert.h -- the upsert state of one partition: the key index (primary
 * key -> the row holding its latest version) and one validity bitmap per
 * segment (bit set = the row is the latest live version of its key).
 *
 * Owned and driven by the partition (partition.c): its writer thread is
 * the only one that decides; queries copy the bitmaps under the state's
 * lock (upsert_view_bits), so each query reads a consistent set.  See
 * upsert.c for the design.
 */
#ifndef WB_UPSERT_H
#define WB_UPSERT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "storage/mutseg.h"
#include "storage/segfile.h"
#include "storage/value.h"

#define UPSERT_MAX_PK 16
#define UPSERT_MAX_CMP 8

struct TableConfig;
struct Schema;

/* What an upsert table asks for, resolved against its schema's columns. */
typedef struct UpsertCfg {
	int on;			/* 0: not an upsert table (nothing below) */
	int partial;		/* PARTIAL mode, else FULL */
	int ncols;
	const char **names;	/* column names, ncols (segment files are read
				 * by name) */
	int npk;
	int pk[UPSERT_MAX_PK];	/* primary-key columns */
	int ncmp;		/* comparison columns; 0: arrival order */
	int cmp[UPSERT_MAX_CMP];
	int *strategy;		/* per column TBL_UPS_* (PARTIAL) */
	int delete_col;		/* -1 or deleteRecordColumn */
	int ooo_col;		/* -1 or outOfOrderRecordColumn */
	int drop_ooo;		/* dropOutOfOrderRecord */
	double deleted_keys_ttl;	/* comparison units; 0 = keep */
	double metadata_ttl;
	int hash_bits;		/* tests: keep only this many bits of a
				 * non-integer key's hash (0 = all 64), to
				 * force collisions */
} UpsertCfg;

/* Fills *out from a table config and its schema; out->on = 0 when the
 * table is not an upsert table.  Strings and arrays point into c, s and
 * out's own allocations: release with upsert_cfg_free. */
int upsert_cfg_build(const struct TableConfig *c, const struct Schema *s, UpsertCfg *out, Err *e);
void upsert_cfg_free(UpsertCfg *cfg);

typedef struct Upsert Upsert;

/* Creates the state for a partition with columns cols (cfg copied). */
int upsert_new(const UpsertCfg *cfg, const ColDesc *cols, Upsert **out, Err *e);
void upsert_free(Upsert *u);

/* Segments, by their sequence number in the partition (< 2^32).
 * add: a segment the state must know (borrowed; mut or file set), with
 * rows rows so far (the mutable segment: 0, or its replayed rows).
 * set_file: a sealed segment's rows are now read from file (same rows).
 * set_mut: the mutable segment was rebuilt (a column change; same rows).
 * drop: the segment is gone (retention, quarantine): its keys are
 * forgotten.  add, set_file, set_mut and drop take the state's lock. */
int upsert_seg_add(Upsert *u, uint64_t seq, const MutSeg *mut, SegFile *file, Err *e);
void upsert_seg_set_file(Upsert *u, uint64_t seq, SegFile *file);
void upsert_seg_set_mut(Upsert *u, uint64_t seq, const MutSeg *mut);
void upsert_seg_drop(Upsert *u, uint64_t seq);
/* Log replay starts segment seq over in mut (a restating log file): its
 * rows, bits and key entries are forgotten; replay decides them again. */
void upsert_seg_reset(Upsert *u, uint64_t seq, const MutSeg *mut);

/* Writer thread.  prepare: decides each row of in, to be appended to
 * segment seq from row base on: the rows to store go to *out (in itself
 * when nothing changes: *out = in; else rows built in scratch, valid
 * until the next prepare), key index updated, bitmap changes kept for
 * commit.  stored = 1: in holds rows as stored before (log replay): they
 * are decided, never merged, dropped or rewritten.  Several prepares may precede one commit (a group).
 * commit: applies the group's bitmap changes and calls publish(arg)
 * (which publishes the rows) under the lock, so a query sees both or
 * neither.  rollback: undoes the group's key-index changes (the rows
 * were not stored). */
int upsert_prepare(Upsert *u, const RowBatch *in, uint64_t seq, size_t base, int stored,
		   const RowBatch **out, Err *e);
void upsert_commit(Upsert *u, void (*publish)(void *), void *arg);
void upsert_rollback(Upsert *u);

/* Copies the validity bits of rows [0, rows) of segment seq into a new
 * array (*bits, caller frees with mem_free; NULL when rows is 0) and
 * counts them.  Caller holds upsert_lock, so several segments' copies are
 * consistent with each other and with the rows published. */
int upsert_view_bits(Upsert *u, uint64_t seq, size_t rows, uint64_t **bits, size_t *nvalid);
void upsert_lock(Upsert *u);
void upsert_unlock(Upsert *u);
/* Changes since creation (a query view can be reused while unchanged);
 * read under upsert_lock. */
uint64_t upsert_version(const Upsert *u);

/* Persistence.  snapshot_take (writer, between groups): copies the
 * bitmaps of every segment with seq <= upto, and marks the rows holding
 * deleted keys' latest versions, into a blob (caller frees).  The blob
 * written as a file (upsert_snapshot_write, atomically) lets the next
 * open skip rebuilding.  load (at open, after every sealed segment was
 * added): if the file covers every segment added with their row counts,
 * restores the bitmaps and the key index from it and returns 1; 0 when it
 * does not apply (caller rebuilds); a damaged file is ERR_CORRUPT.
 * rebuild: scans the added segments in order, as if their rows arrived
 * again. */
int upsert_snapshot_take(Upsert *u, uint64_t upto, void **blob, size_t *len, Err *e);
int upsert_snapshot_write(const char *path, const void *blob, size_t len, Err *e);
int upsert_load(Upsert *u, const char *path, Err *e);
int upsert_rebuild(Upsert *u, Err *e);
/* The segment numbers a snapshot file at path covers end with this (0
 * when unreadable). */
uint64_t upsert_snapshot_upto(const char *path);

/* Periodic work between groups (writer): forgets keys past metadataTTL
 * / deletedKeysTTL and entries of dropped segments. */
void upsert_maintain(Upsert *u);

/* A column change: column i of the new layout was old column map[i] (-1:
 * a new column, never a key). */
int upsert_remap(Upsert *u, int ncols, const ColDesc *cols, const char **names, const int *map,
		 Err *e);

/* 1 if the writer reads column c of stored rows back (key, comparison
 * and delete columns): sealing keeps those cheap to read at random. */
int upsert_col_read(const Upsert *u, int c);

typedef struct UpsertStats {
	uint64_t keys;		/* entries in the key index */
	uint64_t index_bytes;	/* memory of the key index */
	uint64_t deleted;	/* entries for deleted keys */
	uint64_t out_of_order;	/* rows older than their key's latest */
	uint64_t collisions;	/* equal hashes of distinct keys seen */
} UpsertStats;
void upsert_stats(Upsert *u, UpsertStats *st);

#endif
