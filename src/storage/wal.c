/*
 * wal.c -- append-only log file with checksummed records.
 *
 * Record: 16-byte header { u32 magic "WBL1", u32 payload length,
 * u32 checksum of payload, u32 checksum of the first 12 header bytes }
 * followed by the payload.  Replay reads records until the file ends or a
 * record fails its checks; everything from that point is a torn tail from
 * a crash (records are acknowledged only after fsync, so a tail that
 * fails was never acknowledged) and is cut with ftruncate + fsync before
 * appends resume.
 *
 * A bad record followed by a valid one is damage, not a torn tail: the
 * bytes from the bad record on are first copied to PATH.damaged-OFFSET
 * (fsynced, logged as an error) and only then cut, so the server keeps
 * serving and no acknowledged record is destroyed; if the copy fails the
 * open fails and nothing is cut.
 *
 * Failure rules (DESIGN.md durability): a failed write is undone by
 * truncating back to the last good end; a failed fsync marks the log
 * FAILED forever, because after a failed fsync the kernel may have
 * dropped dirty pages and retrying would lie.
 *
 * A group whose first records were written but a later one failed is
 * undone with wal_truncate, so records of a refused write never reach a
 * later fsync (and replay).  wal_open always fsyncs the directory, so the
 * file's entry is durable before any record in it is acknowledged, even
 * when an earlier run created the file and died before syncing it.
 *
 * wal_rename moves a log (written and synced under a temporary name) over
 * another one and fsyncs the directory: the rename is the atomic switch
 * from the old log to the new.
 *
 * Exports: wal_open, wal_close, wal_append, wal_sync, wal_truncate,
 * wal_rename, wal_size, wal_records.
 */
#define _GNU_SOURCE
#include "storage/wal.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_MAGIC 0x314c4257u	/* "WBL1" */
#define WAL_HDR 16
#define WAL_MAX_RECORD (1u << 30)

struct Wal {
	int fd;
	char *path;
	uint64_t size;		/* end of the last good record */
	uint64_t records;
	int failed;
};

/* 1 if a record header that passes its checks starts anywhere in
 * (from, fsize): then the bad record at `from` is damage in the middle of
 * the log, not a torn tail (appends resume at the cut, so nothing valid
 * can follow a torn tail). */
static int
later_record(Wal *w, uint64_t from, uint64_t fsize)
{
	enum { BLOCK = 1 << 20 };
	char *b = mem_alloc(BLOCK + WAL_HDR);
	if (b == NULL)
		return 1;	/* cannot tell: treat as damage, keep the bytes */
	int found = 0;
	for (uint64_t pos = from + 1; !found && pos + WAL_HDR <= fsize; pos += BLOCK) {
		size_t want = (size_t)(fsize - pos < BLOCK + WAL_HDR ? fsize - pos : BLOCK + WAL_HDR);
		ssize_t got = pread(w->fd, b, want, (off_t)pos);
		if (got < WAL_HDR)
			break;
		for (size_t i = 0; !found && i + WAL_HDR <= (size_t)got && i < BLOCK; i++) {
			uint32_t h[4];
			memcpy(h, b + i, WAL_HDR);
			found = h[0] == WAL_MAGIC && h[3] == hash_crc(h, 12);
		}
	}
	mem_free(b);
	return found;
}

/* Copies the log's bytes [from, fsize) to PATH.damaged-FROM (fsynced), so
 * cutting damage out of the log never destroys acknowledged records. */
