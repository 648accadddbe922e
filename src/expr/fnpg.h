/*
 * fnpg.h -- PostgreSQL's catalog and session functions (fnpg.c) and the
 * server settings they and pg_settings read.
 */
#ifndef WB_FNPG_H
#define WB_FNPG_H

#include <stddef.h>
#include <stdint.h>

#include "expr/exprfn.h"

extern const ExprFn fnpg_table[];

/* "PostgreSQL 15.0 (Waybill) on x86_64-pc-linux-gnu, ..." */
extern const char fnpg_version[];

typedef struct PgSetting {
	const char *name;
	const char *setting;
	const char *unit;	/* or NULL */
	const char *category;
	const char *desc;
	const char *vartype;	/* bool, integer, string, enum, real */
} PgSetting;

/* The emulated server settings: i in [0, fnpg_nsettings()). */
int fnpg_nsettings(void);
const PgSetting *fnpg_setting_at(int i);
/* The setting named name (case-insensitive; "transaction isolation
 * level" is transaction_isolation), or NULL. */
const PgSetting *fnpg_setting(const char *name);

/* The catalog's answers, installed by the query layer (arg: its
 * catalog): a relation's size in bytes for pg_relation_size /
 * pg_table_size / pg_total_relation_size (-1 = no such relation: NULL),
 * and its name for oid::regclass (wb_regclass_name; -1 = none: the OID
 * as text, as PostgreSQL prints an unknown one). */
typedef int64_t (*FnpgRelSize)(int32_t oid, void *arg);
typedef int (*FnpgRelName)(int32_t oid, void *arg, char *out, size_t cap);
/* The OID of the relation a regclass input names ('t', 'public.t',
 * '"T"'), 0 when there is none (text::regclass at run time). */
typedef int32_t (*FnpgRelOid)(const char *name, size_t n, void *arg);
/* pg_get_indexdef(oid) (col 0) and the name of its column col (col > 0),
 * pg_get_constraintdef(oid) (col -1) into out; -1 when there is none. */
typedef int (*FnpgIndexDef)(int32_t oid, int col, void *arg, char *out, size_t cap);
typedef struct FnpgCatalog {
	FnpgRelSize size;
	FnpgRelName name;
	FnpgRelOid oid;
	FnpgIndexDef indexdef;
	void *arg;
} FnpgCatalog;
/* Copies *fc (process-wide; fc->arg must outlive every query). */
void fnpg_set_catalog(const FnpgCatalog *fc);

#endif
