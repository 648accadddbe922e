/*
 * httpc.c -- libcurl adapter for the command-line client: plain POST/GET
 * (and any other method: httpc_send)
 * and streamed uploads (chunked), responses collected into a Buf.
 *
 * Exports: httpc_post, httpc_send, httpc_post_stream, httpc_get.
 */
#include "cli/httpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

typedef struct Stream {
	HttpcReadFn read;
	void *ctx;
	int aborted;
} Stream;

static size_t
on_write(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

static size_t
on_read(char *dst, size_t size, size_t n, void *ud)
{
	Stream *s = ud;
	long r = s->read(s->ctx, dst, size * n);
	if (r < 0) {
		s->aborted = 1;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)r;
}

static int
perform(CURL *c, const char *url, struct curl_slist *hdrs, int *status, Buf *out, Err *e)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	*status = (int)code;
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK)
		return err_set(e, ERR_IO, "%s: %s", url, curl_easy_strerror(rc));
	return 0;
}

static struct curl_slist *
content_type(const char *ct)
{
	char h[256];
	snprintf(h, sizeof(h), "Content-Type: %s", ct ? ct : "application/json");
	struct curl_slist *l = curl_slist_append(NULL, h);
	return curl_slist_append(l, "Expect:");
}

int
httpc_post(const char *url, const char *ct, const char *body, size_t len, int *status,
	   Buf *out, Err *e)
{
	CURL *c = curl_easy_init();
	if (c == NULL)
		return err_set(e, ERR_NOMEM, "curl init");
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	return perform(c, url, content_type(ct), status, out, e);
}

int
httpc_send(const char *method, const char *url, const char *ct, const char *body, size_t len,
	   int *status, Buf *out, Err *e)
{
	CURL *c = curl_easy_init();
	if (c == NULL)
		return err_set(e, ERR_NOMEM, "curl init");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	return perform(c, url, body ? content_type(ct) : NULL, status, out, e);
}

int
httpc_post_stream(const char *url, const char *ct, HttpcReadFn read, void *ctx,
		  int *status, Buf *out, Err *e)
{
	CURL *c = curl_easy_init();
	if (c == NULL)
		return err_set(e, ERR_NOMEM, "curl init");
	Stream s = {read, ctx, 0};
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &s);
	struct curl_slist *h = content_type(ct);
	h = curl_slist_append(h, "Transfer-Encoding: chunked");
	int rc = perform(c, url, h, status, out, e);
	if (s.aborted && rc)
		err_reset(e, ERR_IO, "reading the input was aborted");
	return rc;
}

int
httpc_get(const char *url, int *status, Buf *out, Err *e)
{
	CURL *c = curl_easy_init();
	if (c == NULL)
		return err_set(e, ERR_NOMEM, "curl init");
	return perform(c, url, NULL, status, out, e);
}
