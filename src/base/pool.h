/*
 * pool.h -- a fixed set of worker threads running parallel-for jobs.
 *
 * pool_run(p, n, fn, arg) calls fn(arg, i) for i in [0, n) spread over the
 * workers and the calling thread, and returns when all calls returned.
 * Several threads may call pool_run at once; their tasks share the
 * workers.  A task must not block on another pool_run's tasks.
 */
#ifndef WB_POOL_H
#define WB_POOL_H

typedef struct Pool Pool;
typedef void (*PoolFn)(void *arg, int i);

/* nthreads <= 0 means one per online CPU.  Returns NULL on failure. */
Pool *pool_create(int nthreads);
void pool_destroy(Pool *p);
int pool_size(const Pool *p);
void pool_run(Pool *p, int n, PoolFn fn, void *arg);

/* The process-wide pool, created on first use. */
Pool *pool_default(void);

#endif
