/*
 * clock.h -- wall and monotonic time.
 */
#ifndef WB_CLOCK_H
#define WB_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (wall clock). */
int64_t clock_wall_ms(void);
/* Monotonic nanoseconds, for durations and deadlines. */
int64_t clock_mono_ns(void);
/* Sleeps for ms milliseconds. */
void clock_sleep_ms(int64_t ms);

#endif
