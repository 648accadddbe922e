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
 * Failure rules (DESIGN.md durability): a failed write is undone by
 * truncating back to the last good end; a failed fsync marks the log
 * FAILED forever, because after a failed fsync the kernel may have
 * dropped dirty pages and retrying would lie.
 *
 * Exports: wal_open, wal_close, wal_append, wal_sync, wal_size,
 * wal_records.
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
		if (fn && (rc = fn(ctx, buf, h[1], e)) != 0)
			break;
		off += WAL_HDR + h[1];
		w->records++;
	}
	mem_free(buf);
	if (rc)
		return rc;
	w->size = off;
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
	int existed = file_exists(path);
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
	if (rc == 0 && !existed) {
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

uint64_t wal_size(const Wal *w) { return w->size; }
uint64_t wal_records(const Wal *w) { return w->records; }
