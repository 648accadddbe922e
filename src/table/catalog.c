/*
 * catalog.c -- schemas and tables of a server, persisted as the JSON that
 * was posted, and reopened at start-up.
 *
 * In memory: two small arrays (schemas, tables) under one rwlock; lookups
 * take the read lock and return a new reference.  Changes write the JSON
 * file first (atomic replace: temp file, fsync, rename, fsync dir), then
 * change the maps, so a crash leaves either the old or the new state.
 *
 * Dropping a table removes its config files, then renames its data
 * directory to DATA/tables/.dropped.<name>.<ms>.<n> (removed by the last
 * table_unref, or by the next catalog_open), so a table re-created under
 * the same name neither replays the old rows nor loses its own when the
 * old table's last reader ends; creating a table first removes any data a
 * drop that crashed half-way left under its name.  Directories created
 * here are fsynced into their parents.
 *
 * Locks: write_mu (serializes changes) is taken before the rwlock, never
 * the other way round.  Partition writers never take either, so closing a
 * table (joining its writers) under write_mu cannot deadlock.
 *
 * Replacing a schema that tables use may only add columns (anywhere in
 * the field order); the tables' data is rewritten in the new layout
 * before the schema file -- the commit point -- is replaced (see
 * replace_schema_in_use; table.c and partition.c hold the details).
 * Dropping, retyping or changing single/multi-value of a column in use
 * is refused with ERR_BAD_SCHEMA naming the column.
 *
 * A table name holds up to two configs (OFFLINE, REALTIME: a Pinot hybrid
 * table) over one set of partitions.  The system table sys.dead_letters is
 * created at open with a built-in schema; it is not listed by GET /tables
 * and cannot be dropped.
 *
 * Exports: catalog_open, catalog_close, catalog_data_dir, catalog_version,
 * catalog_put_schema, catalog_delete_schema, catalog_get_schema,
 * catalog_list_schemas, catalog_put_table, catalog_delete_table,
 * catalog_get_table, catalog_get_table_ci, catalog_list_tables,
 * catalog_tables, catalog_set_observer, catalog_dead_letter.
 */
#define _GNU_SOURCE
#include "table/catalog.h"
#include "table/table_int.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DEAD_LETTERS "sys.dead_letters"
#define GRAVE_PREFIX ".dropped."

static const char dead_schema_json[] =
	"{\"schemaName\":\"sys_dead_letters\",\"dimensionFieldSpecs\":["
	"{\"name\":\"table_name\",\"dataType\":\"STRING\"},"
	"{\"name\":\"source\",\"dataType\":\"STRING\"},"
	"{\"name\":\"position\",\"dataType\":\"LONG\"},"
	"{\"name\":\"column_name\",\"dataType\":\"STRING\"},"
	"{\"name\":\"error\",\"dataType\":\"STRING\"},"
	"{\"name\":\"raw\",\"dataType\":\"STRING\"}],"
	"\"dateTimeFieldSpecs\":[{\"name\":\"ingested_at\",\"dataType\":\"TIMESTAMP\","
	"\"format\":\"1:MILLISECONDS:EPOCH\",\"granularity\":\"1:MILLISECONDS\"}]}";
static const char dead_table_json[] =
	"{\"tableName\":\"sys_dead_letters\",\"tableType\":\"REALTIME\","
	"\"segmentsConfig\":{\"schemaName\":\"sys_dead_letters\",\"timeColumnName\":\"ingested_at\"},"
	"\"tableIndexConfig\":{},\"tenants\":{},\"metadata\":{}}";

struct Catalog {
	char *dir;
	pthread_rwlock_t lock;
	int nschemas, schemas_cap;
	Schema **schemas;
	int ntables, tables_cap;
	Table **tables;
	Table *dead;
	int lock_fd;		/* flock on DATA/LOCK: one server per directory */
	_Atomic unsigned long version;
	_Atomic unsigned long drops;	/* names dropped data directories */
	pthread_mutex_t write_mu;	/* serializes changes */
	TableObserver obs_fn;	/* every table's write observer (under write_mu) */
	void *obs_ctx;
};

