/*
 * fntime.c -- timestamp scalar functions: PostgreSQL's date_trunc,
 * EXTRACT / date_part, now(), to_timestamp, timestamp +/- interval, and
 * Pinot's DATETRUNC, year()/month()/..., toEpoch{Seconds,Minutes,Hours,
 * Days}[Rounded|Bucket], fromEpoch{...}[Bucket], ToDateTime,
 * FromDateTime, ago() and DATETIMECONVERT (Pinot's format strings,
 * EPOCH / TIMESTAMP / SIMPLE_DATE_FORMAT in both the 'size:UNIT:FORMAT'
 * and the 'FORMAT|...' spelling; bucketing by the granularity from the
 * epoch, or with a bucket time zone from the start of the next larger
 * calendar unit, as Pinot does; UTC is the only session time zone).
 *
 * Joda's zone letters: when parsing, 'Z' and 'ZZ' read "Z" or a numeric
 * offset (+05, +0530, +05:30, ... as Joda accepts either form for both),
 * 'ZZZ' a zone id that is UTC or a fixed offset (UTC, GMT, Z, Etc/GMT+5,
 * ...; other ids are an error naming the zone); the offset moves the
 * local time to UTC.  Formatting is in UTC: +0000, +00:00, UTC.
 *
 * A TIMESTAMP is milliseconds since 1970-01-01 UTC; the session time zone
 * is always UTC, so there is no daylight-saving ambiguity.  Calendar
 * arithmetic uses base/civil.h (proleptic Gregorian, any year).  Units and
 * patterns must be constants: prep hooks parse them at bind time into
 * e->op (unit) so evaluation is a loop of integer arithmetic, and reject
 * unknown ones with ERR_INVALID.  Pinot's epoch conversions truncate
 * toward zero as Java's TimeUnit does; PostgreSQL's functions floor.
 * now() is read once per execution context (FnCall.state).
 *
 * Exports: fntime_table.
 */
#include "expr/exprfn.h"
#include "base/civil.h"
#include "base/clock.h"
#include "base/mem.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DAY_MS 86400000LL

enum {
	U_MS, U_SECOND, U_MINUTE, U_HOUR, U_DAY, U_WEEK, U_MONTH, U_QUARTER, U_YEAR,
	U_DECADE, U_CENTURY, U_MILLENNIUM, U_US,
	/* extract-only fields */
	U_EPOCH, U_DOW, U_ISODOW, U_DOY, U_ISOYEAR, U_MSFIELD
};

static int64_t
fdiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int
unit_of(const char *s, uint32_t n, int extract, int *out)
{
	static const struct { const char *name; int u; int ex; } units[] = {
		{"microsecond", U_US, 0}, {"microseconds", U_US, 0}, {"millisecond", U_MS, 0},
		{"milliseconds", U_MS, 0}, {"second", U_SECOND, 0}, {"seconds", U_SECOND, 0},
		{"minute", U_MINUTE, 0}, {"minutes", U_MINUTE, 0}, {"hour", U_HOUR, 0},
		{"hours", U_HOUR, 0}, {"day", U_DAY, 0}, {"days", U_DAY, 0}, {"week", U_WEEK, 0},
		{"weeks", U_WEEK, 0}, {"month", U_MONTH, 0}, {"months", U_MONTH, 0},
		{"quarter", U_QUARTER, 0}, {"year", U_YEAR, 0}, {"years", U_YEAR, 0},
		{"decade", U_DECADE, 0}, {"century", U_CENTURY, 0}, {"millennium", U_MILLENNIUM, 0},
		{"epoch", U_EPOCH, 1}, {"dow", U_DOW, 1}, {"isodow", U_ISODOW, 1}, {"doy", U_DOY, 1},
		{"isoyear", U_ISOYEAR, 1},
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && strncasecmp(units[i].name, s, n) == 0) {
			if (units[i].ex && !extract)
				return -1;
			*out = units[i].u;
			return 0;
		}
	return -1;
}

static void
split_ts(int64_t ms, int64_t *days, int64_t *msday)
{
	*days = fdiv(ms, DAY_MS);
	*msday = ms - *days * DAY_MS;
}

static int64_t
trunc_ms(int64_t ms, int u)
{
	int64_t days, rem, y;
	unsigned m, d;
	switch (u) {
	case U_US:
	case U_MS: return ms;
	case U_SECOND: return fdiv(ms, 1000) * 1000;
	case U_MINUTE: return fdiv(ms, 60000) * 60000;
	case U_HOUR: return fdiv(ms, 3600000) * 3600000;
	case U_DAY: return fdiv(ms, DAY_MS) * DAY_MS;
	case U_WEEK:
		split_ts(ms, &days, &rem);
		/* 1970-01-01 was a Thursday; weeks start on Monday */
		days -= ((days + 3) % 7 + 7) % 7;
		return days * DAY_MS;
	default:
		break;
	}
	split_ts(ms, &days, &rem);
	civil_from_days(days, &y, &m, &d);
	switch (u) {
	case U_MONTH: break;
	case U_QUARTER: m = (m - 1) / 3 * 3 + 1; break;
	case U_YEAR: m = 1; break;
	case U_DECADE: m = 1; y = fdiv(y, 10) * 10; break;
	case U_CENTURY: m = 1; y = y > 0 ? (y - 1) / 100 * 100 + 1 : -((-y) / 100 * 100) - 99; break;
	case U_MILLENNIUM: m = 1; y = y > 0 ? (y - 1) / 1000 * 1000 + 1 : -((-y) / 1000 * 1000) - 999; break;
	default: break;
	}
	return civil_days_from(y, m, 1) * DAY_MS;
}

static int
const_unit(Expr *e, int arg, int extract, Err *err)
{
	const Expr *u = e->args[arg];
	if (u->kind != EXPR_CONST || !type_is_var(u->type))
		return err_set(err, ERR_UNSUPPORTED, "%s: the unit must be a constant string", e->fn->name);
	if (u->val.null)
		return 0;
	if (unit_of(u->val.u.s, u->val.n, extract, &e->op) != 0)
		return err_set(err, ERR_INVALID, "unit \"%.*s\" not recognized for %s", (int)u->val.n, u->val.u.s,
			       e->fn->name);
	return 0;
}

/* ---- date_trunc / DATETRUNC --------------------------------------------- */

