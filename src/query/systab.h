/*
 * systab.h -- Waybill's virtual system tables (sys.tables, sys.segments):
 * one registry of names, columns and builders.  A query on one of them
 * builds a temporary MutSeg from the catalog's state at that moment and
 * scans it like any table.  (sys.dead_letters is a real table.)
 */
#ifndef WB_SYSTAB_H
#define WB_SYSTAB_H

#include "base/err.h"
#include "query/plan.h"
#include "storage/mutseg.h"
#include "table/catalog.h"

typedef struct SysTab SysTab;

/* The virtual table schema.table ("sys", "segments"), or NULL. */
const SysTab *systab_find(const char *schema, const char *table);
/* 1-based id for plans (0 = not a virtual table), and back. */
int systab_id(const SysTab *t);
const SysTab *systab_get(int id);
const char *systab_name(const SysTab *t);
int systab_ncols(const SysTab *t);
const BindCol *systab_cols(const SysTab *t);
/* Builds the table's rows now; *out is owned by the caller (mutseg_free). */
int systab_build(const SysTab *t, Catalog *cat, MutSeg **out, Err *e);

#endif
