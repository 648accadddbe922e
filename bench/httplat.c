/*
 * httplat.c -- a closed-loop HTTP GET latency client for bench/lifecycle.py:
 * one keep-alive connection, one request at a time, each request's latency
 * taken from just before the request is written until the last byte of its
 * answer is read.  Plain sockets, no library: the client costs a few
 * microseconds per request, so it is not what is measured.
 *
 * Build (bench/lifecycle.py does it):  cc -O2 -o httplat bench/httplat.c
 * Usage:  httplat -p PORT -k KEYFILE [-h 127.0.0.1] [-x PREFIX] [-y SUFFIX]
 *                 [-n N] [-d SECONDS] [-w WARMUP] [-s SEED] [-o LATFILE]
 *   -k KEYFILE  one key per line (URL-safe); each request asks for a
 *               random one: GET PREFIX KEY SUFFIX
 *   -x PREFIX   path before the key (default /flows/order/entities/)
 *   -y SUFFIX   what follows the key (default none; e.g. the rest of a
 *               URL-encoded ClickHouse query)
 *   -n N        stop after N timed requests (default 100000)
 *   -d S        or after S seconds, whichever comes first (default 30)
 *   -w W        untimed requests first (default 1000)
 *   -s SEED     of the key choice (default 1)
 *   -o FILE     every latency in microseconds, one a line, in request order
 * Prints one JSON object on stdout: requests, non-200 answers, reconnects
 * (a connection the server closed is reopened, at most 10 times), keys,
 * p50/p90/p99/p999/max/mean in microseconds, requests per second and the
 * mean answer size.  Answers must carry Content-Length or be chunked.
 * Exit status 1 on a connection failure or a malformed answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char rbuf[1 << 16];
static size_t rlen, rpos;
static int fd = -1;

static double
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
connect_to(const char *host, int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "httplat: bad IPv4 address %s\n", host);
		return -1;
	}
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
		fprintf(stderr, "httplat: connect %s:%d: %s\n", host, port, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return s;
}

/* Makes at least one more byte available in rbuf; 0, or -1 at EOF/error. */
static int
fill(void)
{
	if (rpos == rlen)
		rpos = rlen = 0;
	else if (rlen == sizeof(rbuf)) {
		memmove(rbuf, rbuf + rpos, rlen - rpos);
		rlen -= rpos;
		rpos = 0;
	}
	ssize_t n;
	do
		n = read(fd, rbuf + rlen, sizeof(rbuf) - rlen);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	rlen += (size_t)n;
	return 0;
}

/* A line ending in \r\n into line (truncated to cap); -1 on EOF. */
static int
read_line(char *line, size_t cap)
{
	size_t k = 0;
	for (;;) {
		while (rpos < rlen) {
			char c = rbuf[rpos++];
			if (c == '\n') {
				if (k > 0 && line[k - 1] == '\r')
					k--;
				line[k] = '\0';
				return 0;
			}
			if (k + 1 < cap)
				line[k++] = c;
		}
		if (fill() != 0)
			return -1;
	}
}

static int
skip_bytes(size_t n)
{
	while (n > 0) {
		if (rpos == rlen && fill() != 0)
			return -1;
		size_t take = rlen - rpos < n ? rlen - rpos : n;
		rpos += take;
		n -= take;
	}
	return 0;
}

/* Reads one answer; its status into *status and body size into *size. */
static int
read_answer(int *status, size_t *size)
{
	char line[8192];
	if (read_line(line, sizeof(line)) != 0)
		return -1;
	if (sscanf(line, "HTTP/%*d.%*d %d", status) != 1) {
		fprintf(stderr, "httplat: bad status line: %.200s\n", line);
		return -1;
	}
	long long clen = -1;
	int chunked = 0;
	for (;;) {
		if (read_line(line, sizeof(line)) != 0)
			return -1;
		if (line[0] == '\0')
			break;
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			clen = atoll(line + 15);
		else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strstr(line, "chunked"))
			chunked = 1;
	}
	*size = 0;
	if (chunked) {
		for (;;) {
			if (read_line(line, sizeof(line)) != 0)
				return -1;
			size_t n = strtoul(line, NULL, 16);
			if (n == 0)
				return read_line(line, sizeof(line));	/* the empty trailer */
			if (skip_bytes(n + 2) != 0)
				return -1;
			*size += n;
		}
	}
	if (clen < 0) {
		fprintf(stderr, "httplat: answer without Content-Length\n");
		return -1;
	}
	*size = (size_t)clen;
	return skip_bytes((size_t)clen);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)(p * (double)n);
	return v[i >= n ? n - 1 : i];
}