static int
prep_date_trunc(Expr *e, Arena *a, Err *err)
{
	(void)a;
	int rc = const_unit(e, 0, 0, err);
	if (rc == 0 && e->op > U_MILLENNIUM)
		return err_set(err, ERR_INVALID, "unit not supported by date_trunc");
	return rc;
}

static int
f_date_trunc(FnCall *c)
{
	const Vec *t = c->a[1];
	int u = c->e->op;
	FN_FOR(c, k, r) {
		if (!c->on[r])
			c->oi[r] = trunc_ms(t->i[r], u);
	}
	return 0;
}

static int
time_unit(const Value *v, int64_t *ms)
{
	static const struct { const char *name; int64_t ms; } tu[] = {
		{"MILLISECONDS", 1}, {"SECONDS", 1000}, {"MINUTES", 60000}, {"HOURS", 3600000},
		{"DAYS", DAY_MS}, {"MICROSECONDS", -1000}, {"NANOSECONDS", -1000000},
	};
	for (size_t i = 0; i < sizeof(tu) / sizeof(tu[0]); i++)
		if (strlen(tu[i].name) == v->n && strncasecmp(tu[i].name, v->u.s, v->n) == 0) {
			*ms = tu[i].ms;
			return 0;
		}
	return -1;
}

/* DATETRUNC('unit', value [, inputTimeUnit [, timeZone [, outputTimeUnit]]]):
 * e->op the unit, e->aux = input unit ms * 2^20 + output unit index */
static int
prep_datetrunc(Expr *e, Arena *a, Err *err)
{
	(void)a;
	int rc = const_unit(e, 0, 0, err);
	if (rc != 0)
		return rc;
	if (e->op > U_YEAR || e->op == U_US)
		return err_set(err, ERR_INVALID, "unit not supported by DATETRUNC");
	for (int j = 2; j < e->nargs; j++) {
		const Expr *x = e->args[j];
		if (x->kind != EXPR_CONST || x->val.null)
			return err_set(err, ERR_UNSUPPORTED, "DATETRUNC: argument %d must be a constant", j + 1);
		if (j == 3) {
			if (!((x->val.n == 3 && strncasecmp(x->val.u.s, "UTC", 3) == 0) ||
			      (x->val.n == 3 && strncasecmp(x->val.u.s, "GMT", 3) == 0) ||
			      (x->val.n == 7 && strncasecmp(x->val.u.s, "Etc/UTC", 7) == 0)))
				return err_set(err, ERR_UNSUPPORTED, "DATETRUNC: only the UTC time zone is supported");
			continue;
		}
		int64_t ms;
		if (time_unit(&x->val, &ms) != 0)
			return err_set(err, ERR_INVALID, "DATETRUNC: unknown time unit \"%.*s\"", (int)x->val.n,
				       x->val.u.s);
	}
	return 0;
}

/* value in `unit` (ms per unit; negative: units per ms) to ms and back */
static int64_t
to_ms(int64_t v, int64_t unit)
{
	return unit > 0 ? v * unit : v / -unit;
}

static int64_t
from_ms(int64_t ms, int64_t unit)
{
	return unit > 0 ? fdiv(ms, unit) : ms * -unit;
}

static int
f_datetrunc(FnCall *c)
{
	const Expr *e = c->e;
	int64_t in = 1, out;
	if (e->nargs > 2)
		time_unit(&e->args[2]->val, &in);
	out = in;
	if (e->nargs > 4)
		time_unit(&e->args[4]->val, &out);
	const Vec *t = c->a[1];
	FN_FOR(c, k, r) {
		if (!c->on[r])
			c->oi[r] = from_ms(trunc_ms(to_ms(exprfn_i(t, r), in), e->op), out);
	}
	return 0;
}

/* ---- EXTRACT / date_part / Pinot's field functions ---------------------- */

static int
prep_extract(Expr *e, Arena *a, Err *err)
{
	(void)a;
	int rc = const_unit(e, 0, 1, err);
	if (rc != 0)
		return rc;
	if (e->op == U_MS)
		e->op = U_MSFIELD;
	if (strcmp(e->fn->name, "date_part") == 0 || e->op == U_SECOND || e->op == U_EPOCH ||
	    e->op == U_MSFIELD || e->op == U_US)
		e->type = TYPE_DOUBLE;
	return 0;
}

/* ISO 8601 week number and year of a day */
static void
iso_week(int64_t days, int64_t *week, int64_t *year)
{
	int64_t y;
	unsigned m, d;
	int64_t isodow = ((days + 3) % 7 + 7) % 7 + 1; /* Monday = 1 */
	int64_t thursday = days - isodow + 4;
	civil_from_days(thursday, &y, &m, &d);
	int64_t jan1 = civil_days_from(y, 1, 1);
	*week = (thursday - jan1) / 7 + 1;
	*year = y;
}

static double
field(int64_t ms, int u)
{
	int64_t days, rem, y, wk, iy;
	unsigned m, d;
	split_ts(ms, &days, &rem);
	civil_from_days(days, &y, &m, &d);
	switch (u) {
	case U_US: return (double)(rem % 60000) * 1000.0;
	case U_MSFIELD: return (double)(rem % 60000);
	case U_SECOND: return (double)(rem % 60000) / 1000.0;
	case U_MINUTE: return (double)(rem / 60000 % 60);
	case U_HOUR: return (double)(rem / 3600000);
	case U_DAY: return d;
	case U_WEEK: iso_week(days, &wk, &iy); return (double)wk;
	case U_MONTH: return m;
	case U_QUARTER: return (m - 1) / 3 + 1;
	case U_YEAR: return (double)y;
	case U_DECADE: return (double)fdiv(y, 10);
	case U_CENTURY: return (double)(y > 0 ? (y + 99) / 100 : -((99 - (y - 1)) / 100));
	case U_MILLENNIUM: return (double)(y > 0 ? (y + 999) / 1000 : -((999 - (y - 1)) / 1000));
	case U_EPOCH: return (double)ms / 1000.0;
	case U_DOW: return (double)(((days + 4) % 7 + 7) % 7);
	case U_ISODOW: return (double)(((days + 3) % 7 + 7) % 7 + 1);
	case U_DOY: return (double)(days - civil_days_from(y, 1, 1) + 1);
	case U_ISOYEAR: iso_week(days, &wk, &iy); return (double)iy;
	default: return 0;
	}
}

