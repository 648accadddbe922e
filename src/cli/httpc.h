/*
 * httpc.h -- the CLI's HTTP client (the only user of libcurl).
 */
#ifndef WB_HTTPC_H
#define WB_HTTPC_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Supplies the next piece of a streamed body: copy up to cap bytes into
 * dst and return the count, 0 at the end, or -1 to abort. */
typedef long (*HttpcReadFn)(void *ctx, char *dst, size_t cap);

/* POSTs body (len bytes) to url; the response body goes to out and the
 * status to *status.  Transport failures return ERR_IO. */
int httpc_post(const char *url, const char *content_type, const char *body, size_t len,
	       int *status, Buf *out, Err *e);
/* Any method (PUT, DELETE, ...) with an optional body (NULL: none). */
int httpc_send(const char *method, const char *url, const char *content_type, const char *body,
	       size_t len, int *status, Buf *out, Err *e);
/* POSTs a body produced by read (chunked transfer encoding). */
int httpc_post_stream(const char *url, const char *content_type, HttpcReadFn read,
		      void *ctx, int *status, Buf *out, Err *e);
int httpc_get(const char *url, int *status, Buf *out, Err *e);

#endif
