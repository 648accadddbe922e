/*
 * tblconfig.h -- a table config, parsed from and rendered to Pinot's
 * table-config JSON.
 *
 * Waybill keeps the whole JSON document (so GET returns what was posted)
 * and extracts the settings it implements into fields.  Keys it does not
 * implement are collected, as Pinot does, into unrecognized: a JSON object
 * mapping the JSON path as Pinot writes it (e.g.
 * "/tableIndexConfig/starTreeIndexConfigs/0/maxLeafRecords")
 * to the value given.
 */
#ifndef WB_TBLCONFIG_H
#define WB_TBLCONFIG_H

#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"

typedef enum TableType { TABLE_OFFLINE, TABLE_REALTIME } TableType;

/* Partial-upsert merge strategies (Pinot's names). */
enum {
	TBL_UPS_OVERWRITE,	/* the new value, unless it is NULL */
	TBL_UPS_FORCE_OVERWRITE,	/* the new value, even NULL */
	TBL_UPS_INCREMENT,	/* old + new (numeric) */
	TBL_UPS_APPEND,		/* old elements then new ones (multi-value) */
	TBL_UPS_UNION,		/* old elements then new ones not already
				 * there (multi-value) */
	TBL_UPS_IGNORE,		/* the old value, unless it is NULL */
	TBL_UPS_MAX,		/* the larger (numeric) */
	TBL_UPS_MIN,		/* the smaller (numeric) */
};

typedef struct TableConfig {
	const char *name;	/* raw name: tableName without _OFFLINE/_REALTIME */
	TableType type;
	const char *schema_name;	/* segmentsConfig.schemaName, else name */
	const char *time_column;	/* segmentsConfig.timeColumnName or NULL */
	const char *retention_unit;	/* segmentsConfig.retentionTimeUnit */
	int64_t retention_value;	/* 0 = keep forever */
	int replication;
	/* tableIndexConfig */
	int ninverted;
	const char **inverted;
	const char *sorted_column;	/* first of sortedColumn[], or NULL */
	int nnodict;
	const char **no_dictionary;
	int nrange;
	const char **range;
	int nbloom;
	const char **bloom;
	int load_mode_mmap;
	/* seal thresholds (streamConfigs / streamConfigMaps[0]); 0 = unset */
	int64_t flush_rows;
	int64_t flush_time_ms;
	int64_t flush_size_bytes;
	/* stream settings; NULL when the table is not stream-fed */
	const char *stream_type;	/* "kafka" */
	const char *topic;
	const char *broker_list;
	const char *decoder_class;
	/* partitioning for pushed data: number of partitions (>= 1) and the
	 * column to hash (NULL = primary key, else round robin) */
	int num_partitions;
	const char *partition_column;
	/* upsertConfig (Pinot's keys; docs/upsert.md) */
	const char *upsert_mode;	/* "FULL", "PARTIAL", "NONE", or NULL */
	int ncmp;		/* comparisonColumns (or [comparisonColumn]);
				 * 0: the time column */
	const char **cmp_cols;
	int nstrategies;	/* partialUpsertStrategies: column -> strategy */
	const char **strategy_cols;
	int *strategies;	/* TBL_UPS_* */
	int default_strategy;	/* defaultPartialUpsertStrategy, default
				 * TBL_UPS_OVERWRITE */
	const char *delete_col;	/* deleteRecordColumn or NULL */
	double deleted_keys_ttl;	/* deletedKeysTTL, in the comparison
					 * column's units; 0 = keep */
	double metadata_ttl;	/* metadataTTL, same units; 0 = keep */
	int drop_out_of_order;	/* dropOutOfOrderRecord */
	const char *out_of_order_col;	/* outOfOrderRecordColumn or NULL */
	/* ingestionConfig is kept raw for the ingest layer */
	char *json;		/* canonical JSON of the whole config */
	char *unrecognized;	/* JSON object of unrecognized properties */
	Arena arena;		/* owns every string and array above */
} TableConfig;

/* Parses table-config JSON.  Errors (ERR_BAD_JSON, ERR_BAD_CONFIG) name
 * the exact field at fault, e.g. "tableType: must be OFFLINE or REALTIME,
 * got 'BATCH'".  *out is owned by the caller. */
int tblconfig_parse(const char *json, size_t len, TableConfig **out, Err *e);
void tblconfig_free(TableConfig *c);
const char *tblconfig_type_name(TableType t);	/* "OFFLINE" / "REALTIME" */

struct Schema;
/* Checks that every column the config names (segmentsConfig.timeColumnName,
 * which must be a dateTime/time field, the tableIndexConfig column lists,
 * sortedColumn, the partition column) exists in s, and that an upsert
 * table's schema has primaryKeyColumns.  ERR_BAD_CONFIG names the config
 * path and the missing column. */
int tblconfig_check_schema(const TableConfig *c, const struct Schema *s, Err *e);
/* Pinot period ("6h", "30m", "1d", "1h30m") or plain milliseconds
 * ("3600000") to milliseconds; 0 or -1. */
int tblconfig_parse_period(const char *s, int64_t *ms);
/* Pinot data size ("200M", "150MB", "1.5G", "4096") to bytes (powers of
 * 1024); 0 or -1. */
/* segmentsConfig retention in milliseconds; 0 = keep forever. */
int64_t tblconfig_retention_ms(const TableConfig *c);
int tblconfig_parse_size(const char *s, int64_t *bytes);

#endif