static int
valid_name(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > 200 || n[0] == '.')
		return 0;
	for (const char *p = n; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

static int
find_schema(Catalog *c, const char *name)
{
	for (int i = 0; i < c->nschemas; i++)
		if (strcmp(c->schemas[i]->name, name) == 0)
			return i;
	return -1;
}

static int
find_table(Catalog *c, const char *name)
{
	for (int i = 0; i < c->ntables; i++)
		if (strcmp(table_name(c->tables[i]), name) == 0)
			return i;
	return -1;
}

static int
grow(void **arr, int *cap, int n, size_t elem)
{
	if (n < *cap)
		return 0;
	int ncap = *cap ? *cap * 2 : 16;
	void *na = mem_realloc(*arr, (size_t)ncap * elem);
	if (na == NULL)
		return ERR_NOMEM;
	*arr = na;
	*cap = ncap;
	return 0;
}

static void
path_of(Catalog *c, char *out, size_t n, const char *kind, const char *name, const char *suffix)
{
	snprintf(out, n, "%s/catalog/%s/%s%s", c->dir, kind, name, suffix);
}

/* Removes a _OFFLINE / _REALTIME suffix. */
static void
raw_name(const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s", name);
	size_t len = strlen(out);
	if (len > 8 && strcmp(out + len - 8, "_OFFLINE") == 0)
		out[len - 8] = '\0';
	else if (len > 9 && strcmp(out + len - 9, "_REALTIME") == 0)
		out[len - 9] = '\0';
}

/* Adds or updates a table with config cfg (owned on success) and bumps
 * the version.  Called under write_mu (or by catalog_open), so c->tables
 * cannot change meanwhile; the rwlock is taken only to change the maps:
 * opening a new table (log replay, fsyncs) never blocks lookups. */
static int
install_table(Catalog *c, const char *sqlname, Schema *s, TableConfig *cfg, Err *e)
{
	int i = find_table(c, sqlname);
	if (i >= 0) {
		pthread_rwlock_wrlock(&c->lock);
		table__set_config(c->tables[i], cfg);
		atomic_fetch_add(&c->version, 1);
		pthread_rwlock_unlock(&c->lock);
		return 0;
	}
	pthread_rwlock_wrlock(&c->lock);
	int rc = grow((void **)&c->tables, &c->tables_cap, c->ntables, sizeof(Table *));
	pthread_rwlock_unlock(&c->lock);
	if (rc)
		return err_set(e, rc, "adding table %s", sqlname);
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/tables/%s", c->dir, sqlname);
	Table *t;
	rc = table__open(dir, sqlname, s, cfg, &t, e);
	if (rc)
		return rc;
	if (c->obs_fn)
		table__set_observer(t, c->obs_fn, c->obs_ctx);
	pthread_rwlock_wrlock(&c->lock);
	c->tables[c->ntables++] = t;	/* room made above */
	atomic_fetch_add(&c->version, 1);
	pthread_rwlock_unlock(&c->lock);
	return 0;
}

static int
load_dir(Catalog *c, const char *kind, int tables, Err *e)
{
	char dpath[4096];
	snprintf(dpath, sizeof(dpath), "%s/catalog/%s", c->dir, kind);
	DIR *d = opendir(dpath);
	if (d == NULL)
		return err_set(e, ERR_IO, "opendir %s", dpath);
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dpath, de->d_name);
		char *json;
		size_t jlen;
		rc = file_read_all(path, &json, &jlen, e);
		if (rc)
			break;
		if (!tables) {
			Schema *s;
			rc = schema_parse(json, jlen, &s, e);
			if (rc == 0 && (rc = grow((void **)&c->schemas, &c->schemas_cap,
						  c->nschemas, sizeof(Schema *))) == 0)
				c->schemas[c->nschemas++] = s;
		} else {
			TableConfig *cfg;
			rc = tblconfig_parse(json, jlen, &cfg, e);
			if (rc == 0) {
				int si = find_schema(c, cfg->schema_name);
				if (si < 0) {
					rc = err_set(e, ERR_CORRUPT, "table %s: schema %s missing",
						     cfg->name, cfg->schema_name);
					tblconfig_free(cfg);
				} else {
					rc = install_table(c, cfg->name, c->schemas[si], cfg, e);
					if (rc)
						tblconfig_free(cfg);
				}
			}
		}
		if (rc)
			err_reset(e, rc, "loading %s: %s", path, err_msg(e));
		mem_free(json);
	}
	closedir(d);
	return rc;
}

static int
open_dead_letters(Catalog *c, Err *e)
{
	Schema *s;
	TableConfig *cfg;
	int rc = schema_parse(dead_schema_json, sizeof(dead_schema_json) - 1, &s, e);
	if (rc)
		return rc;
	rc = tblconfig_parse(dead_table_json, sizeof(dead_table_json) - 1, &cfg, e);
	if (rc) {
		schema_unref(s);
		return rc;
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/tables/%s", c->dir, DEAD_LETTERS);
	rc = table__open(dir, DEAD_LETTERS, s, cfg, &c->dead, e);
	if (rc)
		tblconfig_free(cfg);
	schema_unref(s);
	return rc;
}

/* The directories catalog_open may have just created: fsync each into its
 * parent, or a crash could lose catalog files written into them. */
static int
sync_new_dirs(Catalog *c, Err *e)
{
	static const char *const dirs[] = {"", "/catalog", "/tables"};
	char p[4096];
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", c->dir, dirs[i]);
		rc = file_fsync_dir(p, e);
	}
	return rc;
}