static int
keep_damaged(Wal *w, uint64_t from, uint64_t fsize, Err *e)
{
	char dst[4200];
	snprintf(dst, sizeof(dst), "%s.damaged-%llu", w->path, (unsigned long long)from);
	int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(e, ERR_IO, "open %s: %s", dst, strerror(errno));
	enum { BLOCK = 1 << 20 };
	char *b = mem_alloc(BLOCK);
	int rc = b ? 0 : err_set(e, ERR_NOMEM, "saving damaged log %s", w->path);
	for (uint64_t pos = from; rc == 0 && pos < fsize;) {
		size_t want = (size_t)(fsize - pos < BLOCK ? fsize - pos : BLOCK);
		ssize_t got = pread(w->fd, b, want, (off_t)pos);
		if (got <= 0 || file_write_full(fd, b, (size_t)got) != 0)
			rc = err_set(e, ERR_IO, "saving damaged log to %s: %s", dst, strerror(errno));
		else
			pos += (uint64_t)got;
	}
	mem_free(b);
	if (rc == 0 && fsync(fd) != 0)
		rc = err_set(e, ERR_IO, "fsync %s: %s", dst, strerror(errno));
	close(fd);
	if (rc == 0) {
		char dir[4200];
		snprintf(dir, sizeof(dir), "%s", w->path);
		char *slash = strrchr(dir, '/');
		if (slash) {
			*slash = '\0';
			rc = file_fsync_dir(dir, e);
		}
	}
	if (rc == 0)
		log_error("wal %s: record at byte %llu is damaged and valid records follow; "
			  "bytes %llu..%llu were moved to %s and are not replayed",
			  w->path, (unsigned long long)from, (unsigned long long)from,
			  (unsigned long long)fsize, dst);
	return rc;
}

static int
replay(Wal *w, WalReplayFn fn, void *ctx, Err *e)
{
	struct stat st;
	if (fstat(w->fd, &st) != 0)
		return err_set(e, ERR_IO, "stat %s: %s", w->path, strerror(errno));
	uint64_t fsize = (uint64_t)st.st_size, off = 0;
	char *buf = NULL;
	size_t bufcap = 0;
	int rc = 0;
	int unusable = 0;	/* the owner refused an intact record */
	while (off + WAL_HDR <= fsize) {
		uint32_t h[4];
		if (pread(w->fd, h, WAL_HDR, (off_t)off) != WAL_HDR)
			break;
		if (h[0] != WAL_MAGIC || h[3] != hash_crc(h, 12) || h[1] > WAL_MAX_RECORD ||
		    off + WAL_HDR + h[1] > fsize)
			break;
		if (h[1] > bufcap) {
			char *nb = mem_realloc(buf, h[1]);
			if (nb == NULL) {
				rc = err_set(e, ERR_NOMEM, "replaying %s", w->path);
				break;
			}
			buf = nb;
			bufcap = h[1];
		}
		if (pread(w->fd, buf, h[1], (off_t)(off + WAL_HDR)) != (ssize_t)h[1])
			break;
		if (hash_crc(buf, h[1]) != h[2])
			break;
		if (fn && (rc = fn(ctx, buf, h[1], e)) != 0) {
			if (rc == ERR_CORRUPT) {
				/* an intact record the owner cannot use: keep it and
				 * everything after it aside, serve what came before */
				log_error("wal %s: record %llu at byte %llu cannot be replayed (%s); "
					  "it and the rest of the log are kept aside",
					  w->path, (unsigned long long)w->records,
					  (unsigned long long)off, err_msg(e));
				err_clear(e);
				rc = 0;
				unusable = 1;
			}
			break;
		}
		off += WAL_HDR + h[1];
		w->records++;
	}
	mem_free(buf);
	if (rc)
		return rc;
	w->size = off;
	if (off < fsize && (unusable || later_record(w, off, fsize)) &&
	    (rc = keep_damaged(w, off, fsize, e)) != 0)
		return rc;
	if (off < fsize) {
		log_warn("wal %s: cutting %llu bytes of torn tail after %llu records",
			 w->path, (unsigned long long)(fsize - off),
			 (unsigned long long)w->records);
		if (ftruncate(w->fd, (off_t)off) != 0 || fsync(w->fd) != 0)
			return err_set(e, ERR_IO, "truncate %s: %s", w->path, strerror(errno));
	}
	return 0;
}

