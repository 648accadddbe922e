/*
 * test_partition.c -- the partition writer's failure paths: a group whose
 * later log record cannot be written (disk full, simulated with
 * RLIMIT_FSIZE) must leave no record of the refused rows in the log, so
 * after a restart exactly the acknowledged rows come back; a failed
 * allocation fails one write, not every later one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "base/file.h"
#include "base/mem.h"
#include "table/partition.h"

/* Rows of every segment of p. */
static size_t
part_rows(Partition *p)
{
	PartView *v = partition_view(p);
	size_t n = 0;
	for (int i = 0; i < v->nsegs; i++)
		n += v->segs[i].state == PART_SEG_MUTABLE ? mutseg_rows(v->segs[i].mut) : v->segs[i].rows;
	partition_view_release(v);
	return n;
}

typedef struct Job {
	Partition *p;
	int seed;
	_Atomic long *acked;
	_Atomic long *refused;
} Job;

static void *
writer(void *arg)
{
	Job *j = arg;
	unsigned seed = (unsigned)j->seed;
	RowBatch b;
	rowbatch_init(&b, 1);
	for (int k = 0; k < 150; k++) {
		rowbatch_reset(&b);
		int n = rand_r(&seed) % 3 == 0 ? 3000 : 1;
		for (int i = 0; i < n; i++) {
			Value *r = rowbatch_add_row(&b);
			r[0] = value_int(TYPE_LONG, i);
		}
		Err e = {0};
		if (partition_write(j->p, &b, &e) == 0)
			atomic_fetch_add(j->acked, n);
		else
			atomic_fetch_add(j->refused, n);
	}
	rowbatch_free(&b);
	return NULL;
}

/* Regression: records of a group written before a later record failed
 * stayed in the log, were made durable by the next group's fsync, and
 * came back at replay although their writers had been told they failed. */
static void
test_disk_full_group_leaves_no_refused_rows(void **state)
{
	char dir[] = "/tmp/wbpart-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char pdir[300];
	snprintf(pdir, sizeof(pdir), "%s/t/p0", dir);
	ColDesc cols[] = {{TYPE_LONG, 0}};
	Partition *p;
	Err e = {0};
	assert_int_equal(partition_open(pdir, 0, 1, cols, NULL, &p, &e), 0);

	signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 400 * 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	_Atomic long acked = 0, refused = 0;
	Job jobs[8];
	pthread_t th[8];
	for (int i = 0; i < 8; i++) {
		jobs[i] = (Job){p, i + 1, &acked, &refused};
		pthread_create(&th[i], NULL, writer, &jobs[i]);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_true(refused > 0);	/* the limit was hit */
	assert_int_equal((long)part_rows((p)), (long)acked);
	/* the partition stays usable after a full disk */
	RowBatch b;
	rowbatch_init(&b, 1);
	Value *r = rowbatch_add_row(&b);
	r[0] = value_int(TYPE_LONG, 7);
	assert_int_equal(partition_write(p, &b, &e), 0);
	rowbatch_free(&b);
	partition_close(p);

	assert_int_equal(partition_open(pdir, 0, 1, cols, NULL, &p, &e), 0);
	assert_int_equal((long)part_rows((p)), (long)acked + 1);
	partition_close(p);
	file_remove_tree(dir, &e);
	assert_int_equal(mem_used(), 0);
}

static void
fill(RowBatch *b, int n)
{
	rowbatch_reset(b);
	for (int i = 0; i < n; i++) {
		Value *r = rowbatch_add_row(b);
		r[0] = value_int(TYPE_LONG, i);
	}
}

/* Regression: one failed allocation while encoding a log record left the
 * partition's encode buffer in its sticky out-of-memory state, so every
 * later write to the partition failed with ERR_NOMEM until a restart. */
static void
test_encode_oom_is_not_sticky(void **state)
{
	char dir[] = "/tmp/wbpart-XXXXXX";
	assert_non_null(mkdtemp(dir));
	ColDesc cols[] = {{TYPE_LONG, 0}};
	Partition *p;
	Err e = {0};
	assert_int_equal(partition_open(dir, 0, 1, cols, NULL, &p, &e), 0);
	RowBatch b;
	rowbatch_init(&b, 1);
	fill(&b, 1);
	assert_int_equal(partition_write(p, &b, &e), 0);	/* segment chunk exists now */
	fill(&b, 1000);
	mem_fail_nth(1);	/* the next allocation: growing the encode buffer */
	assert_int_equal(partition_write(p, &b, &e), ERR_NOMEM);
	mem_fail_nth(0);
	err_clear(&e);
	assert_int_equal(part_rows((p)), 1);
	assert_int_equal(partition_write(p, &b, &e), 0);
	assert_int_equal(part_rows((p)), 1001);
	partition_close(p);
	assert_int_equal(partition_open(dir, 0, 1, cols, NULL, &p, &e), 0);
	assert_int_equal(part_rows((p)), 1001);
	partition_close(p);
	rowbatch_free(&b);
	file_remove_tree(dir, &e);
	assert_int_equal(mem_used(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_full_group_leaves_no_refused_rows),
		cmocka_unit_test(test_encode_oom_is_not_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
