/*
 * civil.h -- calendar arithmetic on the proleptic Gregorian calendar (UTC),
 * and small text helpers shared by the parsers.
 */
#ifndef WB_CIVIL_H
#define WB_CIVIL_H

#include <stdint.h>

/* Days since 1970-01-01 of year y, month m (1-12), day d (1-31). */
int64_t civil_days_from(int64_t y, unsigned m, unsigned d);
/* The date of day z since 1970-01-01. */
void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* Value of a hexadecimal digit, or -1. */
int civil_hexval(int c);

#endif