static int
f_extract(FnCall *c)
{
	const Vec *t = c->a[c->e->nargs - 1];
	int u = c->e->op;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		double v = field(exprfn_i(t, r), u);
		if (c->e->type == TYPE_DOUBLE)
			c->od[r] = v;
		else
			c->oi[r] = (int64_t)v;
	}
	return 0;
}

/* Pinot's year(ts), month(ts), ...: the unit comes from the name */
static int
prep_field(Expr *e, Arena *a, Err *err)
{
	static const struct { const char *name; int u; } f[] = {
		{"year", U_YEAR}, {"yearofweek", U_ISOYEAR}, {"yow", U_ISOYEAR}, {"quarter", U_QUARTER},
		{"month", U_MONTH}, {"week", U_WEEK}, {"weekofyear", U_WEEK}, {"dayofyear", U_DOY},
		{"doy", U_DOY}, {"day", U_DAY}, {"dayofmonth", U_DAY}, {"dayofweek", U_ISODOW},
		{"dow", U_ISODOW}, {"hour", U_HOUR}, {"minute", U_MINUTE}, {"second", U_SECOND},
		{"millisecond", U_MSFIELD},
	};
	(void)a;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strcmp(f[i].name, e->fn->name) == 0) {
			e->op = f[i].u;
			return 0;
		}
	return err_set(err, ERR_INTERNAL, "no field for %s", e->fn->name);
}

static int
f_field(FnCall *c)
{
	const Vec *t = c->a[0];
	int u = c->e->op;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t ms = exprfn_i(t, r);
		if (u == U_SECOND)
			c->oi[r] = fdiv(ms, 1000) - fdiv(ms, 60000) * 60;
		else if (u == U_MSFIELD)
			c->oi[r] = ms - fdiv(ms, 1000) * 1000;
		else
			c->oi[r] = (int64_t)field(ms, u);
	}
	return 0;
}

/* ---- now, to_timestamp, intervals ---------------------------------------- */

static void
free_now(void *st)
{
	mem_free(st);
}

static int64_t *
now_state(FnCall *c)
{
	if (*c->state == NULL) {
		int64_t *t = mem_alloc(sizeof(int64_t));
		if (t == NULL) {
			err_set(c->err, ERR_NOMEM, "out of memory");
			return NULL;
		}
		*t = clock_wall_ms();
		*c->state = t;
	}
	return *c->state;
}

static int
f_now(FnCall *c)
{
	int64_t *t = now_state(c);
	if (t == NULL)
		return ERR_NOMEM;
	FN_FOR(c, k, r)
		c->oi[r] = *t;
	return 0;
}

static int
f_ago(FnCall *c)
{
	int64_t *t = now_state(c);
	if (t == NULL)
		return ERR_NOMEM;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		c->oi[r] = *t - c->e->aux;
	}
	return 0;
}

static int
prep_ago(Expr *e, Arena *a, Err *err)
{
	(void)a;
	const Expr *x = e->args[0];
	int64_t mon, ms;
	if (x->kind != EXPR_CONST || x->val.null)
		return err_set(err, ERR_UNSUPPORTED, "ago: the period must be a constant");
	if (exprfn_interval_parse(x->val.u.s, x->val.n, &mon, &ms) != 0 || mon != 0)
		return err_set(err, ERR_INVALID, "ago: invalid period \"%.*s\"", (int)x->val.n, x->val.u.s);
	e->aux = ms;
	return 0;
}

static int
f_to_timestamp(FnCall *c)
{
	const Vec *a = c->a[0];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		double s = exprfn_d(a, r);
		if (!(s > -9.2e15 && s < 9.2e15))
			return exprfn_fail(c, ERR_OVERFLOW, "timestamp out of range");
		c->oi[r] = (int64_t)llround(s * 1000.0);
	}
	return 0;
}

static int64_t
add_months(int64_t ms, int64_t months)
{
	int64_t days, rem, y;
	unsigned m, d;
	static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (months == 0)
		return ms;
	split_ts(ms, &days, &rem);
	civil_from_days(days, &y, &m, &d);
	int64_t t = y * 12 + (int64_t)(m - 1) + months;
	y = fdiv(t, 12);
	m = (unsigned)(t - y * 12 + 1);
	unsigned last = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	if (d > last)
		d = last;
	return civil_days_from(y, m, d) * DAY_MS + rem;
}

/* timestamp + interval: args (ts, ms constant), aux = months */
static int
f_ts_add(FnCall *c)
{
	const Vec *t = c->a[0], *ms = c->a[1];
	int64_t mon = c->e->aux;
	FN_FOR(c, k, r) {
		if (!c->on[r])
			c->oi[r] = add_months(t->i[r], mon) + ms->i[r];
	}
	return 0;
}

/* ---- Pinot epoch conversions --------------------------------------------- */

static int64_t
unit_by_name(const char *name)
{
	if (strstr(name, "seconds"))
		return 1000;
	if (strstr(name, "minutes"))
		return 60000;
	if (strstr(name, "hours"))
		return 3600000;
	return DAY_MS;
}

static int
f_to_epoch(FnCall *c)
{
	const char *name = c->e->fn->name;
	int64_t u = unit_by_name(name);
	int bucket = strstr(name, "bucket") != NULL, rounded = strstr(name, "rounded") != NULL;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t v = exprfn_i(c->a[0], r) / u;	/* Java: truncates */
		if (bucket || rounded) {
			int64_t b = exprfn_i(c->a[1], r);
			if (b == 0)
				return exprfn_fail(c, ERR_DIV_ZERO, "division by zero");
			v = rounded ? v / b * b : v / b;
		}
		c->oi[r] = v;
	}
	return 0;
}

static int
f_from_epoch(FnCall *c)
{
	const char *name = c->e->fn->name;
	int64_t u = unit_by_name(name);
	int bucket = strstr(name, "bucket") != NULL;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t v = exprfn_i(c->a[0], r);
		if (bucket)
			v *= exprfn_i(c->a[1], r);
		c->oi[r] = v * u;
	}
	return 0;
}

/* ---- Joda-style patterns: ToDateTime / FromDateTime ----------------------- */

static const char *const month_names[] = {"January", "February", "March", "April", "May", "June", "July",
					  "August", "September", "October", "November", "December"};
static const char *const day_names[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
					"Saturday", "Sunday"};

