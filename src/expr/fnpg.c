/*
 * fnpg.c -- the PostgreSQL functions that clients' catalog queries call:
 * version(), format_type, pg_table_is_visible, pg_get_userbyid,
 * obj_description & co, pg_get_expr, the privilege tests, current_setting,
 * quote_ident, pg_size_pretty, array_to_string, relation sizes.
 *
 * Waybill has no comments, defaults, rules or privileges, so the
 * functions about them answer what PostgreSQL answers for objects without
 * any (NULL, true); its only constraints and indexes are tables' primary
 * keys, whose definitions (pg_get_indexdef, pg_get_constraintdef) come
 * from the catalog hook, like relation sizes, names and text::regclass
 * (wb_regclass: a text is looked up, an OID named).  Settings are a constant table (also served
 * as pg_settings by query/systab.c).  Functions that need the session
 * (current_user, current_database()) or the catalog's names (::regclass)
 * are rewritten by the query layer (query/pgcat.c) before binding;
 * what needs the catalog at run time comes from the hooks the query
 * layer installs (fnpg_set_catalog).
 *
 * Exports: fnpg_table, fnpg_version, fnpg_nsettings, fnpg_setting_at,
 * fnpg_setting, fnpg_set_catalog.
 */
#include "expr/fnpg.h"
#include "expr/pgtype.h"

#include <stdint.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char fnpg_version[] = "PostgreSQL 15.0 (Waybill) on x86_64-pc-linux-gnu, compiled by gcc, 64-bit";

static const PgSetting settings[] = {
	{"server_version", "15.0", NULL, "Preset Options", "Shows the server version.", "string"},
	{"server_version_num", "150000", NULL, "Preset Options", "Shows the server version as an integer.", "integer"},
	{"server_encoding", "UTF8", NULL, "Preset Options", "Shows the server (database) character set encoding.", "string"},
	{"client_encoding", "UTF8", NULL, "Client Connection Defaults / Locale and Formatting", "Sets the client's character set encoding.", "string"},
	{"standard_conforming_strings", "on", NULL, "Version and Platform Compatibility", "Causes '...' strings to treat backslashes literally.", "bool"},
	{"DateStyle", "ISO, MDY", NULL, "Client Connection Defaults / Locale and Formatting", "Sets the display format for date and time values.", "string"},
	{"IntervalStyle", "postgres", NULL, "Client Connection Defaults / Locale and Formatting", "Sets the display format for interval values.", "enum"},
	{"TimeZone", "UTC", NULL, "Client Connection Defaults / Locale and Formatting", "Sets the time zone for displaying and interpreting time stamps.", "string"},
	{"integer_datetimes", "on", NULL, "Preset Options", "Shows whether datetimes are integer based.", "bool"},
	{"is_superuser", "on", NULL, "Preset Options", "Shows whether the current user is a superuser.", "bool"},
	{"application_name", "", NULL, "Reporting and Logging / What to Log", "Sets the application name to be reported in statistics and logs.", "string"},
	{"search_path", "\"$user\", public", NULL, "Client Connection Defaults / Statement Behavior", "Sets the schema search order for names that are not schema-qualified.", "string"},
	{"transaction_isolation", "read committed", NULL, "Client Connection Defaults / Statement Behavior", "Sets the current transaction's isolation level.", "enum"},
	{"default_transaction_isolation", "read committed", NULL, "Client Connection Defaults / Statement Behavior", "Sets the transaction isolation level of each new transaction.", "enum"},
	{"transaction_read_only", "off", NULL, "Client Connection Defaults / Statement Behavior", "Sets the current transaction's read-only status.", "bool"},
	{"default_transaction_read_only", "off", NULL, "Client Connection Defaults / Statement Behavior", "Sets the default read-only status of new transactions.", "bool"},
	{"in_hot_standby", "off", NULL, "Preset Options", "Shows whether hot standby is currently active.", "bool"},
	{"extra_float_digits", "1", NULL, "Client Connection Defaults / Locale and Formatting", "Sets the number of digits displayed for floating-point values.", "integer"},
	{"max_identifier_length", "63", NULL, "Preset Options", "Shows the maximum identifier length.", "integer"},
	{"max_index_keys", "32", NULL, "Preset Options", "Shows the maximum number of index keys.", "integer"},
	{"block_size", "8192", NULL, "Preset Options", "Shows the size of a disk block.", "integer"},
	{"lc_collate", "C.UTF-8", NULL, "Preset Options", "Shows the collation order locale.", "string"},
	{"lc_ctype", "C.UTF-8", NULL, "Preset Options", "Shows the character classification and case conversion locale.", "string"},
	{"lc_messages", "C.UTF-8", NULL, "Client Connection Defaults / Locale and Formatting", "Sets the language in which messages are displayed.", "string"},
	{"lc_monetary", "C.UTF-8", NULL, "Client Connection Defaults / Locale and Formatting", "Sets the locale for formatting monetary amounts.", "string"},
	{"lc_numeric", "C.UTF-8", NULL, "Client Connection Defaults / Locale and Formatting", "Sets the locale for formatting numbers.", "string"},
	{"lc_time", "C.UTF-8", NULL, "Client Connection Defaults / Locale and Formatting", "Sets the locale for formatting date and time values.", "string"},
	{"statement_timeout", "0", "ms", "Client Connection Defaults / Statement Behavior", "Sets the maximum allowed duration of any statement.", "integer"},
	{"lock_timeout", "0", "ms", "Client Connection Defaults / Statement Behavior", "Sets the maximum allowed duration of any wait for a lock.", "integer"},
	{"idle_in_transaction_session_timeout", "0", "ms", "Client Connection Defaults / Statement Behavior", "Sets the maximum allowed idle time between queries, when in a transaction.", "integer"},
	{"bytea_output", "hex", NULL, "Client Connection Defaults / Statement Behavior", "Sets the output format for bytea.", "enum"},
	{"escape_string_warning", "on", NULL, "Version and Platform Compatibility", "Warn about backslash escapes in ordinary string literals.", "bool"},
	{"row_security", "on", NULL, "Client Connection Defaults / Statement Behavior", "Enable row security.", "bool"},
	{"max_connections", "100", NULL, "Connections and Authentication / Connection Settings", "Sets the maximum number of concurrent connections.", "integer"},
	{"session_authorization", "waybill", NULL, "Preset Options", "Sets the session user name.", "string"},
	{"default_tablespace", "", NULL, "Client Connection Defaults / Statement Behavior", "Sets the default tablespace to create tables and indexes in.", "string"},
	{"data_directory_mode", "0700", NULL, "Preset Options", "Shows the mode of the data directory.", "integer"},
	{"wal_level", "replica", NULL, "Write-Ahead Log / Settings", "Sets the level of information written to the WAL.", "enum"},
	{"max_wal_senders", "0", NULL, "Replication / Sending Servers", "Sets the maximum number of simultaneously running WAL sender processes.", "integer"},
	{"ssl", "off", NULL, "Connections and Authentication / SSL", "Enables SSL connections.", "bool"},
	{"geqo", "on", NULL, "Query Tuning / Genetic Query Optimizer", "Enables genetic query optimization.", "bool"},
	{"work_mem", "4096", "kB", "Resource Usage / Memory", "Sets the maximum memory to be used for query workspaces.", "integer"},
};

