/*
 * test_wal.c -- the write-ahead log: records replay in order; a torn tail
 * cut at any byte is detected and removed, keeping every whole record
 * before it; a flipped byte ends the replay at the damaged record; appends
 * after a cut continue a well-formed log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "storage/wal.h"

typedef struct Seen {
	int n;
	int bad;
} Seen;

static int
on_record(void *ctx, const char *data, size_t len, Err *e)
{
	Seen *s = ctx;
	char want[64];
	snprintf(want, sizeof(want), "record number %d", s->n);
	if (len != strlen(want) || memcmp(data, want, len) != 0)
		s->bad++;
	s->n++;
	return 0;
}

static void
write_records(const char *path, int from, int to)
{
	Wal *w;
	Err e = {0};
	Seen s = {0};
	assert_int_equal(wal_open(path, on_record, &s, &w, &e), 0);
	for (int i = from; i < to; i++) {
		char rec[64];
		int n = snprintf(rec, sizeof(rec), "record number %d", i);
		assert_int_equal(wal_append(w, rec, (size_t)n, &e), 0);
	}
	assert_int_equal(wal_sync(w, &e), 0);
	wal_close(w);
}

static int
replay_count(const char *path, int *bad)
{
	Wal *w;
	Err e = {0};
	Seen s = {0};
	assert_int_equal(wal_open(path, on_record, &s, &w, &e), 0);
	wal_close(w);
	*bad = s.bad;
	return s.n;
}

static void
test_torn_tail_everywhere(void **state)
{
	char dir[] = "/tmp/wbwal-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[300], copy[300];
	snprintf(path, sizeof(path), "%s/wal.log", dir);
	snprintf(copy, sizeof(copy), "%s/cut.log", dir);
	write_records(path, 0, 5);
	struct stat st;
	stat(path, &st);
	char *data;
	size_t len;
	Err e = {0};
	assert_int_equal(file_read_all(path, &data, &len, &e), 0);
	size_t rec = len / 5;
	for (size_t cut = 0; cut <= len; cut++) {
		assert_int_equal(file_write_atomic(copy, data, cut, &e), 0);
		int bad;
		int n = replay_count(copy, &bad);
		assert_int_equal(bad, 0);
		assert_int_equal(n, (int)(cut / rec));
		/* the tail was cut: the file now ends at the last whole record */
		stat(copy, &st);
		assert_int_equal((size_t)st.st_size, (cut / rec) * rec);
		/* a torn tail is not damage: no side file */
		char side[400];
		snprintf(side, sizeof(side), "%s.damaged-%zu", copy, (cut / rec) * rec);
		assert_false(file_exists(side));
	}
	/* a damaged byte in record 2 ends the replay there; the records after
	 * it are not destroyed but kept in a side file (regression: they were
	 * cut like a torn tail) */
	data[2 * rec + 20] ^= 0x55;
	assert_int_equal(file_write_atomic(copy, data, len, &e), 0);
	int bad;
	assert_int_equal(replay_count(copy, &bad), 2);
	char kept[400];
	snprintf(kept, sizeof(kept), "%s.damaged-%zu", copy, 2 * rec);
	char *tail;
	size_t tlen;
	assert_int_equal(file_read_all(kept, &tail, &tlen, &e), 0);
	assert_int_equal(tlen, len - 2 * rec);
	assert_memory_equal(tail, data + 2 * rec, tlen);
	mem_free(tail);
	/* appending after a cut keeps the log well-formed */
	write_records(copy, 2, 4);
	assert_int_equal(replay_count(copy, &bad), 4);
	assert_int_equal(bad, 0);
	mem_free(data);
	file_remove_tree(dir, &e);
}

/* wal_truncate undoes records appended since a size, and appends resume
 * after the cut (the partition uses it to undo a half-written group). */
static void
test_truncate_undoes_appends(void **state)
{
	char dir[] = "/tmp/wbwal-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[300];
	snprintf(path, sizeof(path), "%s/wal.log", dir);
	write_records(path, 0, 3);
	Wal *w;
	Err e = {0};
	Seen s = {0};
	assert_int_equal(wal_open(path, on_record, &s, &w, &e), 0);
	uint64_t mark = wal_size(w);
	assert_int_equal(wal_records(w), 3);
	assert_int_equal(wal_append(w, "refused 1", 9, &e), 0);
	assert_int_equal(wal_append(w, "refused 2", 9, &e), 0);
	assert_int_equal(wal_truncate(w, mark, &e), 0);
	assert_int_equal(wal_size(w), mark);
	assert_int_equal(wal_records(w), 3);
	assert_int_equal(wal_append(w, "record number 3", 15, &e), 0);
	assert_int_equal(wal_sync(w, &e), 0);
	wal_close(w);
	int bad;
	assert_int_equal(replay_count(path, &bad), 4);
	assert_int_equal(bad, 0);
	file_remove_tree(dir, &e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torn_tail_everywhere),
		cmocka_unit_test(test_truncate_undoes_appends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