/* Removes data directories of dropped tables whose last reader was still
 * running when the server stopped. */
static void
remove_graves(Catalog *c)
{
	char dpath[4096];
	snprintf(dpath, sizeof(dpath), "%s/tables", c->dir);
	DIR *d = opendir(dpath);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, GRAVE_PREFIX, strlen(GRAVE_PREFIX)) != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dpath, de->d_name);
		Err e = {0};
		if (file_remove_tree(path, &e) != 0)
			log_warn("removing dropped table data %s: %s", path, err_msg(&e));
	}
	closedir(d);
}

int
catalog_open(const char *data_dir, Catalog **out, Err *e)
{
	Catalog *c = mem_calloc(1, sizeof(Catalog));
	if (c == NULL)
		return err_set(e, ERR_NOMEM, "opening catalog");
	c->dir = mem_strdup(data_dir);
	c->lock_fd = -1;
	pthread_rwlock_init(&c->lock, NULL);
	pthread_mutex_init(&c->write_mu, NULL);
	char p[4096];
	int rc = 0;
	snprintf(p, sizeof(p), "%s/catalog/schemas", data_dir);
	rc = file_mkdirs(p, e);
	snprintf(p, sizeof(p), "%s/catalog/tables", data_dir);
	if (rc == 0)
		rc = file_mkdirs(p, e);
	snprintf(p, sizeof(p), "%s/tables", data_dir);
	if (rc == 0)
		rc = file_mkdirs(p, e);
	if (rc == 0) {
		snprintf(p, sizeof(p), "%s/LOCK", data_dir);
		c->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (c->lock_fd < 0)
			rc = err_set(e, ERR_IO, "open %s: %s", p, strerror(errno));
		else if (flock(c->lock_fd, LOCK_EX | LOCK_NB) != 0)
			rc = err_set(e, ERR_BUSY, "data directory %s is in use by another waybill process", data_dir);
	}
	if (rc == 0)
		rc = sync_new_dirs(c, e);
	if (rc == 0)
		remove_graves(c);
	if (rc == 0)
		rc = load_dir(c, "schemas", 0, e);
	if (rc == 0)
		rc = load_dir(c, "tables", 1, e);
	if (rc == 0)
		rc = open_dead_letters(c, e);
	if (rc) {
		catalog_close(c);
		return rc;
	}
	log_info("catalog %s: %d schemas, %d tables", data_dir, c->nschemas, c->ntables);
	*out = c;
	return 0;
}

void
catalog_close(Catalog *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->ntables; i++)
		table_unref(c->tables[i]);
	for (int i = 0; i < c->nschemas; i++)
		schema_unref(c->schemas[i]);
	if (c->dead)
		table_unref(c->dead);
	mem_free(c->tables);
	mem_free(c->schemas);
	pthread_rwlock_destroy(&c->lock);
	pthread_mutex_destroy(&c->write_mu);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	mem_free(c->dir);
	mem_free(c);
}

const char *catalog_data_dir(const Catalog *c) { return c->dir; }
unsigned long catalog_version(const Catalog *c) { return atomic_load(&((Catalog *)c)->version); }

/* Replaces schema s->name by s for every table using it: the tables'
 * columns change first in memory-invisible form (each partition rewrites
 * its rows and log in the new layout), then the schema file is replaced
 * -- the commit point -- and only then are the new logs renamed into
 * place and the new segments published.  A crash before the schema file
 * is replaced leaves the old schema and the old logs (the rewritten ones
 * are removed at the next start); after it, the next start finishes the
 * renames.  Called under write_mu. */
