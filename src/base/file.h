/*
 * file.h -- file helpers with the fsync discipline of DESIGN.md.
 *
 * file_write_atomic writes a temporary file, fsyncs it, renames it over the
 * target and fsyncs the directory, so after a crash the target holds
 * either the old or the new content, never a mix.
 */
#ifndef WB_FILE_H
#define WB_FILE_H

#include <stddef.h>

#include "base/err.h"

int file_write_atomic(const char *path, const void *data, size_t len, Err *e);
/* Reads a whole file into *out (caller frees with mem_free; NUL-terminated
 * for convenience).  ERR_NOT_FOUND when it does not exist. */
int file_read_all(const char *path, char **out, size_t *len, Err *e);
/* mkdir -p. */
int file_mkdirs(const char *path, Err *e);
int file_fsync_dir(const char *dir, Err *e);
int file_exists(const char *path);
/* Removes a directory tree (rm -rf).  Missing is not an error. */
int file_remove_tree(const char *path, Err *e);
/* write(2) all of buf, retrying on EINTR and short writes. */
int file_write_full(int fd, const void *buf, size_t len);

#endif