static int
pattern_ok(const char *p, uint32_t n, Err *err, const char *fname)
{
	for (uint32_t i = 0; i < n; i++) {
		char ch = p[i];
		if (ch == '\'') {
			for (i++; i < n && p[i] != '\''; i++)
				;
			if (i >= n)
				return err_set(err, ERR_INVALID, "%s: unterminated quote in pattern", fname);
			continue;
		}
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
			if (!strchr("yYuMdHhmsSEaZDk", ch))
				return err_set(err, ERR_INVALID, "%s: pattern letter '%c' is not supported", fname, ch);
		}
	}
	return 0;
}

static int
prep_datetime(Expr *e, Arena *a, Err *err)
{
	(void)a;
	for (int j = 1; j < e->nargs; j++)
		if (e->args[j]->kind != EXPR_CONST || e->args[j]->val.null)
			return err_set(err, ERR_UNSUPPORTED, "%s: the pattern and time zone must be constants",
				       e->fn->name);
	const Value *p = &e->args[1]->val;
	if (e->nargs > 2) {
		const Value *z = &e->args[2]->val;
		if (!((z->n == 3 && (strncasecmp(z->u.s, "UTC", 3) == 0 || strncasecmp(z->u.s, "GMT", 3) == 0)) ||
		      (z->n == 7 && strncasecmp(z->u.s, "Etc/UTC", 7) == 0)))
			return err_set(err, ERR_UNSUPPORTED, "%s: only the UTC time zone is supported", e->fn->name);
	}
	return pattern_ok(p->u.s, p->n, err, e->fn->name);
}

static void
put_num(Buf *b, int64_t v, int width)
{
	if (v < 0) {
		buf_putc(b, '-');
		v = -v;
	}
	buf_printf(b, "%0*lld", width, (long long)v);
}

static void
format_joda(Buf *b, const char *p, uint32_t n, int64_t ms)
{
	int64_t days, rem, y;
	unsigned m, d;
	split_ts(ms, &days, &rem);
	civil_from_days(days, &y, &m, &d);
	int64_t h = rem / 3600000, mi = rem / 60000 % 60, s = rem / 1000 % 60, frac = rem % 1000;
	int dow = (int)(((days + 3) % 7 + 7) % 7);
	for (uint32_t i = 0; i < n;) {
		char ch = p[i];
		uint32_t cnt = 1;
		if (ch == '\'') {
			i++;
			if (i < n && p[i] == '\'') {
				buf_putc(b, '\'');
				i++;
				continue;
			}
			while (i < n && p[i] != '\'')
				buf_putc(b, p[i++]);
			i++;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) {
			buf_putc(b, ch);
			i++;
			continue;
		}
		while (i + cnt < n && p[i + cnt] == ch)
			cnt++;
		i += cnt;
		switch (ch) {
		case 'y': case 'Y': case 'u':
			if (cnt == 2)
				put_num(b, ((y % 100) + 100) % 100, 2);
			else
				put_num(b, y, (int)cnt);
			break;
		case 'M':
			if (cnt >= 4)
				buf_puts(b, month_names[m - 1]);
			else if (cnt == 3)
				buf_append(b, month_names[m - 1], 3);
			else
				put_num(b, m, (int)cnt);
			break;
		case 'd': put_num(b, d, (int)cnt); break;
		case 'D': put_num(b, days - civil_days_from(y, 1, 1) + 1, (int)cnt); break;
		case 'H': put_num(b, h, (int)cnt); break;
		case 'k': put_num(b, h == 0 ? 24 : h, (int)cnt); break;
		case 'h': put_num(b, h % 12 == 0 ? 12 : h % 12, (int)cnt); break;
		case 'm': put_num(b, mi, (int)cnt); break;
		case 's': put_num(b, s, (int)cnt); break;
		case 'S': {
			char f[4];
			snprintf(f, sizeof(f), "%03lld", (long long)frac);
			for (uint32_t j = 0; j < cnt; j++)
				buf_putc(b, j < 3 ? f[j] : '0');
			break;
		}
		case 'E':
			if (cnt >= 4)
				buf_puts(b, day_names[dow]);
			else
				buf_append(b, day_names[dow], 3);
			break;
		case 'a': buf_puts(b, h < 12 ? "AM" : "PM"); break;
		case 'Z': buf_puts(b, cnt >= 3 ? "UTC" : cnt == 2 ? "+00:00" : "+0000"); break;
		default: break;
		}
	}
}

static int
f_todatetime(FnCall *c)
{
	const Value *p = &c->e->args[1]->val;
	Buf b;
	buf_init(&b);
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		buf_reset(&b);
		format_joda(&b, p->u.s, p->n, exprfn_i(c->a[0], r));
		char *d = b.oom ? NULL : arena_strndup(c->arena, b.p ? b.p : "", b.len);
		if (d == NULL) {
			buf_free(&b);
			return err_set(c->err, ERR_NOMEM, "out of memory in ToDateTime");
		}
		c->os[r] = d;
		c->ol[r] = (uint32_t)b.len;
	}
	buf_free(&b);
	return 0;
}

/* Reads two digits at s[*j] into *v; -1 unless both are there and *v <= max. */
static int
two_digits(const char *s, uint32_t sn, uint32_t *j, int64_t max, int64_t *v)
{
	if (*j + 2 > sn || !isdigit((unsigned char)s[*j]) || !isdigit((unsigned char)s[*j + 1]))
		return -1;
	*v = (s[*j] - '0') * 10 + (s[*j + 1] - '0');
	*j += 2;
	return *v <= max ? 0 : -1;
}

/* Joda's 'Z' and 'ZZ' when parsing (both accept either form): "Z" (any
 * case) is UTC, else a sign and hh, then optionally mm, ss and fraction,
 * with ':' (and '.' or ',' before the fraction) between all of them or
 * none: +05, +0530, +05:30, -08:00:00.5.  *off is milliseconds east of
 * UTC.  -1 if the text is no offset. */