int
wal_open(const char *path, WalReplayFn fn, void *ctx, Wal **out, Err *e)
{
	Wal *w = mem_calloc(1, sizeof(Wal));
	if (w == NULL)
		return err_set(e, ERR_NOMEM, "opening %s", path);
	w->path = mem_strdup(path);
	w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (w->path == NULL || w->fd < 0) {
		int rc = err_set(e, ERR_IO, "open %s: %s", path, strerror(errno));
		if (w->fd >= 0)
			close(w->fd);
		mem_free(w->path);
		mem_free(w);
		return rc;
	}
	int rc = replay(w, fn, ctx, e);
	if (rc == 0) {
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash) {
			*slash = '\0';
			rc = file_fsync_dir(dir, e);
		}
	}
	if (rc) {
		close(w->fd);
		mem_free(w->path);
		mem_free(w);
		return rc;
	}
	if (lseek(w->fd, (off_t)w->size, SEEK_SET) < 0) {
		rc = err_set(e, ERR_IO, "seek %s: %s", path, strerror(errno));
		wal_close(w);
		return rc;
	}
	*out = w;
	return 0;
}

void
wal_close(Wal *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	mem_free(w->path);
	mem_free(w);
}

int
wal_append(Wal *w, const void *data, size_t len, Err *e)
{
	if (w->failed)
		return err_set(e, ERR_IO, "write-ahead log %s failed earlier", w->path);
	if (len > WAL_MAX_RECORD)
		return err_set(e, ERR_TOO_LARGE, "log record of %zu bytes", len);
	uint32_t h[4] = {WAL_MAGIC, (uint32_t)len, hash_crc(data, len), 0};
	h[3] = hash_crc(h, 12);
	if (file_write_full(w->fd, h, WAL_HDR) != 0 || file_write_full(w->fd, data, len) != 0) {
		int saved = errno;
		/* undo the partial record so the log stays well-formed */
		if (ftruncate(w->fd, (off_t)w->size) != 0 ||
		    lseek(w->fd, (off_t)w->size, SEEK_SET) < 0)
			w->failed = 1;
		return err_set(e, ERR_IO, "write %s: %s", w->path, strerror(saved));
	}
	w->size += WAL_HDR + len;
	w->records++;
	return 0;
}

int
wal_sync(Wal *w, Err *e)
{
	if (w->failed)
		return err_set(e, ERR_IO, "write-ahead log %s failed earlier", w->path);
	if (fdatasync(w->fd) != 0) {
		w->failed = 1;
		log_error("fsync %s failed: %s; partition stops accepting writes",
			  w->path, strerror(errno));
		return err_set(e, ERR_IO, "fsync %s: %s", w->path, strerror(errno));
	}
	return 0;
}

int
wal_truncate(Wal *w, uint64_t size, Err *e)
{
	if (w->failed)
		return err_set(e, ERR_IO, "write-ahead log %s failed earlier", w->path);
	if (size >= w->size)
		return 0;
	/* count the records being cut (a group's worth: a few headers) */
	uint64_t cut = 0;
	for (uint64_t off = size; off + WAL_HDR <= w->size; cut++) {
		uint32_t h[4];
		if (pread(w->fd, h, WAL_HDR, (off_t)off) != WAL_HDR)
			break;
		off += WAL_HDR + h[1];
	}
	if (ftruncate(w->fd, (off_t)size) != 0 || lseek(w->fd, (off_t)size, SEEK_SET) < 0) {
		w->failed = 1;
		log_error("truncate %s failed: %s; partition stops accepting writes",
			  w->path, strerror(errno));
		return err_set(e, ERR_IO, "truncate %s: %s", w->path, strerror(errno));
	}
	w->size = size;
	w->records = w->records > cut ? w->records - cut : 0;
	return 0;
}

int
wal_rename(Wal *w, const char *newpath, Err *e)
{
	char *np = mem_strdup(newpath);
	if (np == NULL)
		return err_set(e, ERR_NOMEM, "renaming %s", w->path);
	if (rename(w->path, np) != 0) {
		int rc = err_set(e, ERR_IO, "rename %s to %s: %s", w->path, np, strerror(errno));
		mem_free(np);
		return rc;
	}
	mem_free(w->path);
	w->path = np;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", np);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	*slash = '\0';
	return file_fsync_dir(dir, e);
}

uint64_t wal_size(const Wal *w) { return w->size; }
uint64_t wal_records(const Wal *w) { return w->records; }