#define NSET ((int)(sizeof(settings) / sizeof(settings[0])))

int fnpg_nsettings(void) { return NSET; }

const PgSetting *
fnpg_setting_at(int i)
{
	return i >= 0 && i < NSET ? &settings[i] : NULL;
}

const PgSetting *
fnpg_setting(const char *name)
{
	if (strcasecmp(name, "transaction isolation level") == 0)
		name = "transaction_isolation";
	for (int i = 0; i < NSET; i++)
		if (strcasecmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

static _Atomic(FnpgRelSize) relsize_fn;
static _Atomic(FnpgRelName) relname_fn;
static _Atomic(FnpgRelOid) reloid_fn;
static _Atomic(FnpgIndexDef) indexdef_fn;
static _Atomic(void *) relsize_arg;

void
fnpg_set_catalog(const FnpgCatalog *fc)
{
	atomic_store(&relsize_arg, fc->arg);
	atomic_store(&relsize_fn, fc->size);
	atomic_store(&relname_fn, fc->name);
	atomic_store(&reloid_fn, fc->oid);
	atomic_store(&indexdef_fn, fc->indexdef);
}

/* ---- helpers ------------------------------------------------------------ */

static int
put_str(FnCall *c, int r, const char *s, size_t n)
{
	char *d = arena_alloc(c->arena, n + 1);
	if (d == NULL)
		return ERR_NOMEM;
	memcpy(d, s, n);
	d[n] = '\0';
	c->os[r] = d;
	c->ol[r] = (uint32_t)n;
	return 0;
}

static int
f_true(FnCall *c)
{
	FN_FOR(c, k, r) {
		c->on[r] = 0;
		c->oi[r] = 1;
	}
	return 0;
}

static int
f_false(FnCall *c)
{
	FN_FOR(c, k, r) {
		c->on[r] = 0;
		c->oi[r] = 0;
	}
	return 0;
}

/* NULL: no comment, no default, no definition */
static int
f_null(FnCall *c)
{
	FN_FOR(c, k, r) c->on[r] = 1;
	return 0;
}

static int
f_version(FnCall *c)
{
	FN_FOR(c, k, r) {
		c->os[r] = fnpg_version;
		c->ol[r] = (uint32_t)strlen(fnpg_version);
	}
	return 0;
}

static int
f_current_schema(FnCall *c)
{
	FN_FOR(c, k, r) {
		c->os[r] = "public";
		c->ol[r] = 6;
	}
	return 0;
}

static int
f_backend_pid(FnCall *c)
{
	int pid = (int)getpid();
	FN_FOR(c, k, r) c->oi[r] = pid;
	return 0;
}

static int
f_format_type(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int32_t typmod = -1;
		if (c->e->nargs > 1 && !exprfn_null(c->a[1], r))
			typmod = (int32_t)exprfn_i(c->a[1], r);
		char buf[96];
		pgtype_format((int32_t)exprfn_i(c->a[0], r), typmod, buf, sizeof(buf));
		if (put_str(c, r, buf, strlen(buf)) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

static int
f_userbyid(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		char buf[48];
		int64_t id = exprfn_i(c->a[0], r);
		if (id == 10)
			snprintf(buf, sizeof(buf), "waybill");
		else
			snprintf(buf, sizeof(buf), "unknown (OID=%lld)", (long long)id);
		if (put_str(c, r, buf, strlen(buf)) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

/* pg_get_expr(text, relation): Waybill keeps expressions as their text */
static int
f_get_expr(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = exprfn_str(c->a[0], r, &n);
		c->os[r] = s;
		c->ol[r] = n;
	}
	return 0;
}

static int
f_encoding(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t v = exprfn_i(c->a[0], r);
		c->os[r] = v == 6 ? "UTF8" : v == 0 ? "SQL_ASCII" : "";
		c->ol[r] = (uint32_t)strlen(c->os[r]);
	}
	return 0;
}

static int
f_current_setting(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = exprfn_str(c->a[0], r, &n);
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(n < 127 ? n : 127), s);
		const PgSetting *p = fnpg_setting(name);
		if (p == NULL) {
			int missing_ok = c->e->nargs > 1 && !exprfn_null(c->a[1], r) && exprfn_i(c->a[1], r) != 0;
			if (missing_ok) {
				c->on[r] = 1;
				continue;
			}
			return exprfn_fail(c, ERR_INVALID, "unrecognized configuration parameter \"%s\"", name);
		}
		c->os[r] = p->setting;
		c->ol[r] = (uint32_t)strlen(p->setting);
	}
	return 0;
}

/* set_config(name, value, is_local): the new value, which nothing keeps */
static int
f_set_config(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = exprfn_str(c->a[1], r, &n);
		c->os[r] = s;
		c->ol[r] = n;
	}
	return 0;
}

static int
f_quote_ident(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n;
		const char *s = exprfn_str(c->a[0], r, &n);
		int plain = n > 0 && ((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_');
		for (uint32_t i = 0; i < n && plain; i++)
			plain = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
		if (plain) {
			c->os[r] = s;
			c->ol[r] = n;
			continue;
		}
		char *d = arena_alloc(c->arena, 2 * (size_t)n + 3);
		if (d == NULL)
			return ERR_NOMEM;
		size_t o = 0;
		d[o++] = '"';
		for (uint32_t i = 0; i < n; i++) {
			if (s[i] == '"')
				d[o++] = '"';
			d[o++] = s[i];
		}
		d[o++] = '"';
		d[o] = '\0';
		c->os[r] = d;
		c->ol[r] = (uint32_t)o;
	}
	return 0;
}

/* pg_size_pretty(bigint): PostgreSQL's rounding (half up, 10 * unit) */
static int
f_size_pretty(FnCall *c)
{
	static const char *units[] = {"bytes", "kB", "MB", "GB", "TB", "PB"};
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t v = exprfn_i(c->a[0], r);
		int u = 0;
		int64_t a = v < 0 ? -v : v;
		while (u < 5 && a >= 10 * 1024 - (u == 0 ? 0 : 512)) {
			v = v / 1024 + (v % 1024 >= 512 ? 1 : 0);
			a = v < 0 ? -v : v;
			u++;
		}
		char buf[48];
		snprintf(buf, sizeof(buf), "%lld %s", (long long)v, units[u]);
		if (put_str(c, r, buf, strlen(buf)) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

static int
f_relsize(FnCall *c)
{
	FnpgRelSize fn = atomic_load(&relsize_fn);
	void *arg = atomic_load(&relsize_arg);
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t v = fn ? fn((int32_t)exprfn_i(c->a[0], r), arg) : -1;
		if (v < 0)
			c->on[r] = 1;
		else
			c->oi[r] = v;
	}
	return 0;
}

/* oid::regclass: the relation's name, or the OID when there is none */
static int
f_regclass_name(FnCall *c)
{
	FnpgRelName fn = atomic_load(&relname_fn);
	void *arg = atomic_load(&relsize_arg);
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t oid = exprfn_i(c->a[0], r);
		char buf[520];
		if (fn == NULL || fn((int32_t)oid, arg, buf, sizeof(buf)) != 0)
			snprintf(buf, sizeof(buf), "%lld", (long long)oid);
		if (put_str(c, r, buf, strlen(buf)) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

/* text::regclass of an expression: the relation's OID, looked up per row
 * (an unknown name fails, as in PostgreSQL) */
static int
f_regclass_oid(FnCall *c)
{
	FnpgRelOid fn = atomic_load(&reloid_fn);
	void *arg = atomic_load(&relsize_arg);
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t n = 0;
		const char *s = exprfn_str(c->a[0], r, &n);
		int32_t oid = fn && s ? fn(s, n, arg) : 0;
		if (oid == 0)
			return exprfn_fail(c, ERR_TABLE_MISSING, "relation \"%.*s\" does not exist",
					   (int)(s ? n : 0), s ? s : "");
		c->oi[r] = oid;
	}
	return 0;
}

/* pg_get_indexdef(oid [, col, pretty]) and pg_get_constraintdef(oid [,
 * pretty]): the definitions of the primary keys Waybill shows, NULL for
 * any other OID */
static int
get_def(FnCall *c, int constraint)
{
	FnpgIndexDef fn = atomic_load(&indexdef_fn);
	void *arg = atomic_load(&relsize_arg);
	FN_FOR(c, k, r) {
		if (exprfn_null(c->a[0], r)) {
			c->on[r] = 1;
			continue;
		}
		int col = constraint ? -1 : 0;
		if (!constraint && c->e->nargs >= 2) {
			if (exprfn_null(c->a[1], r)) {
				c->on[r] = 1;
				continue;
			}
			col = (int)exprfn_i(c->a[1], r);
			if (col < 0)
				col = 0;
		}
		char buf[2048];
		if (fn == NULL || fn((int32_t)exprfn_i(c->a[0], r), col, arg, buf, sizeof(buf)) != 0) {
			c->on[r] = 1;
			continue;
		}
		if (put_str(c, r, buf, strlen(buf)) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

static int f_indexdef(FnCall *c) { return get_def(c, 0); }
static int f_constraintdef(FnCall *c) { return get_def(c, 1); }

/* visible: in public or pg_catalog (the search path) */
static int
f_table_visible(FnCall *c)
{
	FnpgRelName fn = atomic_load(&relname_fn);
	void *arg = atomic_load(&relsize_arg);
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		char buf[520];
		c->oi[r] = fn != NULL && fn((int32_t)exprfn_i(c->a[0], r), arg, buf, sizeof(buf)) == 0 &&
			   strchr(buf, '.') == NULL;
	}
	return 0;
}

static int
f_nspname(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		int64_t oid = exprfn_i(c->a[0], r);
		const char *s = oid == 11 ? "pg_catalog" : oid == 2200 ? "public" : oid == 13000 ? "information_schema"
			      : oid == 13001 ? "sys" : NULL;
		char buf[32];
		if (s == NULL) {
			snprintf(buf, sizeof(buf), "%lld", (long long)oid);
			s = buf;
		}
		if (put_str(c, r, s, strlen(s)) != 0)
			return ERR_NOMEM;
	}
	return 0;
}

/* json_build_object(k1, v1, ...): a JSON object of the pairs */
static int
f_json_build_object(FnCall *c)
{
	int n = c->e->nargs;
	if (n % 2 != 0)
		return exprfn_fail(c, ERR_INVALID, "argument list must have even number of elements");
	FN_FOR(c, k, r) {
		size_t cap = 64, len = 0;
		char *d = arena_alloc(c->arena, cap);
		if (d == NULL)
			return ERR_NOMEM;
		d[len++] = '{';
		for (int j = 0; j < n; j++) {
			char num[64];
			const char *s = num;
			size_t m;
			int quote = 0;
			const Vec *v = c->a[j];
			if (exprfn_null(v, r)) {
				if (j % 2 == 0)
					return exprfn_fail(c, ERR_INVALID, "null value not allowed for object key");
				s = "null";
				m = 4;
			} else if (type_is_var(v->type)) {
				uint32_t sl;
				s = exprfn_str(v, r, &sl);
				m = sl;
				quote = v->type != TYPE_JSON || j % 2 == 0;
			} else if (v->type == TYPE_BOOLEAN) {
				s = exprfn_i(v, r) ? "true" : "false";
				m = strlen(s);
				quote = j % 2 == 0;
			} else if (type_is_float(v->type)) {
				m = (size_t)snprintf(num, sizeof(num), "%.17g", exprfn_d(v, r));
				quote = j % 2 == 0;
			} else {
				m = (size_t)snprintf(num, sizeof(num), "%lld", (long long)exprfn_i(v, r));
				quote = j % 2 == 0;
			}
			size_t need = len + 2 * m + 8;
			if (need > cap) {
				while (cap < need)
					cap *= 2;
				char *nd = arena_alloc(c->arena, cap);
				if (nd == NULL)
					return ERR_NOMEM;
				memcpy(nd, d, len);
				d = nd;
			}
			/* PostgreSQL's spacing: {"k" : v, "k2" : v2} */
			if (j % 2) {
				memcpy(d + len, " : ", 3);
				len += 3;
			} else if (j > 0) {
				memcpy(d + len, ", ", 2);
				len += 2;
			}
			if (quote)
				d[len++] = '"';
			for (size_t i = 0; i < m; i++) {
				if (quote && (s[i] == '"' || s[i] == '\\'))
					d[len++] = '\\';
				d[len++] = s[i];
			}
			if (quote)
				d[len++] = '"';
		}
		d[len++] = '}';
		d[len] = '\0';
		c->on[r] = 0;
		c->os[r] = d;
		c->ol[r] = (uint32_t)len;
	}
	return 0;
}

/* x = ANY (array): wb_array_contains(array, x) */
static int
f_array_contains(FnCall *c)
{
	const Vec *x = c->a[1];
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(c->a[0], r, &st, &n);
		int hit = 0;
		for (uint32_t i = 0; i < n && !hit; i++) {
			Value v = exprvec_elem(c->a[0], st + i);
			if (v.null)
				continue;
			if (type_is_var((WbType)v.type) && type_is_var(x->type)) {
				uint32_t sl;
				const char *s = exprfn_str(x, r, &sl);
				hit = sl == v.n && memcmp(s, v.u.s, sl) == 0;
			} else if (type_is_numeric((WbType)v.type) && type_is_numeric(x->type)) {
				double a = type_is_float((WbType)v.type) ? v.u.d : (double)v.u.i;
				hit = a == exprfn_d(x, r);
			}
		}
		c->oi[r] = hit;
	}
	return 0;
}

/* array_upper(array, 1): its length (NULL when empty); array_lower: 1 */
static int
f_array_upper(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(c->a[0], r, &st, &n);
		if (n == 0 || exprfn_i(c->a[1], r) != 1)
			c->on[r] = 1;
		else
			c->oi[r] = n;
	}
	return 0;
}

static int
f_array_lower(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(c->a[0], r, &st, &n);
		if (n == 0 || exprfn_i(c->a[1], r) != 1)
			c->on[r] = 1;
		else
			c->oi[r] = 1;
	}
	return 0;
}

/* x[i] over a value that is not an array */
static int
prep_not_array(Expr *e, Arena *a, Err *err)
{
	(void)e;
	(void)a;
	return err_set(err, ERR_TYPE, "cannot subscript a value that is not an array");
}

/* array[i]: element i (from 1), NULL outside */
/* arr[i]: from 1 (base 0), or from 0 (base 1: PostgreSQL's int2vector
 * and oidvector columns, wb_subscript0) */
static int
subscript(FnCall *c, int64_t base)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(c->a[0], r, &st, &n);
		int64_t i = exprfn_i(c->a[1], r);
		if (i > INT64_MIN + 1 && i < INT64_MAX - 1)
			i += base;
		if (i < 1 || i > (int64_t)n) {
			c->on[r] = 1;
			continue;
		}
		Value v = exprvec_elem(c->a[0], st + (uint64_t)(i - 1));
		if (v.null)
			c->on[r] = 1;
		else if (type_is_var((WbType)v.type)) {
			c->os[r] = v.u.s;
			c->ol[r] = v.n;
		} else if (type_is_float((WbType)v.type)) {
			if (c->od)
				c->od[r] = v.u.d;
			else
				c->oi[r] = (int64_t)v.u.d;
		} else {
			c->oi[r] = v.u.i;
		}
	}
	return 0;
}

