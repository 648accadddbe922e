/*
 * pool.c -- worker pool for parallel-for jobs.
 *
 * A job is {fn, arg, n, next index, done count}.  Jobs wait in a FIFO list
 * under one mutex; a worker takes the head job, claims indexes with an
 * atomic counter and runs them; the submitting thread claims indexes of
 * its own job too, so a job always progresses even when every worker is
 * busy.  The submitter waits on the job's condition until done == n.
 *
 * Exports: pool_create, pool_destroy, pool_size, pool_run, pool_default.
 */
#include "base/pool.h"
#include "base/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct PoolJob {
	PoolFn fn;
	void *arg;
	int n;
	_Atomic int next;
	int done;		/* under pool mutex */
	int users;		/* workers inside the job, under pool mutex */
	pthread_cond_t cond;
	struct PoolJob *link;
} PoolJob;

struct Pool {
	pthread_mutex_t mu;
	pthread_cond_t work;
	PoolJob *head, *tail;
	int stop;
	int nthreads;
	pthread_t *threads;
};


static int
job_drain(PoolJob *j)
{
	int count = 0;
	for (;;) {
		int i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n)
			break;
		j->fn(j->arg, i);
		count++;
	}
	return count;
}

static void *
worker(void *arg)
{
	Pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->head == NULL)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		PoolJob *j = p->head;
		if (atomic_load(&j->next) >= j->n) {
			/* fully claimed: drop it from the queue */
			p->head = j->link;
			if (p->head == NULL)
				p->tail = NULL;
			continue;
		}
		j->users++;
		pthread_mutex_unlock(&p->mu);
		int c = job_drain(j);
		pthread_mutex_lock(&p->mu);
		j->done += c;
		j->users--;
		if (j->done == j->n && j->users == 0)
			pthread_cond_signal(&j->cond);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

Pool *
pool_create(int nthreads)
{
	if (nthreads <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		nthreads = n > 0 ? (int)n : 1;
	}
	Pool *p = mem_calloc(1, sizeof(Pool));
	if (p == NULL)
		return NULL;
	p->threads = mem_calloc((size_t)nthreads, sizeof(pthread_t));
	if (p->threads == NULL) {
		mem_free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
			break;
		p->nthreads++;
	}
	return p;
}

void
pool_destroy(Pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	mem_free(p->threads);
	mem_free(p);
}

int pool_size(const Pool *p) { return p->nthreads; }

void
pool_run(Pool *p, int n, PoolFn fn, void *arg)
{
	if (n <= 0)
		return;
	if (p == NULL || n == 1 || p->nthreads == 0) {
		for (int i = 0; i < n; i++)
			fn(arg, i);
		return;
	}
	PoolJob j = {.fn = fn, .arg = arg, .n = n, .done = 0, .users = 0, .link = NULL};
	atomic_init(&j.next, 0);
	pthread_cond_init(&j.cond, NULL);
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->link = &j;
	else
		p->head = &j;
	p->tail = &j;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);

	int c = job_drain(&j);
	pthread_mutex_lock(&p->mu);
	j.done += c;
	while (j.done < j.n || j.users > 0)
		pthread_cond_wait(&j.cond, &p->mu);
	/* unlink if still queued (workers drop only fully-claimed heads) */
	PoolJob **pp = &p->head, *prev = NULL;
	while (*pp) {
		if (*pp == &j) {
			*pp = j.link;
			if (p->tail == &j)
				p->tail = prev;
			break;
		}
		prev = *pp;
		pp = &(*pp)->link;
	}
	pthread_mutex_unlock(&p->mu);
	pthread_cond_destroy(&j.cond);
}

static Pool *pool_global;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void
pool_global_init(void)
{
	pool_global = pool_create(0);
}

Pool *
pool_default(void)
{
	pthread_once(&pool_once, pool_global_init);
	return pool_global;
}