static int
parse_offset(const char *s, uint32_t sn, uint32_t *j, int64_t *off)
{
	int64_t hh, mm, ss;
	if (*j < sn && (s[*j] == 'Z' || s[*j] == 'z')) {
		(*j)++;
		*off = 0;
		return 0;
	}
	if (*j + 1 >= sn || (s[*j] != '+' && s[*j] != '-'))
		return -1;
	int neg = s[(*j)++] == '-';
	if (two_digits(s, sn, j, 23, &hh) != 0)
		return -1;
	*off = hh * 3600000;
	int sep = *j < sn && s[*j] == ':';
	if (sep || (*j < sn && isdigit((unsigned char)s[*j]))) {
		*j += (uint32_t)sep;
		if (two_digits(s, sn, j, 59, &mm) != 0)
			return -1;
		*off += mm * 60000;
		int more = sep ? *j < sn && s[*j] == ':' : *j < sn && isdigit((unsigned char)s[*j]);
		if (more) {
			*j += (uint32_t)sep;
			if (two_digits(s, sn, j, 59, &ss) != 0)
				return -1;
			*off += ss * 1000;
			more = sep ? *j < sn && (s[*j] == '.' || s[*j] == ',')
				   : *j < sn && isdigit((unsigned char)s[*j]);
			if (more) {
				*j += (uint32_t)sep;
				if (*j >= sn || !isdigit((unsigned char)s[*j]))
					return -1;
				for (int64_t scale = 100; scale > 0 && *j < sn && isdigit((unsigned char)s[*j]); scale /= 10)
					*off += (s[(*j)++] - '0') * scale;
			}
		}
	}
	if (neg)
		*off = -*off;
	return 0;
}

/* Joda's 'ZZZ' when parsing: a zone id, the longest one that starts the
 * text, as Joda matches.  Only zones that are always UTC or a fixed
 * offset are known: the UTC aliases below and Etc/GMT+N (N hours WEST of
 * Greenwich, tzdata's inverted sign).  -1 if no known id starts the text. */
static int
parse_zone_id(const char *s, uint32_t sn, uint32_t *j, int64_t *off)
{
	static const char *const utc_ids[] = {
		"UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Z", "Zulu", "Universal", "Greenwich",
		"Etc/UTC", "Etc/UCT", "Etc/GMT", "Etc/GMT0", "Etc/Zulu", "Etc/Universal", "Etc/Greenwich",
	};
	size_t best = 0;
	for (size_t i = 0; i < sizeof(utc_ids) / sizeof(utc_ids[0]); i++) {
		size_t l = strlen(utc_ids[i]);
		if (l > best && *j + l <= sn && memcmp(s + *j, utc_ids[i], l) == 0)
			best = l;
	}
	*off = 0;
	uint32_t k = *j + 7;
	if (k + 1 < sn && memcmp(s + *j, "Etc/GMT", 7) == 0 && (s[k] == '+' || s[k] == '-') &&
	    isdigit((unsigned char)s[k + 1])) {
		int64_t n = s[k + 1] - '0', lim = s[k] == '+' ? 12 : 14;
		uint32_t e = k + 2;
		if (e < sn && isdigit((unsigned char)s[e]) && n * 10 + (s[e] - '0') <= lim) {
			n = n * 10 + (s[e] - '0');
			e++;
		}
		if (n <= lim && e - *j > best) {
			best = e - *j;
			*off = (s[k] == '+' ? -n : n) * 3600000;
		}
	}
	if (best == 0)
		return -1;
	*j += (uint32_t)best;
	return 0;
}

/* Parses s by the Joda pattern p into milliseconds since the epoch (UTC);
 * a zone field's offset moves the local time to UTC.  0 on success, -1
 * if s does not match, -2 for a zone id that is not UTC or a fixed offset
 * (it starts at s[*zpos], *zlen bytes), -3 if the time does not fit in
 * int64 milliseconds. */
static int
parse_joda(const char *p, uint32_t pn, const char *s, uint32_t sn, int64_t *out, uint32_t *zpos, uint32_t *zlen)
{
	int64_t y = 1970, m = 1, d = 1, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
	int pm = -1;
	uint32_t j = 0;
	for (uint32_t i = 0; i < pn;) {
		char ch = p[i];
		uint32_t cnt = 1;
		if (ch == '\'') {
			for (i++; i < pn && p[i] != '\''; i++) {
				if (j >= sn || s[j] != p[i])
					return -1;
				j++;
			}
			i++;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) {
			if (j >= sn || s[j] != ch)
				return -1;
			i++;
			j++;
			continue;
		}
		while (i + cnt < pn && p[i + cnt] == ch)
			cnt++;
		i += cnt;
		if (ch == 'Z') {
			if (cnt <= 2 ? parse_offset(s, sn, &j, &off) == 0 : parse_zone_id(s, sn, &j, &off) == 0)
				continue;
			if (cnt <= 2 || j >= sn || !isalpha((unsigned char)s[j]))
				return -1;
			*zpos = j;
			for (*zlen = 0; j + *zlen < sn && (isalnum((unsigned char)s[j + *zlen]) ||
							  strchr("/_+-", s[j + *zlen])) && *zlen < 64; (*zlen)++)
				;
			return -2;
		}
		if (ch == 'a') {
			if (j + 2 > sn)
				return -1;
			pm = (s[j] == 'P' || s[j] == 'p');
			j += 2;
			continue;
		}
		if (ch == 'M' && cnt >= 3) {
			int found = 0;
			for (int k = 0; k < 12 && !found; k++) {
				size_t l = cnt == 3 ? 3 : strlen(month_names[k]);
				if (j + l <= sn && strncasecmp(s + j, month_names[k], l) == 0) {
					m = k + 1;
					j += (uint32_t)l;
					found = 1;
				}
			}
			if (!found)
				return -1;
			continue;
		}
		if (ch == 'E') {
			while (j < sn && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z')))
				j++;
			continue;
		}
		int neg = 0;
		if (j < sn && s[j] == '-' && (ch == 'y' || ch == 'Y' || ch == 'u')) {
			neg = 1;
			j++;
		}
		/* numeric field: adjacent fields take exactly cnt digits,
		 * otherwise as many as there are */
		int adjacent = i < pn && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z'));
		uint32_t maxd = adjacent ? cnt : 9, nd = 0;
		int64_t v = 0;
		while (j < sn && nd < maxd && s[j] >= '0' && s[j] <= '9') {
			v = v * 10 + (s[j++] - '0');
			nd++;
		}
		if (nd == 0)
			return -1;
		if (neg)
			v = -v;
		switch (ch) {
		case 'y': case 'Y': case 'u': y = cnt == 2 && nd == 2 ? 2000 + v : v; break;
		case 'M': m = v; break;
		case 'd': d = v; break;
		case 'H': case 'k': case 'h': h = v; break;
		case 'm': mi = v; break;
		case 's': sec = v; break;
		case 'S':
			while (nd < 3) {
				v *= 10;
				nd++;
			}
			while (nd > 3) {
				v /= 10;
				nd--;
			}
			frac = v;
			break;
		default: break;
		}
	}
	if (j != sn || m < 1 || m > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60)
		return -1;
	if (pm == 1 && h < 12)
		h += 12;
	else if (pm == 0 && h == 12)
		h = 0;
	int64_t t;
	if (__builtin_mul_overflow(civil_days_from(y, (unsigned)m, (unsigned)d), DAY_MS, &t) ||
	    __builtin_add_overflow(t, h * 3600000 + mi * 60000 + sec * 1000 + frac - off, out))
		return -3;
	return 0;
}

/* The error for parse_joda's rc on the value s[0..n). */
static int
parse_fail(FnCall *c, const char *fname, int rc, const char *s, uint32_t n, const char *p, uint32_t pn,
	   uint32_t zpos, uint32_t zlen)
{
	int sn = (int)(n > 100 ? 100 : n);
	if (rc == -3)
		return exprfn_fail(c, ERR_OVERFLOW, "%s: \"%.*s\" is out of the timestamp range", fname, sn, s);
	if (rc == -2)
		return exprfn_fail(c, ERR_INVALID,
				   "%s: time zone \"%.*s\" in \"%.*s\" is not supported (only UTC, GMT, Z, "
				   "Etc/GMT+N and numeric offsets such as +05:30)",
				   fname, (int)zlen, s + zpos, sn, s);
	return exprfn_fail(c, ERR_INVALID, "%s: \"%.*s\" does not match the pattern \"%.*s\"", fname, sn, s,
			   (int)pn, p);
}

static int
f_fromdatetime(FnCall *c)
{
	const Value *p = &c->e->args[1]->val;
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = exprfn_str(c->a[0], r, &n);
		uint32_t zp = 0, zl = 0;
		int rc = parse_joda(p->u.s, p->n, s, n, &c->oi[r], &zp, &zl);
		if (rc != 0)
			return parse_fail(c, "FromDateTime", rc, s, n, p->u.s, p->n, zp, zl);
	}
	return 0;
}