static int f_subscript(FnCall *c) { return subscript(c, 0); }
static int f_subscript0(FnCall *c) { return subscript(c, 1); }

/* Splits s into c->omv's string elements at row r: by sep
 * (string_to_array) or as a dotted identifier (parse_ident: quoted parts
 * exact, others lowercased).  Pass 0 counts, pass 1 writes. */
static uint32_t
split_row(FnCall *c, int r, int ident, const char **os, uint32_t *ol, uint64_t w)
{
	uint32_t n, sl = 0;
	const char *s = exprfn_str(c->a[0], r, &n);
	const char *sep = ident ? "." : exprfn_str(c->a[1], r, &sl);
	if (ident)
		sl = 1;
	if (n == 0)
		return 0;
	uint32_t cnt = 0, i = 0, start = 0;
	int inq = 0;
	for (;;) {
		int at_end = i >= n;
		int at_sep = !at_end && !inq && sl > 0 && i + sl <= n && memcmp(s + i, sep, sl) == 0;
		if (at_end || at_sep) {
			if (os != NULL) {
				const char *p = s + start;
				uint32_t len = i - start;
				if (ident) {
					char *d = arena_alloc(c->arena, (size_t)len + 1);
					if (d == NULL)
						return 0;
					uint32_t k = 0;
					for (uint32_t j = 0; j < len; j++) {
						char ch = p[j];
						if (ch == '"')
							continue;
						if (!(p[0] == '"') && ch >= 'A' && ch <= 'Z')
							ch = (char)(ch + 32);
						d[k++] = ch;
					}
					d[k] = '\0';
					p = d;
					len = k;
				}
				os[w + cnt] = p;
				ol[w + cnt] = len;
			}
			cnt++;
			if (at_end)
				break;
			i += sl;
			start = i;
			continue;
		}
		if (ident && s[i] == '"')
			inq = !inq;
		i++;
	}
	return cnt;
}