static int
replace_schema_in_use(Catalog *c, Schema *s, const char *path, const char *json, size_t len,
		      Err *e)
{
	int n = 0, rc = 0;
	Table **users = mem_calloc((size_t)c->ntables + 1, sizeof(Table *));
	int *changed = mem_calloc((size_t)c->ntables + 1, sizeof(int));
	if (users == NULL || changed == NULL) {
		rc = err_set(e, ERR_NOMEM, "replacing schema %s", s->name);
		goto out;
	}
	/* by name: a table keeps the Schema it was opened with, which is
	 * no longer c->schemas[i] after a first replace */
	for (int t = 0; t < c->ntables; t++)
		if (strcmp(table_schema(c->tables[t])->name, s->name) == 0)
			users[n++] = c->tables[t];
	for (int k = 0; rc == 0 && k < n; k++)
		rc = table__evolve_check(users[k], s, &changed[k], e);
	int prepared = 0;
	for (; rc == 0 && prepared < n; prepared++)
		if (changed[prepared] && (rc = table__evolve_prepare(users[prepared], s, e)) != 0)
			break;
	if (rc == 0)
		rc = file_write_atomic(path, json, len, e);
	if (rc) {
		for (int k = 0; k < prepared; k++)
			if (changed[k])
				table__evolve_abort(users[k]);
		goto out;
	}
	for (int k = 0; k < n; k++) {
		if (!changed[k]) {
			table__set_schema(users[k], s);
			continue;
		}
		int failed = table__evolve_finish(users[k]);
		if (failed)
			log_error("table %s: %d partition(s) could not install their rewritten log; "
				  "they refuse writes until the server restarts", table_name(users[k]), failed);
		else
			log_info("table %s: schema %s now has %d columns", table_name(users[k]), s->name,
				 s->nfields);
	}
out:
	mem_free(users);
	mem_free(changed);
	return rc;
}

int
catalog_put_schema(Catalog *c, const char *json, size_t len, int replace,
		   const char *expect_name, Err *e)
{
	Schema *s;
	int rc = schema_parse(json, len, &s, e);
	if (rc)
		return rc;
	if (!valid_name(s->name) || strncmp(s->name, "sys.", 4) == 0) {
		rc = err_set(e, ERR_BAD_SCHEMA, "schemaName: '%s' is not a valid name (letters, digits, _ - . only)", s->name);
		schema_unref(s);
		return rc;
	}
	if (expect_name && strcmp(expect_name, s->name) != 0) {
		rc = err_set(e, ERR_BAD_SCHEMA, "schemaName: '%s' does not match '%s' in the path",
			     s->name, expect_name);
		schema_unref(s);
		return rc;
	}
	pthread_mutex_lock(&c->write_mu);
	int i = find_schema(c, s->name);
	if (i >= 0 && !replace) {
		rc = err_set(e, ERR_EXISTS, "schema %s already exists", s->name);
		goto out;
	}
	char path[4096];
	path_of(c, path, sizeof(path), "schemas", s->name, ".json");
	if (i >= 0)
		rc = replace_schema_in_use(c, s, path, json, len, e);
	else
		rc = file_write_atomic(path, json, len, e);
	if (rc)
		goto out;
	pthread_rwlock_wrlock(&c->lock);
	if (i >= 0) {
		schema_unref(c->schemas[i]);
		c->schemas[i] = s;
	} else if ((rc = grow((void **)&c->schemas, &c->schemas_cap, c->nschemas,
			      sizeof(Schema *))) == 0) {
		c->schemas[c->nschemas++] = s;
	}
	/* after the tables' schemas changed: a plan cached under the new
	 * version was bound against the new columns */
	atomic_fetch_add(&c->version, 1);
	pthread_rwlock_unlock(&c->lock);
	if (rc)
		err_set(e, rc, "adding schema");
	else
		s = NULL;
out:
	pthread_mutex_unlock(&c->write_mu);
	if (s)
		schema_unref(s);
	return rc;
}

