/*
 * panic.c -- the abort path for PANIC and failed debug assertions.
 * Writes the location and message to stderr and aborts, so a core dump
 * or the sanitizer's stack trace shows where it happened.
 *
 * Exports: panic_fail.
 */
#include "base/panic.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void
panic_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "PANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}