int
main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *prefix = "/flows/order/entities/", *keyfile = NULL,
		   *outfile = NULL, *suffix = "";
	int port = 0;
	long nreq = 100000, warm = 1000;
	double dur = 30;
	uint64_t seed = 1;
	int opt;
	while ((opt = getopt(argc, argv, "h:p:x:y:k:n:d:w:s:o:")) != -1) {
		switch (opt) {
		case 'h': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'x': prefix = optarg; break;
		case 'y': suffix = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'n': nreq = atol(optarg); break;
		case 'd': dur = atof(optarg); break;
		case 'w': warm = atol(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'o': outfile = optarg; break;
		default:
			fprintf(stderr, "usage: httplat -p PORT -k KEYFILE [-h HOST] [-x PREFIX] [-y SUFFIX] [-n N] "
					"[-d SECONDS] [-w WARMUP] [-s SEED] [-o LATFILE]\n");
			return 2;
		}
	}
	if (port <= 0 || keyfile == NULL || nreq <= 0) {
		fprintf(stderr, "httplat: -p PORT and -k KEYFILE are required\n");
		return 2;
	}
	/* keys */
	FILE *kf = fopen(keyfile, "r");
	if (kf == NULL) {
		fprintf(stderr, "httplat: %s: %s\n", keyfile, strerror(errno));
		return 1;
	}
	size_t nkeys = 0, kcap = 1024;
	char **keys = malloc(kcap * sizeof(char *));
	char kl[1024];
	while (fgets(kl, sizeof(kl), kf)) {
		kl[strcspn(kl, "\r\n")] = '\0';
		if (kl[0] == '\0')
			continue;
		if (nkeys == kcap)
			keys = realloc(keys, (kcap *= 2) * sizeof(char *));
		keys[nkeys++] = strdup(kl);
	}
	fclose(kf);
	if (nkeys == 0) {
		fprintf(stderr, "httplat: no keys in %s\n", keyfile);
		return 1;
	}
	double *lat = malloc((size_t)nreq * sizeof(double));
	if ((fd = connect_to(host, port)) < 0)
		return 1;
	uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
	long done = 0, non200 = 0, reconnects = 0;
	double bytes = 0, start = 0, t_end = 0;
	char req[2048];
	for (long i = 0; done < nreq; i++) {
		if (i == warm) {
			start = now_us();
			t_end = start + dur * 1e6;
		}
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		const char *k = keys[x % nkeys];
		int len = snprintf(req, sizeof(req), "GET %s%s%s HTTP/1.1\r\nHost: %s\r\n\r\n", prefix, k, suffix,
			       host);
		double t0 = now_us();
		const char *p = req;
		int left = len, st = 0;
		size_t sz = 0;
		while (left > 0) {
			ssize_t w = write(fd, p, (size_t)left);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			p += w;
			left -= (int)w;
		}
		if (left > 0 || read_answer(&st, &sz) != 0) {
			/* the server closed an idle connection: once more on a new one */
			close(fd);
			rpos = rlen = 0;
			if (++reconnects > 10 || (fd = connect_to(host, port)) < 0) {
				fprintf(stderr, "httplat: connection lost after %ld requests\n", i);
				return 1;
			}
			i--;
			continue;
		}
		double t1 = now_us();
		if (i < warm)
			continue;
		lat[done++] = t1 - t0;
		bytes += (double)sz;
		if (st != 200) {
			if (non200 == 0)
				fprintf(stderr, "httplat: status %d for %s%s\n", st, prefix, k);
			non200++;
		}
		if (t1 >= t_end)
			break;
	}
	double elapsed = (now_us() - start) / 1e6;
	if (outfile) {
		FILE *of = fopen(outfile, "w");
		if (of) {
			for (long i = 0; i < done; i++)
				fprintf(of, "%.1f\n", lat[i]);
			fclose(of);
		}
	}
	double sum = 0;
	for (long i = 0; i < done; i++)
		sum += lat[i];
	qsort(lat, (size_t)done, sizeof(double), cmp_double);
	printf("{\"requests\": %ld, \"non200\": %ld, \"reconnects\": %ld, \"keys\": %zu, "
	       "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, "
	       "\"max_us\": %.1f, \"mean_us\": %.1f, \"qps\": %.1f, \"mean_bytes\": %.0f}\n",
	       done, non200, reconnects, nkeys, pct(lat, (size_t)done, 0.50), pct(lat, (size_t)done, 0.90),
	       pct(lat, (size_t)done, 0.99), pct(lat, (size_t)done, 0.999),
	       done ? lat[done - 1] : 0.0, done ? sum / (double)done : 0.0,
	       elapsed > 0 ? (double)done / elapsed : 0.0, done ? bytes / (double)done : 0.0);
	close(fd);
	return 0;
}