int
catalog_delete_schema(Catalog *c, const char *name, Err *e)
{
	int rc = 0;
	pthread_mutex_lock(&c->write_mu);
	int i = find_schema(c, name);
	if (i < 0) {
		rc = err_set(e, ERR_NOT_FOUND, "schema %s does not exist", name);
		goto out;
	}
	for (int t = 0; t < c->ntables; t++) {
		if (strcmp(table_schema(c->tables[t])->name, name) == 0) {
			rc = err_set(e, ERR_EXISTS, "schema %s is used by table %s", name,
				     table_name(c->tables[t]));
			goto out;
		}
	}
	char path[4096];
	path_of(c, path, sizeof(path), "schemas", name, ".json");
	if (remove(path) != 0) {
		rc = err_set(e, ERR_IO, "removing %s", path);
		goto out;
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/catalog/schemas", c->dir);
	file_fsync_dir(dir, NULL);
	pthread_rwlock_wrlock(&c->lock);
	schema_unref(c->schemas[i]);
	c->schemas[i] = c->schemas[--c->nschemas];
	atomic_fetch_add(&c->version, 1);
	pthread_rwlock_unlock(&c->lock);
out:
	pthread_mutex_unlock(&c->write_mu);
	return rc;
}

Schema *
catalog_get_schema(Catalog *c, const char *name)
{
	Schema *s = NULL;
	pthread_rwlock_rdlock(&c->lock);
	int i = find_schema(c, name);
	if (i >= 0) {
		s = c->schemas[i];
		schema_ref(s);
	}
	pthread_rwlock_unlock(&c->lock);
	return s;
}

void
catalog_list_schemas(Catalog *c, Buf *out)
{
	pthread_rwlock_rdlock(&c->lock);
	buf_putc(out, '[');
	for (int i = 0; i < c->nschemas; i++) {
		if (i)
			buf_putc(out, ',');
		buf_json_str(out, c->schemas[i]->name, strlen(c->schemas[i]->name));
	}
	buf_putc(out, ']');
	pthread_rwlock_unlock(&c->lock);
}


static int
str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* 1 if two configs ask for the same upsert behaviour (an upsert table's
 * key index and stored rows depend on it). */
static int
upsert_same(const TableConfig *a, const TableConfig *b)
{
	const char *ma = a->upsert_mode ? a->upsert_mode : "NONE";
	const char *mb = b->upsert_mode ? b->upsert_mode : "NONE";
	if (strcmp(ma, mb) != 0)
		return 0;
	if (strcmp(ma, "NONE") == 0)
		return 1;
	if (a->ncmp != b->ncmp || a->nstrategies != b->nstrategies ||
	    a->default_strategy != b->default_strategy || !str_same(a->delete_col, b->delete_col) ||
	    !str_same(a->out_of_order_col, b->out_of_order_col) || a->drop_out_of_order != b->drop_out_of_order ||
	    a->deleted_keys_ttl != b->deleted_keys_ttl || a->metadata_ttl != b->metadata_ttl ||
	    (a->ncmp == 0 && !str_same(a->time_column, b->time_column)))
		return 0;
	for (int i = 0; i < a->ncmp; i++)
		if (strcmp(a->cmp_cols[i], b->cmp_cols[i]) != 0)
			return 0;
	for (int i = 0; i < a->nstrategies; i++)
		if (strcmp(a->strategy_cols[i], b->strategy_cols[i]) != 0 || a->strategies[i] != b->strategies[i])
			return 0;
	return 1;
}

int
catalog_put_table(Catalog *c, const char *json, size_t len, int replace,
		  const char *expect_name, char **unrecognized, Err *e)
{
	TableConfig *cfg;
	int rc = tblconfig_parse(json, len, &cfg, e);
	if (rc)
		return rc;
	if (!valid_name(cfg->name) || strncmp(cfg->name, "sys.", 4) == 0) {
		rc = err_set(e, ERR_BAD_CONFIG, "tableName: '%s' is not a valid name (letters, digits, _ - . only)", cfg->name);
		tblconfig_free(cfg);
		return rc;
	}
	if (expect_name) {
		char raw[512];
		raw_name(expect_name, raw, sizeof(raw));
		if (strcmp(raw, cfg->name) != 0) {
			rc = err_set(e, ERR_BAD_CONFIG, "tableName: '%s' does not match '%s' in the path",
				     cfg->name, expect_name);
			tblconfig_free(cfg);
			return rc;
		}
	}
	pthread_mutex_lock(&c->write_mu);
	int si = find_schema(c, cfg->schema_name);
	int ti = find_table(c, cfg->name);
	if (si < 0) {
		rc = err_set(e, ERR_BAD_CONFIG, "segmentsConfig.schemaName: schema '%s' does not exist; post it to /schemas first",
			     cfg->schema_name);
		goto fail;
	}
	if ((rc = tblconfig_check_schema(cfg, c->schemas[si], e)) != 0)
		goto fail;
	if (ti >= 0) {
		Table *t = c->tables[ti];
		if (table_config_of(t, cfg->type) && !replace) {
			rc = err_set(e, ERR_EXISTS, "table %s_%s already exists", cfg->name,
				     tblconfig_type_name(cfg->type));
			goto fail;
		}
		if (table_config_of(t, cfg->type) == NULL && replace && expect_name) {
			rc = err_set(e, ERR_NOT_FOUND, "table %s_%s does not exist", cfg->name,
				     tblconfig_type_name(cfg->type));
			goto fail;
		}
		if (strcmp(table_schema(t)->name, cfg->schema_name) != 0) {
			rc = err_set(e, ERR_BAD_CONFIG, "segmentsConfig.schemaName: table %s uses schema '%s', not '%s'",
				     cfg->name, table_schema(t)->name, cfg->schema_name);
			goto fail;
		}
		const TableConfig *prev = table_config_of(t, cfg->type);
		if (prev && !upsert_same(prev, cfg)) {
			rc = err_set(e, ERR_UNSUPPORTED,
				     "upsertConfig: table %s keeps its key index by the upsert settings it was created "
				     "with; changing them is not supported (drop the table and create it again)",
				     cfg->name);
			goto fail;
		}
		int nparts = cfg->num_partitions > 0 ? cfg->num_partitions : 1;
		/* a stream table's partitions follow its topic */
		if (cfg->stream_type == NULL && nparts != table_num_partitions(t)) {
			rc = err_set(e, ERR_UNSUPPORTED, "table %s has %d partitions; changing it to %d is not supported yet",
				     cfg->name, table_num_partitions(t), nparts);
			goto fail;
		}
	} else if (replace && expect_name) {
		rc = err_set(e, ERR_NOT_FOUND, "table %s does not exist", cfg->name);
		goto fail;
	}
	/* a new table: data under its name was left by a drop that crashed
	 * before moving it away; remove it before the config can point at it */
	if (ti < 0) {
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s/tables/%s", c->dir, cfg->name);
		if (file_exists(dir)) {
			log_warn("table %s: removing stale data directory %s", cfg->name, dir);
			if ((rc = file_remove_tree(dir, e)) != 0)
				goto fail;
		}
	}
	char path[4096], suffix[32];
	snprintf(suffix, sizeof(suffix), ".%s.json", tblconfig_type_name(cfg->type));
	path_of(c, path, sizeof(path), "tables", cfg->name, suffix);
	if ((rc = file_write_atomic(path, json, len, e)) != 0)
		goto fail;
	if (unrecognized)
		*unrecognized = mem_strdup(cfg->unrecognized ? cfg->unrecognized : "{}");
	rc = install_table(c, cfg->name, c->schemas[si], cfg, e);
	if (rc) {
		remove(path);
		goto fail;
	}
	pthread_mutex_unlock(&c->write_mu);
	return 0;
fail:
	pthread_mutex_unlock(&c->write_mu);
	tblconfig_free(cfg);
	if (rc && unrecognized && *unrecognized) {
		mem_free(*unrecognized);
		*unrecognized = NULL;
	}
	return rc;
}

int
catalog_delete_table(Catalog *c, const char *name, int type, Err *e)
{
	char raw[512];
	raw_name(name, raw, sizeof(raw));
	if (type < 0) {
		size_t n = strlen(name);
		if (n > 8 && strcmp(name + n - 8, "_OFFLINE") == 0)
			type = TABLE_OFFLINE;
		else if (n > 9 && strcmp(name + n - 9, "_REALTIME") == 0)
			type = TABLE_REALTIME;
	}
	int rc = 0;
	pthread_mutex_lock(&c->write_mu);
	int ti = find_table(c, raw);
	if (ti < 0) {
		rc = err_set(e, ERR_NOT_FOUND, "table %s does not exist", name);
		goto out;
	}
	Table *t = c->tables[ti];
	for (int ty = 0; ty < 2; ty++) {
		if (type >= 0 && ty != type)
			continue;
		if (table_config_of(t, (TableType)ty) == NULL) {
			if (type >= 0) {
				rc = err_set(e, ERR_NOT_FOUND, "table %s_%s does not exist", raw,
					     tblconfig_type_name((TableType)ty));
				goto out;
			}
			continue;
		}
		char path[4096], suffix[32];
		snprintf(suffix, sizeof(suffix), ".%s.json", tblconfig_type_name((TableType)ty));
		path_of(c, path, sizeof(path), "tables", raw, suffix);
		if (remove(path) != 0) {
			rc = err_set(e, ERR_IO, "removing %s", path);
			goto out;
		}
	}
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/catalog/tables", c->dir);
	file_fsync_dir(dir, NULL);
	pthread_rwlock_wrlock(&c->lock);
	int left = 0;
	for (int ty = 0; ty < 2; ty++)
		if (type < 0 || ty == type)
			left = table__drop_config(t, (TableType)ty);
	if (left == 0) {
		c->tables[ti] = c->tables[--c->ntables];
		table__mark_dropped(t);
	}
	atomic_fetch_add(&c->version, 1);
	pthread_rwlock_unlock(&c->lock);
	if (left == 0) {
		/* readers may hold t for a while: move its data out of the way
		 * of a new table with the same name */
		char grave[4096];
		snprintf(grave, sizeof(grave), "%s/tables/" GRAVE_PREFIX "%s.%lld.%lu", c->dir, raw,
			 (long long)clock_wall_ms(), (unsigned long)atomic_fetch_add(&c->drops, 1));
		Err me = {0};
		if (table__move_dir(t, grave, &me) != 0)
			log_warn("dropping table %s: %s", raw, err_msg(&me));
		table_unref(t);
	}
out:
	pthread_mutex_unlock(&c->write_mu);
	return rc;
}

static Table *
get_table(Catalog *c, const char *name, int ci)
{
	char raw[512];
	raw_name(name, raw, sizeof(raw));
	Table *t = NULL;
	if ((ci ? strcasecmp(raw, DEAD_LETTERS) : strcmp(raw, DEAD_LETTERS)) == 0) {
		table_ref(c->dead);
		return c->dead;
	}
	pthread_rwlock_rdlock(&c->lock);
	for (int i = 0; i < c->ntables; i++) {
		const char *n = table_name(c->tables[i]);
		if (ci ? strcasecmp(n, raw) == 0 : strcmp(n, raw) == 0) {
			if (t && ci) {
				/* ambiguous ignoring case: prefer the exact match */
				if (strcmp(n, raw) == 0)
					t = c->tables[i];
				continue;
			}
			t = c->tables[i];
		}
	}
	if (t)
		table_ref(t);
	pthread_rwlock_unlock(&c->lock);
	return t;
}

Table *catalog_get_table(Catalog *c, const char *name) { return get_table(c, name, 0); }
Table *catalog_get_table_ci(Catalog *c, const char *name) { return get_table(c, name, 1); }

void
catalog_list_tables(Catalog *c, Buf *out)
{
	pthread_rwlock_rdlock(&c->lock);
	buf_putc(out, '[');
	for (int i = 0; i < c->ntables; i++) {
		if (i)
			buf_putc(out, ',');
		const char *n = table_name(c->tables[i]);
		buf_json_str(out, n, strlen(n));
	}
	buf_putc(out, ']');
	pthread_rwlock_unlock(&c->lock);
}

int
catalog_tables(Catalog *c, Table ***out, int *n)
{
	pthread_rwlock_rdlock(&c->lock);
	Table **arr = mem_calloc((size_t)c->ntables + 1, sizeof(Table *));
	if (arr == NULL) {
		pthread_rwlock_unlock(&c->lock);
		return ERR_NOMEM;
	}
	for (int i = 0; i < c->ntables; i++) {
		arr[i] = c->tables[i];
		table_ref(arr[i]);
	}
	arr[c->ntables] = c->dead;
	table_ref(c->dead);
	*n = c->ntables + 1;
	pthread_rwlock_unlock(&c->lock);
	*out = arr;
	return 0;
}

void
catalog_set_observer(Catalog *c, TableObserver fn, void *ctx)
{
	pthread_mutex_lock(&c->write_mu);
	c->obs_fn = fn;
	c->obs_ctx = ctx;
	pthread_rwlock_rdlock(&c->lock);
	for (int i = 0; i < c->ntables; i++)
		table__set_observer(c->tables[i], fn, ctx);
	pthread_rwlock_unlock(&c->lock);
	pthread_mutex_unlock(&c->write_mu);
}

int
catalog_dead_letter(Catalog *c, const char *table, const char *source,
		    int64_t position, const char *column, const char *error,
		    const char *raw, size_t rawlen, Err *e)
{
	RowBatch b;
	rowbatch_init(&b, table_schema(c->dead)->nfields);
	Value *r = rowbatch_add_row(&b);
	if (r == NULL) {
		rowbatch_free(&b);
		return err_set(e, ERR_NOMEM, "recording a dead letter");
	}
	r[0] = value_str(TYPE_STRING, table, (uint32_t)strlen(table));
	r[1] = value_str(TYPE_STRING, source, (uint32_t)strlen(source));
	r[2] = value_int(TYPE_LONG, position);
	r[3] = column ? value_str(TYPE_STRING, column, (uint32_t)strlen(column))
		      : value_null(TYPE_STRING);
	r[4] = value_str(TYPE_STRING, error, (uint32_t)strlen(error));
	r[5] = value_str(TYPE_STRING, raw, (uint32_t)rawlen);
	r[6] = value_int(TYPE_TIMESTAMP, clock_wall_ms());
	int rc = table_write(c->dead, &b, e);
	rowbatch_free(&b);
	return rc;
}

int
catalog_dead_letter_ncols(Catalog *c)
{
	return table_schema(c->dead)->nfields;
}

#define DEAD_RAW_MAX (64u << 10)

/* s[0..n) (at most DEAD_RAW_MAX bytes of it) as valid UTF-8 in a: invalid
 * bytes and NULs become U+FFFD. */
static char *
utf8_copy(Arena *a, const char *s, size_t n, uint32_t *outlen)
{
	if (n > DEAD_RAW_MAX)
		n = DEAD_RAW_MAX;
	char *d = arena_alloc(a, n * 3 + 1);
	if (d == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char ch = (unsigned char)s[i];
		size_t len = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
		int ok = len > 0 && i + len <= n && ch != 0;
		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] >> 6) == 2;
		if (ok) {
			memcpy(d + o, s + i, len);
			o += len;
			i += len;
		} else {
			memcpy(d + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	d[o] = '\0';
	*outlen = (uint32_t)o;
	return d;
}

int
catalog_dead_letter_row(Catalog *c, RowBatch *b, const char *table, const char *source,
			int64_t position, const char *column, const char *error, const char *raw,
			size_t rawlen)
{
	(void)c;
	Value *r = rowbatch_add_row(b);
	if (r == NULL)
		return ERR_NOMEM;
	Arena *a = &b->arena;
	uint32_t rl = 0, el = 0;
	char *tn = arena_strdup(a, table), *sn = arena_strdup(a, source);
	char *cn = column ? arena_strdup(a, column) : NULL;
	char *er = utf8_copy(a, error ? error : "", error ? strlen(error) : 0, &el);
	char *rs = raw ? utf8_copy(a, raw, rawlen, &rl) : NULL;
	if (tn == NULL || sn == NULL || er == NULL || (column && cn == NULL) || (raw && rs == NULL)) {
		b->nrows--;	/* the row just added: not half filled */
		return ERR_NOMEM;
	}
	r[0] = value_str(TYPE_STRING, tn, (uint32_t)strlen(tn));
	r[1] = value_str(TYPE_STRING, sn, (uint32_t)strlen(sn));
	r[2] = value_int(TYPE_LONG, position);
	r[3] = cn ? value_str(TYPE_STRING, cn, (uint32_t)strlen(cn)) : value_null(TYPE_STRING);
	r[4] = value_str(TYPE_STRING, er, el);
	r[5] = rs ? value_str(TYPE_STRING, rs, rl) : value_null(TYPE_STRING);
	r[6] = value_int(TYPE_TIMESTAMP, clock_wall_ms());
	return 0;
}

int
catalog_dead_letters_write(Catalog *c, const RowBatch *b, Err *e)
{
	return b->nrows ? table_write(c->dead, b, e) : 0;
}

/* 1 if value v is the string s. */
static int
str_is(const Value *v, const char *s)
{
	return !v->null && v->n == strlen(s) && memcmp(v->u.s, s, v->n) == 0;
}

int
catalog_dead_letter_max(Catalog *c, const char *table, const char *source, int64_t *max, Err *e)
{
	TableSnap snap;
	*max = -1;
	int rc = table_snapshot(c->dead, &snap, e);
	if (rc)
		return rc;
	const Schema *s = snap.schema;
	int ct = schema_find(s, "table_name"), cs = schema_find(s, "source"),
	    cp = schema_find(s, "position");
	Arena a;
	arena_init(&a, 4096);
	for (int i = 0; rc == 0 && ct >= 0 && cs >= 0 && cp >= 0 && i < snap.nsegs; i++) {
		const SnapSeg *sg = &snap.segs[i];
		if (sg->seg) {
			for (size_t r = 0; rc == 0 && r < sg->rows; r++) {
				Value vt, vs, vp;
				if ((rc = mutcol_value(mutseg_col(sg->seg, cp), r, &vp, &a)) != 0 ||
				    vp.null || vp.u.i <= *max)
					continue;
				if ((rc = mutcol_value(mutseg_col(sg->seg, ct), r, &vt, &a)) == 0 &&
				    (rc = mutcol_value(mutseg_col(sg->seg, cs), r, &vs, &a)) == 0 &&
				    str_is(&vt, table) && str_is(&vs, source))
					*max = vp.u.i;
				arena_reset(&a);
			}
			continue;
		}
		SegFile *f = (SegFile *)sg->file;
		int ft = segfile_col_find(f, "table_name"), fs = segfile_col_find(f, "source"),
		    fp = segfile_col_find(f, "position");
		if (ft < 0 || fs < 0 || fp < 0)
			continue;
		SegCursor kt, ks, kp;
		segfile_cursor_init(&kt, f, ft);
		segfile_cursor_init(&ks, f, fs);
		segfile_cursor_init(&kp, f, fp);
		for (size_t r = 0; rc == 0 && r < sg->rows; r++) {
			Value vt, vs, vp;
			if ((rc = segfile_value(&kp, r, &vp, &a, e)) != 0 || vp.null || vp.u.i <= *max)
				continue;
			if ((rc = segfile_value(&kt, r, &vt, &a, e)) == 0 &&
			    (rc = segfile_value(&ks, r, &vs, &a, e)) == 0 && str_is(&vt, table) &&
			    str_is(&vs, source))
				*max = vp.u.i;
			arena_reset(&a);
		}
		segfile_cursor_free(&kt);
		segfile_cursor_free(&ks);
		segfile_cursor_free(&kp);
	}
	arena_free(&a);
	table_snap_free(&snap);
	if (rc == ERR_NOMEM && e && e->code == 0)
		err_set(e, rc, "scanning sys.dead_letters");
	return rc;
}