static int
split_mv(FnCall *c, int ident)
{
	uint64_t total = 0;
	FN_FOR(c, k, r) {
		if (!c->on[r])
			total += split_row(c, r, ident, NULL, NULL, 0);
	}
	Vec *o = c->omv;
	size_t nn = total ? (size_t)total : 1;
	const char **os = arena_alloc(c->arena, nn * sizeof(char *));
	uint32_t *ol = arena_alloc(c->arena, nn * sizeof(uint32_t));
	if (os == NULL || ol == NULL)
		return exprfn_fail(c, ERR_NOMEM, "out of memory");
	o->s = os;
	o->slen = ol;
	uint32_t *off = (uint32_t *)o->mvoff, *cnt = (uint32_t *)o->mvcnt;
	uint64_t w = 0;
	FN_FOR(c, k, r) {
		off[r] = (uint32_t)w;
		cnt[r] = 0;
		if (c->on[r])
			continue;
		cnt[r] = split_row(c, r, ident, os, ol, w);
		w += cnt[r];
	}
	return 0;
}

static int f_string_to_array(FnCall *c) { return split_mv(c, 0); }
static int f_parse_ident(FnCall *c) { return split_mv(c, 1); }

/* array_length(array, 1) */
static int
f_array_length(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(c->a[0], r, &st, &n);
		if (n == 0 || exprfn_i(c->a[1], r) != 1)
			c->on[r] = 1;
		else
			c->oi[r] = n;
	}
	return 0;
}