/* ---- Pinot's DATETIMECONVERT --------------------------------------------- */

/* A Pinot date-time format: 'size:UNIT:EPOCH', 'size:UNIT:TIMESTAMP',
 * 'size:UNIT:SIMPLE_DATE_FORMAT:pattern' (the pattern may end with
 * ' tz(zone)'), or the newer 'EPOCH|UNIT[|size]', 'TIMESTAMP',
 * 'SIMPLE_DATE_FORMAT|pattern[|zone]'.  One EPOCH value is num / den
 * milliseconds. */
enum { DT_EPOCH, DT_TIMESTAMP, DT_SDF };

typedef struct DtFmt {
	int kind;
	int64_t num, den;
	const char *pat;
	uint32_t patn;
} DtFmt;

/* ms per unit (num / den) and the calendar unit one level up (for
 * bucketing with a time zone); -1 for an unknown name. */
static int
dt_unit(const char *s, uint32_t n, int64_t *num, int64_t *den, int *parent)
{
	static const struct { const char *name; int64_t num, den; int parent; } units[] = {
		{"NANOSECONDS", 1, 1000000, U_MS}, {"MICROSECONDS", 1, 1000, U_MS},
		{"MILLISECONDS", 1, 1, U_SECOND}, {"SECONDS", 1000, 1, U_MINUTE},
		{"MINUTES", 60000, 1, U_HOUR}, {"HOURS", 3600000, 1, U_DAY}, {"DAYS", DAY_MS, 1, U_MONTH},
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && strncasecmp(units[i].name, s, n) == 0) {
			*num = units[i].num;
			*den = units[i].den;
			*parent = units[i].parent;
			return 0;
		}
	return -1;
}

/* 1 for the zone names that mean UTC (the only zone Waybill has). */
static int
dt_utc(const char *s, uint32_t n)
{
	static const char *const utc[] = {"UTC", "GMT", "Z", "Etc/UTC", "Etc/GMT", "+00:00", "-00:00", "UCT",
					  "Zulu", "GMT0", "Universal"};
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	for (size_t i = 0; i < sizeof(utc) / sizeof(utc[0]); i++)
		if (strlen(utc[i]) == n && strncasecmp(utc[i], s, n) == 0)
			return 1;
	return 0;
}

