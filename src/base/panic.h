/*
 * panic.h -- assertions in tiers (after SQLite).
 *
 * ASSERT(x)  programmer error; checked in debug/test builds only.
 * ALWAYS(x)  / NEVER(x): defensive checks that should be impossible;
 *            evaluate to x, and abort in debug builds when violated.
 * PANIC(...) detected corruption of our own state: log and abort.
 * User input and network bytes must never reach any of these.
 */
#ifndef WB_PANIC_H
#define WB_PANIC_H

_Noreturn void panic_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define PANIC(...) panic_fail(__FILE__, __LINE__, __VA_ARGS__)

#ifdef WB_DEBUG
#define ASSERT(x) ((x) ? (void)0 : panic_fail(__FILE__, __LINE__, "assertion failed: %s", #x))
#define ALWAYS(x) ((x) ? 1 : (panic_fail(__FILE__, __LINE__, "ALWAYS failed: %s", #x), 0))
#define NEVER(x) ((x) ? (panic_fail(__FILE__, __LINE__, "NEVER failed: %s", #x), 1) : 0)
#else
#define ASSERT(x) ((void)0)
#define ALWAYS(x) (x)
#define NEVER(x) (x)
#endif

#endif