/* array || array (array_cat): the elements of both; a NULL array is
 * empty */
static int
f_array_cat(FnCall *c)
{
	WbType t = c->e->type;
	int strings = type_is_var(t);
	uint64_t total = 0;
	FN_FOR(c, k, r) {
		for (int j = 0; j < 2; j++) {
			uint64_t st;
			uint32_t n;
			if (exprfn_null(c->a[j], r))
				continue;
			exprvec_mv_range(c->a[j], r, &st, &n);
			total += n;
		}
	}
	Vec *o = c->omv;
	size_t nn = total ? (size_t)total : 1;
	if (strings) {
		o->s = arena_alloc(c->arena, nn * sizeof(char *));
		o->slen = arena_alloc(c->arena, nn * sizeof(uint32_t));
		if (o->s == NULL || o->slen == NULL)
			return exprfn_fail(c, ERR_NOMEM, "out of memory");
	} else if ((o->elems = arena_alloc(c->arena, nn * 8)) == NULL) {
		return exprfn_fail(c, ERR_NOMEM, "out of memory");
	}
	uint32_t *off = (uint32_t *)o->mvoff, *cnt = (uint32_t *)o->mvcnt;
	uint64_t w = 0;
	FN_FOR(c, k, r) {
		c->on[r] = 0;
		off[r] = (uint32_t)w;
		for (int j = 0; j < 2; j++) {
			uint64_t st;
			uint32_t n;
			if (exprfn_null(c->a[j], r))
				continue;
			exprvec_mv_range(c->a[j], r, &st, &n);
			for (uint32_t i = 0; i < n; i++, w++) {
				Value x = exprvec_elem(c->a[j], st + i);
				if (strings) {
					((const char **)o->s)[w] = type_is_var((WbType)x.type) ? x.u.s : "";
					((uint32_t *)o->slen)[w] = type_is_var((WbType)x.type) ? x.n : 0;
				} else if (type_is_float(t)) {
					((double *)o->elems)[w] = type_is_float((WbType)x.type) ? x.u.d : (double)x.u.i;
				} else {
					((int64_t *)o->elems)[w] = type_is_float((WbType)x.type) ? (int64_t)x.u.d : x.u.i;
				}
			}
		}
		cnt[r] = (uint32_t)(w - off[r]);
	}
	return 0;
}