/* Parses a positive integer of at most 9 digits. */
static int
dt_size(const char *s, uint32_t n, int64_t *out)
{
	int64_t v = 0;
	if (n == 0 || n > 9)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* Splits s at the first `max - 1` separators sep into parts. */
static int
dt_split(const char *s, uint32_t n, char sep, int max, const char **p, uint32_t *pn)
{
	int k = 0;
	uint32_t st = 0;
	for (uint32_t i = 0; i <= n; i++)
		if (i == n || (s[i] == sep && k < max - 1)) {
			p[k] = s + st;
			pn[k] = i - st;
			k++;
			st = i + 1;
		}
	return k;
}

static int
dt_fmt(const char *what, const Value *v, DtFmt *f, Err *err)
{
	const char *p[4];
	uint32_t pn[4];
	int parent;
	const char *s = v->u.s ? v->u.s : "";
	memset(f, 0, sizeof(*f));
	f->num = f->den = 1;
	if (memchr(s, '|', v->n) != NULL || (v->n == 9 && strncasecmp(s, "TIMESTAMP", 9) == 0) ||
	    (v->n == 5 && strncasecmp(s, "EPOCH", 5) == 0)) {
		int k = dt_split(s, v->n, '|', 3, p, pn);
		if (pn[0] == 5 && strncasecmp(p[0], "EPOCH", 5) == 0) {
			int64_t size = 1;
			if ((k >= 2 && dt_unit(p[1], pn[1], &f->num, &f->den, &parent) != 0) ||
			    (k == 3 && dt_size(p[2], pn[2], &size) != 0))
				goto bad;
			f->kind = DT_EPOCH;
			f->num *= size;
			return 0;
		}
		if (pn[0] == 9 && strncasecmp(p[0], "TIMESTAMP", 9) == 0 && k == 1) {
			f->kind = DT_TIMESTAMP;
			return 0;
		}
		if (pn[0] == 18 && strncasecmp(p[0], "SIMPLE_DATE_FORMAT", 18) == 0 && k >= 2) {
			if (k == 3 && !dt_utc(p[2], pn[2]))
				return err_set(err, ERR_UNSUPPORTED,
					       "DATETIMECONVERT: %s: time zone '%.*s' is not supported (only UTC)", what,
					       (int)pn[2], p[2]);
			f->kind = DT_SDF;
			f->pat = p[1];
			f->patn = pn[1];
			return pattern_ok(f->pat, f->patn, err, "DATETIMECONVERT");
		}
		goto bad;
	}
	int k = dt_split(s, v->n, ':', 4, p, pn);
	int64_t size;
	if (k < 3 || dt_size(p[0], pn[0], &size) != 0 || dt_unit(p[1], pn[1], &f->num, &f->den, &parent) != 0)
		goto bad;
	f->num *= size;
	if (k == 3 && pn[2] == 5 && strncasecmp(p[2], "EPOCH", 5) == 0) {
		f->kind = DT_EPOCH;
		return 0;
	}
	if (k == 3 && pn[2] == 9 && strncasecmp(p[2], "TIMESTAMP", 9) == 0) {
		f->kind = DT_TIMESTAMP;
		return 0;
	}
	if (k == 4 && pn[2] == 18 && strncasecmp(p[2], "SIMPLE_DATE_FORMAT", 18) == 0) {
		const char *pat = p[3];
		uint32_t n = pn[3];
		const char *tz = n >= 4 ? strstr(pat, "tz(") : NULL;
		if (tz != NULL && tz < pat + n) {
			const char *close = memchr(tz, ')', (size_t)(pat + n - tz));
			if (close == NULL || !dt_utc(tz + 3, (uint32_t)(close - tz - 3)))
				return err_set(err, ERR_UNSUPPORTED,
					       "DATETIMECONVERT: %s: only the UTC time zone is supported in tz(...)", what);
			n = (uint32_t)(tz - pat);
			while (n > 0 && pat[n - 1] == ' ')
				n--;
		}
		if (n == 0)
			goto bad;
		f->kind = DT_SDF;
		f->pat = pat;
		f->patn = n;
		return pattern_ok(f->pat, f->patn, err, "DATETIMECONVERT");
	}
bad:
	return err_set(err, ERR_INVALID,
		       "DATETIMECONVERT: invalid %s '%.*s' (expected e.g. '1:MILLISECONDS:EPOCH', "
		       "'1:DAYS:SIMPLE_DATE_FORMAT:yyyy-MM-dd' or 'EPOCH|SECONDS')",
		       what, (int)(v->n > 100 ? 100 : v->n), s);
}

/* The granularity 'size:UNIT' (or 'size|UNIT') in milliseconds, and the
 * calendar unit one level up. */
static int
dt_gran(const Value *v, int64_t *ms, int *parent, Err *err)
{
	const char *p[2];
	uint32_t pn[2];
	const char *s = v->u.s ? v->u.s : "";
	int64_t size, num, den;
	char sep = memchr(s, '|', v->n) ? '|' : ':';
	int k = dt_split(s, v->n, sep, 2, p, pn);
	if (k != 2 || dt_size(p[0], pn[0], &size) != 0 || dt_unit(p[1], pn[1], &num, &den, parent) != 0)
		return err_set(err, ERR_INVALID,
			       "DATETIMECONVERT: invalid granularity '%.*s' (expected e.g. '1:HOURS' or '15:MINUTES')",
			       (int)(v->n > 100 ? 100 : v->n), s);
	if (size * num % den != 0)
		return err_set(err, ERR_UNSUPPORTED,
			       "DATETIMECONVERT: granularity '%.*s' is not a whole number of milliseconds", (int)v->n, s);
	*ms = size * num / den;
	return 0;
}

/* The parsed arguments of one DATETIMECONVERT node. */
typedef struct DtSpec {
	DtFmt in, out;
	int64_t gran;
	int parent;		/* calendar unit for bucketing; -1 = none */
} DtSpec;

static int
dt_spec(const Expr *e, DtSpec *sp, Err *err)
{
	int rc;
	if ((rc = dt_fmt("input format", &e->args[1]->val, &sp->in, err)) != 0 ||
	    (rc = dt_fmt("output format", &e->args[2]->val, &sp->out, err)) != 0 ||
	    (rc = dt_gran(&e->args[3]->val, &sp->gran, &sp->parent, err)) != 0)
		return rc;
	if (e->nargs < 5) {
		sp->parent = -1;
	} else if (!dt_utc(e->args[4]->val.u.s, e->args[4]->val.n)) {
		return err_set(err, ERR_UNSUPPORTED, "DATETIMECONVERT: bucket time zone '%.*s' is not supported (only UTC)",
			       (int)e->args[4]->val.n, e->args[4]->val.u.s);
	}
	return 0;
}

static int
prep_dtconvert(Expr *e, Arena *a, Err *err)
{
	DtSpec sp;
	(void)a;
	for (int j = 1; j < e->nargs; j++)
		if (e->args[j]->kind != EXPR_CONST || e->args[j]->val.null || !type_is_var(e->args[j]->type))
			return err_set(err, ERR_TYPE, "DATETIMECONVERT: argument %d must be a string constant", j + 1);
	int rc = dt_spec(e, &sp, err);
	if (rc != 0)
		return rc;
	WbType t = e->args[0]->type;
	if (e->args[0]->kind == EXPR_CONST && e->args[0]->val.null)
		t = TYPE_NULL;	/* a bare NULL: the result is NULL */
	if (sp.in.kind == DT_SDF ? !(type_is_var(t) || t == TYPE_NULL)
				 : !(type_is_integer(t) || type_is_float(t) || t == TYPE_NULL) || t == TYPE_BOOLEAN)
		return err_set(err, ERR_TYPE, "DATETIMECONVERT: a %s value does not fit the input format %s", type_name(t),
			       sp.in.kind == DT_SDF ? "SIMPLE_DATE_FORMAT (needs a string)" : "(needs a number or a timestamp)");
	e->type = sp.out.kind == DT_SDF ? TYPE_STRING : TYPE_LONG;
	return 0;
}

static int
f_dtconvert(FnCall *c)
{
	DtSpec sp;
	int rc = dt_spec(c->e, &sp, c->err);
	if (rc != 0)
		return rc;
	Buf b;
	buf_init(&b);
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t ms, v;
		if (sp.in.kind == DT_SDF) {
			uint32_t n;
			const char *s = exprfn_str(c->a[0], r, &n);
			uint32_t zp = 0, zl = 0;
			int prc = parse_joda(sp.in.pat, sp.in.patn, s, n, &ms, &zp, &zl);
			if (prc != 0) {
				buf_free(&b);
				return parse_fail(c, "DATETIMECONVERT", prc, s, n, sp.in.pat, sp.in.patn, zp, zl);
			}
		} else {
			const Vec *a = c->a[0];
			if (a->enc == VEC_F64 && !(fabs(a->d[r]) < 9.2e18)) {
				buf_free(&b);
				return exprfn_fail(c, ERR_OVERFLOW, "DATETIMECONVERT: %g is out of range", a->d[r]);
			}
			v = exprfn_i(a, r);
			if (sp.in.kind == DT_TIMESTAMP)
				ms = v;
			else if (__builtin_mul_overflow(v, sp.in.num, &ms)) {
				buf_free(&b);
				return exprfn_fail(c, ERR_OVERFLOW, "DATETIMECONVERT: %lld is out of range for the input format",
						   (long long)v);
			} else {
				ms /= sp.in.den;	/* Java's TimeUnit truncates */
			}
		}
		if (sp.parent < 0) {
			ms = ms / sp.gran * sp.gran;
		} else {
			int64_t st = trunc_ms(ms, sp.parent);
			ms = st + fdiv(ms - st, sp.gran) * sp.gran;
		}
		if (sp.out.kind == DT_SDF) {
			buf_reset(&b);
			format_joda(&b, sp.out.pat, sp.out.patn, ms);
			char *d = b.oom ? NULL : arena_strndup(c->arena, b.p ? b.p : "", b.len);
			if (d == NULL) {
				buf_free(&b);
				return err_set(c->err, ERR_NOMEM, "out of memory in DATETIMECONVERT");
			}
			c->os[r] = d;
			c->ol[r] = (uint32_t)b.len;
		} else if (sp.out.kind == DT_TIMESTAMP) {
			c->oi[r] = ms;
		} else if (sp.out.den > 1) {
			if (__builtin_mul_overflow(ms, sp.out.den, &v)) {
				buf_free(&b);
				return exprfn_fail(c, ERR_OVERFLOW, "DATETIMECONVERT: %lld ms is out of range for the output format",
						   (long long)ms);
			}
			c->oi[r] = v / sp.out.num;
		} else {
			c->oi[r] = ms / sp.out.num;
		}
	}
	buf_free(&b);
	return 0;
}

