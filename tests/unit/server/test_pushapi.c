/*
 * test_pushapi.c -- POST /tables/{name}/ingest through the real HTTP
 * adapter: answers for unknown tables, formats and delimiters, and many
 * concurrent CSV pushes that each name their columns in a different order
 * (the column list is split per request: it used strtok, whose hidden
 * state is shared by every connection thread).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/file.h"
#include "base/mem.h"
#include "server/server_int.h"

static const char schema_json[] =
	"{\"schemaName\":\"ev\",\"dimensionFieldSpecs\":[{\"name\":\"id\",\"dataType\":\"LONG\"},"
	"{\"name\":\"tag\",\"dataType\":\"STRING\"}],"
	"\"metricFieldSpecs\":[{\"name\":\"v\",\"dataType\":\"DOUBLE\"}]}";
static const char table_json[] =
	"{\"tableName\":\"ev\",\"tableType\":\"REALTIME\",\"segmentsConfig\":{\"schemaName\":\"ev\"},"
	"\"tableIndexConfig\":{},\"tenants\":{},\"metadata\":{}}";

static const HttpRoute routes[] = {
	{"POST", "/tables/*/ingest", NULL, &pushapi_stream},
};

/* POSTs body to path; returns the status, the answer in out. */
static int
post(int port, const char *path, const char *body, char *out, size_t outn)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	char head[1024];
	int hn = snprintf(head, sizeof(head),
			  "POST %s HTTP/1.0\r\nContent-Type: text/csv\r\nContent-Length: %zu\r\n\r\n",
			  path, strlen(body));
	assert_int_equal(write(fd, head, (size_t)hn), hn);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	size_t n = 0;
	ssize_t k;
	while (n < outn - 1 && (k = read(fd, out + n, outn - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = '\0';
	close(fd);
	int status = 0;
	sscanf(out, "HTTP/1.%*d %d", &status);
	return status;
}

typedef struct Pusher {
	int port;
	int order;
	int failures;
} Pusher;

static void *
pusher(void *arg)
{
	Pusher *p = arg;
	char body[4096], out[4096];
	for (int k = 0; k < 60; k++) {
		size_t n = 0;
		for (int i = 0; i < 20; i++) {
			long id = p->order * 100000L + k * 100 + i;
			n += (size_t)snprintf(body + n, sizeof(body) - n,
					      p->order == 0 ? "%ld,a,1.5\n" : "2.5,%ld,b\n", id);
		}
		const char *path = p->order == 0
			? "/tables/ev/ingest?header=false&columns=id,tag,v"
			: "/tables/ev/ingest?header=false&columns=v,id,tag";
		if (post(p->port, path, body, out, sizeof(out)) != 200 ||
		    strstr(out, "\"accepted\":20,\"rejected\":0") == NULL)
			p->failures++;
	}
	return NULL;
}

static void
test_push_api(void **state)
{
	char dir[] = "/tmp/wbpush-XXXXXX";
	assert_non_null(mkdtemp(dir));
	ServerApp app = {0};
	Err e = {0};
	assert_int_equal(catalog_open(dir, &app.cat, &e), 0);
	assert_int_equal(catalog_put_schema(app.cat, schema_json, strlen(schema_json), 0, NULL, &e), 0);
	assert_int_equal(catalog_put_table(app.cat, table_json, strlen(table_json), 0, NULL, NULL, &e), 0);
	HttpServer *s;
	assert_int_equal(http_start("127.0.0.1", 0, routes, 1, &app, &s, &e), 0);
	int port = http_port(s);
	char out[4096];
	assert_int_equal(post(port, "/tables/nope/ingest", "1,a,1\n", out, sizeof(out)), 404);
	assert_int_equal(post(port, "/tables/sys.dead_letters/ingest", "1\n", out, sizeof(out)), 404);
	assert_int_equal(post(port, "/tables/ev/ingest?format=xml", "1\n", out, sizeof(out)), 415);
	assert_int_equal(post(port, "/tables/ev/ingest?delimiter=%22", "1\n", out, sizeof(out)), 400);
	assert_int_equal(post(port, "/tables/ev/ingest?delimiter=ab", "1\n", out, sizeof(out)), 400);
	assert_int_equal(post(port, "/tables/ev/ingest?delimiter=;", "id;tag;v\n7;x;0.5\n", out,
			      sizeof(out)), 200);
	assert_non_null(strstr(out, "\"accepted\":1"));

	Pusher p[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		p[i] = (Pusher){port, i % 2, 0};
		pthread_create(&th[i], NULL, pusher, &p[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		assert_int_equal(p[i].failures, 0);
	http_stop(s);

	/* every row has its own columns: tag a <-> v 1.5, tag b <-> v 2.5 */
	Table *t = catalog_get_table(app.cat, "ev");
	TableSnap snap;
	assert_int_equal(table_snapshot(t, &snap, &e), 0);
	assert_int_equal(snap.total_rows, 1 + 4 * 60 * 20);
	Arena a;
	arena_init(&a, 0);
	size_t bad = 0;
	for (int i = 0; i < snap.nsegs; i++) {
		for (size_t r = 0; r < snap.segs[i].rows; r++) {
			Value tag, v;
			mutcol_value(mutseg_col(snap.segs[i].seg, 1), r, &tag, &a);
			mutcol_value(mutseg_col(snap.segs[i].seg, 2), r, &v, &a);
			if (tag.n == 1 && ((tag.u.s[0] == 'a' && v.u.d != 1.5) ||
					   (tag.u.s[0] == 'b' && v.u.d != 2.5)))
				bad++;
		}
	}
	assert_int_equal(bad, 0);
	arena_free(&a);
	table_snap_free(&snap);
	table_unref(t);
	catalog_close(app.cat);
	file_remove_tree(dir, &e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_api),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	return rc ? rc : (mem_used() != 0);
}
