/*
 * err.h -- the one error convention.
 *
 * Functions return int: 0 on success, a negative ERR_* code on failure.
 * Details go into an Err record owned by the caller's context (query,
 * ingest job, request).  err_set() returns the code so a caller can write
 * `return err_set(e, ERR_IO, "open %s: %s", path, strerror(errno));`.
 */
#ifndef WB_ERR_H
#define WB_ERR_H

#include <stdarg.h>

enum {
	ERR_OK = 0,
#define ERRCODE(name, val, sqlstate, http, pinot, text) name = (val),
#include "base/errcodes.def"
#undef ERRCODE
};

#define ERR_MSG_MAX 512

typedef struct Err {
	int code;		/* 0 or an ERR_* value */
	int pos;		/* 1-based position in the input (SQL), 0 if none */
	char msg[ERR_MSG_MAX];
} Err;

void err_clear(Err *e);
/* Records code and message in e (if e is not NULL and holds no error yet);
 * returns code. */
int err_set(Err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int err_setv(Err *e, int code, const char *fmt, va_list ap);
/* As err_set, but replaces an error already recorded. */
int err_reset(Err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

const char *err_name(int code);
const char *err_sqlstate(int code);
int err_http_status(int code);
int err_pinot_code(int code);
const char *err_text(int code);
/* The message of e, or the code's text when no message was recorded. */
const char *err_msg(const Err *e);

#endif