#define TOEPOCH(nm) {nm, "M", 'L', FN_STRICT, NULL, f_to_epoch, NULL}
#define TOEPOCH2(nm) {nm, "MI", 'L', FN_STRICT, NULL, f_to_epoch, NULL}
#define FROMEPOCH(nm) {nm, "I", 'L', FN_STRICT, NULL, f_from_epoch, NULL}
#define FROMEPOCH2(nm) {nm, "II", 'L', FN_STRICT, NULL, f_from_epoch, NULL}
#define FIELD(nm) {nm, "M", 'I', FN_STRICT, prep_field, f_field, NULL}

const ExprFn fntime_table[] = {
	{"date_trunc", "ST", 'T', FN_STRICT, prep_date_trunc, f_date_trunc, NULL},
	{"datetrunc", "SM|SSS", 'L', FN_STRICT, prep_datetrunc, f_datetrunc, NULL},
	{"extract", "ST", 'L', FN_STRICT, prep_extract, f_extract, NULL},
	{"date_part", "ST", 'D', FN_STRICT, prep_extract, f_extract, NULL},
	{"now", "", 'T', FN_VOLATILE, NULL, f_now, free_now},
	{"current_timestamp", "", 'T', FN_VOLATILE, NULL, f_now, free_now},
	{"localtimestamp", "", 'T', FN_VOLATILE, NULL, f_now, free_now},
	{"ago", "S", 'L', FN_VOLATILE, prep_ago, f_ago, free_now},
	{"to_timestamp", "N", 'T', FN_STRICT, NULL, f_to_timestamp, NULL},
	{"$ts_add", "TI", 'T', FN_STRICT, NULL, f_ts_add, NULL},
	TOEPOCH("toepochseconds"), TOEPOCH("toepochminutes"), TOEPOCH("toepochhours"),
	TOEPOCH("toepochdays"),
	TOEPOCH2("toepochsecondsrounded"), TOEPOCH2("toepochminutesrounded"),
	TOEPOCH2("toepochhoursrounded"), TOEPOCH2("toepochdaysrounded"),
	TOEPOCH2("toepochsecondsbucket"), TOEPOCH2("toepochminutesbucket"),
	TOEPOCH2("toepochhoursbucket"), TOEPOCH2("toepochdaysbucket"),
	FROMEPOCH("fromepochseconds"), FROMEPOCH("fromepochminutes"), FROMEPOCH("fromepochhours"),
	FROMEPOCH("fromepochdays"),
	FROMEPOCH2("fromepochsecondsbucket"), FROMEPOCH2("fromepochminutesbucket"),
	FROMEPOCH2("fromepochhoursbucket"), FROMEPOCH2("fromepochdaysbucket"),
	{"todatetime", "MS|S", 'S', FN_STRICT | FN_CONSTARGS, prep_datetime, f_todatetime, NULL},
	{"fromdatetime", "SS|S", 'L', FN_STRICT | FN_CONSTARGS, prep_datetime, f_fromdatetime, NULL},
	{"datetimeconvert", "ASSS|S", 'L', FN_STRICT | FN_CONSTARGS, prep_dtconvert, f_dtconvert, NULL},
	FIELD("year"), FIELD("yearofweek"), FIELD("yow"), FIELD("quarter"), FIELD("month"),
	FIELD("week"), FIELD("weekofyear"), FIELD("dayofyear"), FIELD("doy"), FIELD("day"),
	FIELD("dayofmonth"), FIELD("dayofweek"), FIELD("dow"), FIELD("hour"), FIELD("minute"),
	FIELD("second"), FIELD("millisecond"),
	{NULL, NULL, 0, 0, NULL, NULL, NULL},
};
