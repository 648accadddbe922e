/*
 * test_http.c -- the libmicrohttpd adapter: routing answers, a client
 * that goes away mid-body (the streaming handler's state is freed once,
 * finish is never called), and serving while the process holds more than
 * FD_SETSIZE descriptors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/mem.h"
#include "server/http.h"

static _Atomic int begins, feeds, finishes, frees;

static void
ping(void *app, HttpReq *req, HttpResp *resp)
{
	buf_puts(&resp->body, "{\"pong\":true}");
}

static int
s_begin(void *app, HttpReq *req, HttpResp *resp, void **state)
{
	atomic_fetch_add(&begins, 1);
	*state = mem_alloc(64);
	return 0;
}

static int
s_feed(void *app, void *state, const char *data, size_t n, HttpResp *resp)
{
	atomic_fetch_add(&feeds, 1);
	return 0;
}

static void
s_finish(void *app, void *state, HttpResp *resp)
{
	atomic_fetch_add(&finishes, 1);
}

static void
s_free(void *state)
{
	mem_free(state);
	atomic_fetch_add(&frees, 1);
}

static _Atomic int slow_started;

static void
slow(void *app, HttpReq *req, HttpResp *resp)
{
	atomic_store(&slow_started, 1);
	usleep(300000);
	buf_puts(&resp->body, "{\"slow\":true}");
}

static const HttpStream stream = {s_begin, s_feed, s_finish, s_free};
static const HttpRoute routes[] = {
	{"GET", "/ping", ping, NULL},
	{"POST", "/up/*", NULL, &stream},
	{"GET", "/slow", slow, NULL},
};

static int
connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Sends req and returns the status code of the answer. */
static int
request(int port, const char *req)
{
	int fd = connect_to(port);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	char buf[4096];
	size_t n = 0;
	ssize_t k;
	while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	close(fd);
	int status = 0;
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

static HttpServer *
start(int *port)
{
	HttpServer *s;
	Err e = {0};
	assert_int_equal(http_start("127.0.0.1", 0, routes, 3, NULL, &s, &e), 0);
	*port = http_port(s);
	assert_true(*port > 0);
	return s;
}

static void
test_routes(void **state)
{
	int port;
	HttpServer *s = start(&port);
	assert_int_equal(request(port, "GET /ping HTTP/1.0\r\n\r\n"), 200);
	assert_int_equal(request(port, "GET /nothing HTTP/1.0\r\n\r\n"), 404);
	assert_int_equal(request(port, "DELETE /ping HTTP/1.0\r\n\r\n"), 405);
	assert_int_equal(request(port, "GET /up/x HTTP/1.0\r\n\r\n"), 405);
	http_stop(s);
}

/* A client that sends part of a streamed body and disconnects: the
 * handler's state is freed exactly once and finish is never called. */
static void
test_disconnect_mid_body(void **state)
{
	int port;
	HttpServer *s = start(&port);
	int fd = connect_to(port);
	const char *req = "POST /up/t HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789";
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	for (int i = 0; i < 500 && atomic_load(&feeds) == 0; i++)
		usleep(10000);
	close(fd);
	for (int i = 0; i < 500 && atomic_load(&frees) == 0; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&begins), 1);
	assert_int_equal(atomic_load(&frees), 1);
	assert_int_equal(atomic_load(&finishes), 0);
	http_stop(s);
}

/* Regression: MHD polled with select(), which cannot watch a descriptor
 * at or past FD_SETSIZE; a server holding many files (logs, segments)
 * could not listen or accept any more. */
static void
test_serves_past_fd_setsize(void **state)
{
	struct rlimit old, lim;
	getrlimit(RLIMIT_NOFILE, &old);
	if (old.rlim_max != RLIM_INFINITY && old.rlim_max < FD_SETSIZE + 100) {
		skip();
		return;
	}
	lim = old;
	lim.rlim_cur = FD_SETSIZE + 100;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	int fds[FD_SETSIZE];
	int n = 0;
	for (;;) {
		int fd = open("/dev/null", O_RDONLY);
		assert_true(fd >= 0);
		fds[n++] = fd;
		if (fd >= FD_SETSIZE + 10 || n == FD_SETSIZE)
			break;
	}
	int port;
	HttpServer *s = start(&port);
	assert_int_equal(request(port, "GET /ping HTTP/1.0\r\n\r\n"), 200);
	http_stop(s);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	setrlimit(RLIMIT_NOFILE, &old);
}

typedef struct Client {
	int port;
	int status;
} Client;

static void *
slow_client(void *arg)
{
	Client *c = arg;
	c->status = request(c->port, "GET /slow HTTP/1.0\r\n\r\n");
	return NULL;
}

/* Regression: http_stop (MHD_stop_daemon) cut the sockets of requests
 * still being handled, so a push that had been made durable lost its
 * answer and the client would send it again.  In-flight requests now get
 * their answer; new connections are refused meanwhile. */
static void
test_stop_answers_requests_in_flight(void **state)
{
	int port;
	HttpServer *s = start(&port);
	Client c = {port, 0};
	pthread_t th;
	pthread_create(&th, NULL, slow_client, &c);
	for (int i = 0; i < 500 && !atomic_load(&slow_started); i++)
		usleep(10000);
	http_stop(s);
	pthread_join(th, NULL);
	assert_int_equal(c.status, 200);
	/* the listening socket is closed: nothing accepts on the port */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_not_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_disconnect_mid_body),
		cmocka_unit_test(test_serves_past_fd_setsize),
		cmocka_unit_test(test_stop_answers_requests_in_flight),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	return rc ? rc : (mem_used() != 0);
}