/* current_schemas(include_implicit): the search path, pg_catalog first
 * when implicit schemas are asked for */
static int
f_current_schemas(FnCall *c)
{
	static const char *path[] = {"pg_catalog", "public"};
	Vec *o = c->omv;
	size_t nn = 2 * (size_t)(c->nsel > 0 ? c->nsel : 1);
	const char **os = arena_alloc(c->arena, nn * sizeof(char *));
	uint32_t *ol = arena_alloc(c->arena, nn * sizeof(uint32_t));
	if (os == NULL || ol == NULL)
		return exprfn_fail(c, ERR_NOMEM, "out of memory");
	o->s = os;
	o->slen = ol;
	uint32_t *off = (uint32_t *)o->mvoff, *cnt = (uint32_t *)o->mvcnt;
	uint32_t w = 0;
	FN_FOR(c, k, r) {
		off[r] = w;
		cnt[r] = 0;
		if (c->on[r])
			continue;
		for (int i = exprfn_i(c->a[0], r) ? 0 : 1; i < 2; i++, w++) {
			os[w] = path[i];
			ol[w] = (uint32_t)strlen(path[i]);
			cnt[r]++;
		}
	}
	return 0;
}

/* array_to_string(array, sep [, null_text]) over a multi-value column */
static int
f_array_to_string(FnCall *c)
{
	FN_FOR(c, k, r) {
		if (c->on[r])
			continue;
		uint32_t sl;
		const char *sep = exprfn_str(c->a[1], r, &sl);
		uint64_t st;
		uint32_t n;
		exprvec_mv_range(c->a[0], r, &st, &n);
		size_t cap = 64, len = 0;
		char *d = arena_alloc(c->arena, cap);
		for (uint32_t i = 0; d && i < n; i++) {
			Value v = exprvec_elem(c->a[0], st + i);
			char num[48];
			const char *s = num;
			size_t m;
			if (v.null)
				continue;
			if (type_is_var((WbType)v.type)) {
				s = v.u.s;
				m = v.n;
			} else if (type_is_float((WbType)v.type)) {
				m = (size_t)snprintf(num, sizeof(num), "%.17g", v.u.d);
			} else {
				m = (size_t)snprintf(num, sizeof(num), "%lld", (long long)v.u.i);
			}
			size_t need = len + m + sl + 1;
			if (need > cap) {
				while (cap < need)
					cap *= 2;
				char *nd = arena_alloc(c->arena, cap);
				if (nd == NULL)
					return ERR_NOMEM;
				memcpy(nd, d, len);
				d = nd;
			}
			if (len > 0) {
				memcpy(d + len, sep, sl);
				len += sl;
			}
			memcpy(d + len, s, m);
			len += m;
		}
		if (d == NULL)
			return ERR_NOMEM;
		d[len] = '\0';
		c->os[r] = d;
		c->ol[r] = (uint32_t)len;
	}
	return 0;
}

