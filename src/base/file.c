/*
 * file.c -- atomic replace, whole-file reads, directory creation and the
 * fsync rules: a new or renamed file is durable only after both the file
 * and its directory were fsynced.  Errors name the path and errno text.
 *
 * Exports: file_write_atomic, file_read_all, file_mkdirs, file_fsync_dir,
 * file_exists, file_remove_tree, file_write_full.
 */
#define _GNU_SOURCE
#include "base/file.h"
#include "base/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
file_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
file_fsync_dir(const char *dir, Err *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return err_set(e, ERR_IO, "open directory %s: %s", dir, strerror(errno));
	if (fsync(fd) != 0) {
		int saved = errno;
		close(fd);
		return err_set(e, ERR_IO, "fsync directory %s: %s", dir, strerror(saved));
	}
	close(fd);
	return 0;
}

int
file_write_atomic(const char *path, const void *data, size_t len, Err *e)
{
	char tmp[4096], dir[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(dir, sizeof(dir), "%s", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(e, ERR_IO, "create %s: %s", tmp, strerror(errno));
	if (file_write_full(fd, data, len) != 0 || fsync(fd) != 0) {
		int saved = errno;
		close(fd);
		unlink(tmp);
		return err_set(e, ERR_IO, "write %s: %s", tmp, strerror(saved));
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		int saved = errno;
		unlink(tmp);
		return err_set(e, ERR_IO, "rename %s: %s", tmp, strerror(saved));
	}
	return file_fsync_dir(dirname(dir), e);
}

int
file_read_all(const char *path, char **out, size_t *len, Err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return err_set(e, ERR_NOT_FOUND, "%s does not exist", path);
		return err_set(e, ERR_IO, "open %s: %s", path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return err_set(e, ERR_IO, "stat %s: %s", path, strerror(errno));
	}
	size_t cap = (size_t)st.st_size + 1, n = 0;
	char *buf = mem_alloc(cap);
	if (buf == NULL) {
		close(fd);
		return err_set(e, ERR_NOMEM, "reading %s", path);
	}
	for (;;) {
		if (n + 1 >= cap) {
			char *nb = mem_realloc(buf, cap * 2);
			if (nb == NULL) {
				mem_free(buf);
				close(fd);
				return err_set(e, ERR_NOMEM, "reading %s", path);
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			mem_free(buf);
			close(fd);
			return err_set(e, ERR_IO, "read %s: %s", path, strerror(saved));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

int
file_mkdirs(const char *path, Err *e)
{
	char buf[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return err_set(e, ERR_INVALID, "bad directory path '%s'", path);
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return err_set(e, ERR_IO, "mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return err_set(e, ERR_IO, "mkdir %s: %s", buf, strerror(errno));
	return 0;
}

int
file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int
file_remove_tree(const char *path, Err *e)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : err_set(e, ERR_IO, "stat %s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d == NULL)
			return err_set(e, ERR_IO, "opendir %s: %s", path, strerror(errno));
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char sub[4096];
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			int rc = file_remove_tree(sub, e);
			if (rc) {
				closedir(d);
				return rc;
			}
		}
		closedir(d);
		if (rmdir(path) != 0)
			return err_set(e, ERR_IO, "rmdir %s: %s", path, strerror(errno));
		return 0;
	}
	if (unlink(path) != 0)
		return err_set(e, ERR_IO, "unlink %s: %s", path, strerror(errno));
	return 0;
}
