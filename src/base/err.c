/*
 * err.c -- lookups into the error-code table (errcodes.def) and the Err
 * record helpers.
 *
 * The table is expanded by the preprocessor into one static array, so
 * lookups cannot drift from the definitions.  Nothing here allocates.
 *
 * Exports: err_clear, err_set, err_setv, err_reset, err_name,
 * err_sqlstate, err_http_status, err_pinot_code, err_text, err_msg.
 */
#include "base/err.h"

#include <stdio.h>
#include <string.h>

typedef struct ErrInfo {
	int code;
	const char *name;
	const char *sqlstate;
	int http;
	int pinot;
	const char *text;
} ErrInfo;

static const ErrInfo err_table[] = {
#define ERRCODE(name, val, sqlstate, http, pinot, text) \
	{val, #name, sqlstate, http, pinot, text},
#include "base/errcodes.def"
#undef ERRCODE
};

static const ErrInfo *
lookup(int code)
{
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].code == code)
			return &err_table[i];
	return &err_table[0];	/* ERR_INTERNAL */
}

void
err_clear(Err *e)
{
	if (e) {
		e->code = 0;
		e->pos = 0;
		e->msg[0] = '\0';
	}
}

int
err_setv(Err *e, int code, const char *fmt, va_list ap)
{
	if (e == NULL || e->code != 0)
		return code;
	e->code = code;
	if (fmt)
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	else
		snprintf(e->msg, sizeof(e->msg), "%s", lookup(code)->text);
	return code;
}

int
err_set(Err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_setv(e, code, fmt, ap);
	va_end(ap);
	return code;
}

int
err_reset(Err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	err_clear(e);
	va_start(ap, fmt);
	err_setv(e, code, fmt, ap);
	va_end(ap);
	return code;
}

const char *err_name(int code) { return code == 0 ? "OK" : lookup(code)->name; }
const char *err_sqlstate(int code) { return code == 0 ? "00000" : lookup(code)->sqlstate; }
int err_http_status(int code) { return code == 0 ? 200 : lookup(code)->http; }
int err_pinot_code(int code) { return lookup(code)->pinot; }
const char *err_text(int code) { return code == 0 ? "success" : lookup(code)->text; }

const char *
err_msg(const Err *e)
{
	if (e->msg[0])
		return e->msg;
	return err_text(e->code);
}