const ExprFn fnpg_table[] = {
	{"version", "", 'S', 0, NULL, f_version, NULL},
	{"current_schema", "", 'S', 0, NULL, f_current_schema, NULL},
	{"pg_backend_pid", "", 'I', FN_VOLATILE, NULL, f_backend_pid, NULL},
	{"format_type", "A|A", 'S', 0, NULL, f_format_type, NULL},
	{"pg_type_is_visible", "A", 'B', 0, NULL, f_true, NULL},
	{"pg_function_is_visible", "A", 'B', 0, NULL, f_true, NULL},
	{"pg_get_userbyid", "A", 'S', FN_STRICT, NULL, f_userbyid, NULL},
	{"obj_description", "A|A", 'S', 0, NULL, f_null, NULL},
	{"col_description", "AA", 'S', 0, NULL, f_null, NULL},
	{"shobj_description", "AA", 'S', 0, NULL, f_null, NULL},
	{"pg_get_expr", "S|AA", 'S', FN_STRICT, NULL, f_get_expr, NULL},
	{"pg_get_indexdef", "A|AA", 'S', FN_VOLATILE, NULL, f_indexdef, NULL},
	{"pg_get_constraintdef", "A|A", 'S', FN_VOLATILE, NULL, f_constraintdef, NULL},
	{"pg_get_viewdef", "A|A", 'S', 0, NULL, f_null, NULL},
	{"pg_get_triggerdef", "A|A", 'S', 0, NULL, f_null, NULL},
	{"pg_get_function_result", "A", 'S', 0, NULL, f_null, NULL},
	{"pg_get_function_arguments", "A", 'S', 0, NULL, f_null, NULL},
	{"pg_get_function_identity_arguments", "A", 'S', 0, NULL, f_null, NULL},
	{"pg_get_statisticsobjdef_columns", "A", 'S', 0, NULL, f_null, NULL},
	{"pg_get_serial_sequence", "AA", 'S', 0, NULL, f_null, NULL},
	{"pg_get_partkeydef", "A", 'S', 0, NULL, f_null, NULL},
	{"pg_encoding_to_char", "A", 'S', FN_STRICT, NULL, f_encoding, NULL},
	{"has_table_privilege", "AA|A", 'B', 0, NULL, f_true, NULL},
	{"has_schema_privilege", "AA|A", 'B', 0, NULL, f_true, NULL},
	{"has_database_privilege", "AA|A", 'B', 0, NULL, f_true, NULL},
	{"has_column_privilege", "AAA|A", 'B', 0, NULL, f_true, NULL},
	{"has_any_column_privilege", "AA|A", 'B', 0, NULL, f_true, NULL},
	{"has_sequence_privilege", "AA|A", 'B', 0, NULL, f_true, NULL},
	{"has_function_privilege", "AA|A", 'B', 0, NULL, f_true, NULL},
	{"pg_has_role", "AA|A", 'B', 0, NULL, f_true, NULL},
	{"pg_is_in_recovery", "", 'B', 0, NULL, f_false, NULL},
	{"pg_relation_is_publishable", "A", 'B', 0, NULL, f_false, NULL},
	{"current_setting", "S|B", 'S', FN_STRICT, NULL, f_current_setting, NULL},
	{"set_config", "SSB", 'S', FN_VOLATILE, NULL, f_set_config, NULL},
	{"quote_ident", "S", 'S', FN_STRICT, NULL, f_quote_ident, NULL},
	{"pg_size_pretty", "N", 'S', FN_STRICT, NULL, f_size_pretty, NULL},
	{"pg_relation_size", "A|S", 'L', FN_STRICT | FN_VOLATILE, NULL, f_relsize, NULL},
	{"pg_table_size", "A", 'L', FN_STRICT | FN_VOLATILE, NULL, f_relsize, NULL},
	{"pg_total_relation_size", "A", 'L', FN_STRICT | FN_VOLATILE, NULL, f_relsize, NULL},
	{"pg_indexes_size", "A", 'L', FN_STRICT, NULL, f_false, NULL},
	{"array_to_string", "VS|S", 'S', FN_STRICT, NULL, f_array_to_string, NULL},
	{"string_to_array", "SS", 'S', FN_STRICT | FN_MVRESULT | FN_VOLATILE, NULL, f_string_to_array, NULL},
	{"parse_ident", "S|B", 'S', FN_STRICT | FN_MVRESULT | FN_VOLATILE, NULL, f_parse_ident, NULL},
	{"array_length", "VI", 'I', FN_STRICT, NULL, f_array_length, NULL},
	{"current_schemas", "B", 'S', FN_STRICT | FN_MVRESULT | FN_VOLATILE, NULL, f_current_schemas, NULL},
	{"array_cat", "VV", '0', FN_MVRESULT | FN_VOLATILE, NULL, f_array_cat, NULL},
	{"wb_array_contains", "VA", 'B', FN_STRICT, NULL, f_array_contains, NULL},
	{"array_upper", "VI", 'I', FN_STRICT, NULL, f_array_upper, NULL},
	{"array_lower", "VI", 'I', FN_STRICT, NULL, f_array_lower, NULL},
	{"wb_subscript", "VI", '0', FN_STRICT, NULL, f_subscript, NULL},
	{"wb_subscript", "AI", 'S', FN_STRICT, prep_not_array, f_null, NULL},
	{"wb_subscript0", "VI", '0', FN_STRICT, NULL, f_subscript0, NULL},
	{"wb_subscript0", "AI", 'S', FN_STRICT, prep_not_array, f_null, NULL},
	{"pg_table_is_visible", "A", 'B', FN_STRICT, NULL, f_table_visible, NULL},
	{"wb_regclass_name", "A", 'S', FN_STRICT | FN_VOLATILE, NULL, f_regclass_name, NULL},
	{"wb_regclass", "S", 'I', FN_STRICT | FN_VOLATILE, NULL, f_regclass_oid, NULL},
	{"wb_regclass", "A", 'S', FN_STRICT | FN_VOLATILE, NULL, f_regclass_name, NULL},
	{"wb_nspname", "A", 'S', FN_STRICT, NULL, f_nspname, NULL},
	{"json_build_object", "|A*", 'S', FN_VOLATILE, NULL, f_json_build_object, NULL},
	{NULL, NULL, 0, 0, NULL, NULL, NULL},
};
