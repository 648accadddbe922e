/*
 * tblconfig.c -- parses Pinot's table-config JSON into a TableConfig and
 * reports the keys Waybill does not implement.
 *
 * How it works: the document is parsed with cJSON; the settings Waybill
 * implements are read into TableConfig fields with strict type checks
 * (numbers may also be given as numeric strings, as Jackson allows, and
 * Pinot's examples do for "replication").  Then the whole tree is walked
 * against known_keys[], the single table of the key paths Waybill
 * implements or accepts; every other key is reported in
 * TableConfig.unrecognized the way Pinot's controller does: a JSON object
 * whose keys are the paths of the unknown values' leaves, written as Pinot
 * writes them ("/tableIndexConfig/starTreeIndexConfigs/0/maxLeafRecords",
 * "/" between keys, array indexes as numbers) and whose values are the
 * values given.  Unlike Pinot, an empty object or array under an unknown
 * key is reported too (Pinot's flattening drops it).
 *
 * Stream settings come from tableIndexConfig.streamConfigs and/or
 * ingestionConfig.streamIngestionConfig.streamConfigMaps[0] (the latter
 * wins key by key).  A REALTIME table without streamType is push-fed.
 *
 * upsertConfig follows Pinot's UpsertConfig: comparisonColumn (deprecated)
 * or comparisonColumns, partialUpsertStrategies and its default,
 * deleteRecordColumn, deletedKeysTTL, metadataTTL, dropOutOfOrderRecord,
 * outOfOrderRecordColumn.  The rules of Pinot's TableConfigUtils that need
 * no schema are checked while parsing, those that do (columns exist and
 * have the right type and arity) in tblconfig_check_schema; as in Pinot
 * neither applies to mode NONE, and strategies are checked against the
 * schema only for PARTIAL.  Pinot's other upsert keys (snapshot, preload,
 * hashFunction, consistencyMode, ...) are accepted without effect.
 *
 * Ownership: every string and array of a TableConfig, including json and
 * unrecognized, lives in TableConfig.arena; the TableConfig is one
 * mem_calloc block freed by tblconfig_free.  cJSON's allocations are
 * released before returning.
 *
 * Failure: ERR_BAD_JSON with the byte offset for malformed JSON,
 * ERR_BAD_CONFIG naming the exact field for anything invalid (e.g.
 * "segmentsConfig.replication: not a number"), ERR_NOMEM.
 * tblconfig_check_schema fails with ERR_BAD_CONFIG naming the config path
 * and the column missing from the schema or of the wrong type.
 *
 * Exports: tblconfig_parse, tblconfig_free, tblconfig_type_name,
 * tblconfig_check_schema, tblconfig_parse_period, tblconfig_parse_size,
 * tblconfig_retention_ms.
 */
#include "table/tblconfig.h"
#include "base/jsondoc.h"
#include "base/mem.h"
#include "table/schema.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH_LEN 512

/*
 * The key paths Waybill implements or accepts, in Pinot's path form.
 * A segment may use fnmatch wildcards ("*" also matches an array index);
 * a final "**" covers the key itself and everything under it.
 *   IMPL  parsed into TableConfig fields
 *   KEPT  used by another module from TableConfig.json
 *   NOOP  accepted, without effect on a single-node server
 * docs/pinot-config.md lists the same table; keep them in step.
 */
typedef enum KeyUse { IMPL, KEPT, NOOP } KeyUse;

typedef struct KnownKey {
	const char *path;
	KeyUse use;
} KnownKey;

#define STREAM_KEYS(P)                                                        \
	{P "/streamType", IMPL},                                              \
	{P "/stream.*.topic.name", IMPL},                                     \
	{P "/stream.*.broker.list", IMPL},                                    \
	{P "/stream.*.decoder.class.name", IMPL},                             \
	{P "/realtime.segment.flush.threshold.rows", IMPL},                   \
	{P "/realtime.segment.flush.threshold.size", IMPL},                   \
	{P "/realtime.segment.flush.threshold.time", IMPL},                   \
	{P "/realtime.segment.flush.threshold.segment.size", IMPL},           \
	{P "/realtime.segment.flush.desired.size", IMPL},                     \
	{P "/stream.*.consumer.prop.*", KEPT},                                \
	{P "/stream.*.decoder.prop.*", KEPT},                                 \
	{P "/stream.*.consumer.factory.class.name", NOOP},                    \
	{P "/stream.*.consumer.type", NOOP}

static const KnownKey known_keys[] = {
	{"/tableName", IMPL},
	{"/tableType", IMPL},
	{"/segmentsConfig/schemaName", IMPL},
	{"/segmentsConfig/timeColumnName", IMPL},
	{"/segmentsConfig/retentionTimeUnit", IMPL},
	{"/segmentsConfig/retentionTimeValue", IMPL},
	{"/segmentsConfig/replication", IMPL},
	{"/segmentsConfig/replicasPerPartition", NOOP},
	{"/segmentsConfig/segmentPushType", NOOP},
	{"/segmentsConfig/segmentPushFrequency", NOOP},
	{"/segmentsConfig/timeType", NOOP},
	{"/tableIndexConfig/invertedIndexColumns/**", IMPL},
	{"/tableIndexConfig/sortedColumn/**", IMPL},
	{"/tableIndexConfig/noDictionaryColumns/**", IMPL},
	{"/tableIndexConfig/rangeIndexColumns/**", IMPL},
	{"/tableIndexConfig/bloomFilterColumns/**", IMPL},
	{"/tableIndexConfig/loadMode", IMPL},
	{"/tableIndexConfig/segmentPartitionConfig/columnPartitionMap/*/numPartitions", IMPL},
	{"/tableIndexConfig/segmentPartitionConfig/columnPartitionMap/*/functionName", NOOP},
	{"/tableIndexConfig/nullHandlingEnabled", NOOP},
	{"/tableIndexConfig/createInvertedIndexDuringSegmentGeneration", NOOP},
	STREAM_KEYS("/tableIndexConfig/streamConfigs"),
	STREAM_KEYS("/ingestionConfig/streamIngestionConfig/streamConfigMaps/0"),
	{"/ingestionConfig/transformConfigs/**", KEPT},
	{"/ingestionConfig/filterConfig/**", KEPT},
	{"/ingestionConfig/complexTypeConfig/fieldsToUnnest/**", KEPT},
	{"/ingestionConfig/complexTypeConfig/delimiter", KEPT},
	{"/ingestionConfig/complexTypeConfig/collectionNotUnnestedToJson", KEPT},
	{"/ingestionConfig/complexTypeConfig/prefixesToRename/**", KEPT},
	{"/ingestionConfig/continueOnError", NOOP},
	{"/upsertConfig/mode", IMPL},
	{"/upsertConfig/comparisonColumn", IMPL},
	{"/upsertConfig/comparisonColumns/**", IMPL},
	{"/upsertConfig/partialUpsertStrategies/*", IMPL},
	{"/upsertConfig/defaultPartialUpsertStrategy", IMPL},
	{"/upsertConfig/deleteRecordColumn", IMPL},
	{"/upsertConfig/deletedKeysTTL", IMPL},
	{"/upsertConfig/metadataTTL", IMPL},
	{"/upsertConfig/dropOutOfOrderRecord", IMPL},
	{"/upsertConfig/outOfOrderRecordColumn", IMPL},
	{"/upsertConfig/consistencyMode", NOOP},	/* checked, no effect */
	{"/upsertConfig/enableDeletedKeysCompactionConsistency", NOOP},	/* checked */
	{"/upsertConfig/partialUpsertMergerClass", NOOP},	/* checked */
	{"/upsertConfig/enableSnapshot", NOOP},
	{"/upsertConfig/enablePreload", NOOP},
	{"/upsertConfig/snapshot", NOOP},
	{"/upsertConfig/preload", NOOP},
	{"/upsertConfig/hashFunction", NOOP},
	{"/upsertConfig/upsertViewRefreshIntervalMs", NOOP},
	{"/upsertConfig/newSegmentTrackingTimeMs", NOOP},
	{"/upsertConfig/enableCommitTimeCompaction", NOOP},
	{"/upsertConfig/allowPartialUpsertConsumptionDuringCommit", NOOP},
	{"/upsertConfig/metadataManagerClass", NOOP},
	{"/upsertConfig/metadataManagerConfigs/**", NOOP},
	{"/isDimTable", KEPT},
	{"/metadata/customConfigs/**", KEPT},
	{"/tenants/**", NOOP},
};

typedef struct Parser {
	TableConfig *c;
	Err *e;
	char buf[64];
} Parser;

static int
nomem(Err *e)
{
	return err_set(e, ERR_NOMEM, "out of memory while parsing the table config");
}

/* --- path matching -------------------------------------------------------- */

/* Splits a "/a/b/c" path into segments (pointers into buf). */
static int
segments(const char *path, char *buf, size_t bufsz, char **seg, int max)
{
	snprintf(buf, bufsz, "%s", path);
	int n = 0;
	char *p = buf;
	while (*p == '/' && n < max) {
		*p++ = '\0';
		seg[n++] = p;
		while (*p && *p != '/')
			p++;
	}
	return n;
}

typedef enum Match { M_NONE, M_PREFIX, M_EXACT, M_SUBTREE } Match;

/* How the key path (its segments) relates to the known table: M_SUBTREE if
 * a "**" entry covers it, M_EXACT if an entry names it, M_PREFIX if it is
 * an ancestor of an entry, else M_NONE. */
static Match
match_path(char **seg, int n)
{
	Match best = M_NONE;
	for (size_t k = 0; k < sizeof(known_keys) / sizeof(known_keys[0]); k++) {
		char buf[PATH_LEN];
		char *ks[32];
		int kn = segments(known_keys[k].path, buf, sizeof(buf), ks, 32);
		int i = 0;
		while (i < n && i < kn && strcmp(ks[i], "**") != 0 &&
		       fnmatch(ks[i], seg[i], FNM_NOESCAPE) == 0)
			i++;
		if (i < kn && strcmp(ks[i], "**") == 0)
			return M_SUBTREE;
		if (i < n)
			continue;
		if (i == kn)
			best = M_EXACT;
		else if (best == M_NONE)
			best = M_PREFIX;
	}
	return best;
}

/* Adds every leaf under node (at path) to out. */
static int
report_leaves(cJSON *out, const cJSON *node, char *path, size_t plen)
{
	if ((cJSON_IsObject(node) || cJSON_IsArray(node)) && node->child) {
		int i = 0;
		for (const cJSON *ch = node->child; ch; ch = ch->next, i++) {
			int w = cJSON_IsArray(node) ? snprintf(path + plen, PATH_LEN - plen, "/%d", i)
						    : snprintf(path + plen, PATH_LEN - plen, "/%s",
							       ch->string);
			size_t nl = plen + (size_t)w;
			if (nl >= PATH_LEN)
				nl = PATH_LEN - 1;
			if (report_leaves(out, ch, path, nl) != 0)
				return -1;
		}
		path[plen] = '\0';
		return 0;
	}
	cJSON *dup = cJSON_Duplicate(node, 1);
	if (dup == NULL)
		return -1;
	cJSON_AddItemToObject(out, path, dup);
	return 0;
}

static int
walk_unknown(cJSON *out, const cJSON *node, char *path, size_t plen)
{
	int i = 0;
	for (const cJSON *ch = node->child; ch; ch = ch->next, i++) {
		int w = cJSON_IsArray(node) ? snprintf(path + plen, PATH_LEN - plen, "/%d", i)
					    : snprintf(path + plen, PATH_LEN - plen, "/%s", ch->string);
		size_t nl = plen + (size_t)w;
		if (nl >= PATH_LEN)
			nl = PATH_LEN - 1;
		char sbuf[PATH_LEN];
		char *seg[64];
		int n = segments(path, sbuf, sizeof(sbuf), seg, 64);
		Match m = match_path(seg, n);
		int rc = 0;
		if (m == M_NONE)
			rc = report_leaves(out, ch, path, nl);
		else if ((m == M_EXACT || m == M_PREFIX) && (cJSON_IsObject(ch) || cJSON_IsArray(ch)))
			rc = walk_unknown(out, ch, path, nl);
		if (rc != 0)
			return rc;
		path[plen] = '\0';
	}
	return 0;
}

/* --- JSON helpers ------------------------------------------------------- */

static int
check_dup_keys(const cJSON *node, char *path, size_t plen, Err *e)
{
	if (cJSON_IsObject(node))
		for (const cJSON *a = node->child; a; a = a->next)
			for (const cJSON *b = a->next; b; b = b->next)
				if (strcmp(a->string, b->string) == 0)
					return err_set(e, ERR_BAD_CONFIG, "%s%sduplicate key '%s'",
						       plen ? path + 1 : "", plen ? ": " : "",
						       a->string);
	int i = 0;
	for (const cJSON *ch = node->child; ch; ch = ch->next, i++) {
		int w = cJSON_IsArray(node) ? snprintf(path + plen, PATH_LEN - plen, "/%d", i)
					    : snprintf(path + plen, PATH_LEN - plen, "/%s", ch->string);
		size_t nl = plen + (size_t)w;
		if (nl >= PATH_LEN)
			nl = PATH_LEN - 1;
		int rc = check_dup_keys(ch, path, nl, e);
		if (rc != 0)
			return rc;
		path[plen] = '\0';
	}
	return 0;
}

static const cJSON *
member(const cJSON *obj, const char *key)
{
	const cJSON *it = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	return it && !cJSON_IsNull(it) ? it : NULL;
}

/* Optional object member; error if present but not an object. */
static int
opt_obj(const cJSON *obj, const char *key, const char *path, const cJSON **out, Err *e)
{
	*out = member(obj, key);
	if (*out && !cJSON_IsObject(*out))
		return err_set(e, ERR_BAD_CONFIG, "%s%s%s: expected an object", path, *path ? "." : "",
			       key);
	return 0;
}

/* Optional string copied into the arena; "" counts as absent when
 * empty_is_null. */
static int
opt_str(Parser *ps, const cJSON *obj, const char *key, const char *path, const char **out,
	int empty_is_null)
{
	const cJSON *it = member(obj, key);
	*out = NULL;
	if (it == NULL)
		return 0;
	if (!cJSON_IsString(it))
		return err_set(ps->e, ERR_BAD_CONFIG, "%s%s%s: expected a string", path,
			       *path ? "." : "", key);
	if (empty_is_null && it->valuestring[0] == '\0')
		return 0;
	*out = arena_strdup(&ps->c->arena, it->valuestring);
	return *out ? 0 : nomem(ps->e);
}

static int
parse_i64(const char *s, int64_t *out)
{
	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Integer from a JSON number or numeric string; 1 absent, 0 ok, -1 bad. */
static int
json_i64(const cJSON *it, int64_t *out)
{
	if (it == NULL)
		return 1;
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (d != floor(d) || fabs(d) > 9007199254740992.0)
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	if (cJSON_IsString(it))
		return parse_i64(it->valuestring, out);
	return -1;
}

/* A JSON string array member into an arena array of strings. */
static int
str_list(Parser *ps, const cJSON *obj, const char *key, const char *path, const char ***out,
	 int *n)
{
	const cJSON *arr = member(obj, key);
	*out = NULL;
	*n = 0;
	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return err_set(ps->e, ERR_BAD_CONFIG, "%s.%s: expected an array", path, key);
	int cnt = cJSON_GetArraySize(arr);
	const char **v = arena_alloc(&ps->c->arena, sizeof(char *) * (size_t)(cnt ? cnt : 1));
	if (v == NULL)
		return nomem(ps->e);
	int i = 0;
	for (const cJSON *it = arr->child; it; it = it->next, i++) {
		if (!cJSON_IsString(it))
			return err_set(ps->e, ERR_BAD_CONFIG, "%s.%s[%d]: expected a string", path, key,
				       i);
		if ((v[i] = arena_strdup(&ps->c->arena, it->valuestring)) == NULL)
			return nomem(ps->e);
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* --- thresholds ------------------------------------------------------------ */

int
tblconfig_parse_period(const char *s, int64_t *ms)
{
	int64_t v;
	if (s == NULL || *s == '\0')
		return -1;
	if (parse_i64(s, &v) == 0) {
		if (v < 0)
			return -1;
		*ms = v;
		return 0;
	}
	/* Joda period "[Nd][Nh][Nm][Ns]" as Pinot's TimeUtils parses it */
	static const char units[] = "dhms";
	static const int64_t mult[] = {86400000, 3600000, 60000, 1000};
	int64_t total = 0;
	int next = 0;
	const char *p = s;
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return -1;
		int64_t n = 0;
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p - '0');
			if (n > 1000000000)
				return -1;
			p++;
		}
		const char *u = strchr(units, tolower((unsigned char)*p));
		if (*p == '\0' || u == NULL || u - units < next)
			return -1;
		next = (int)(u - units) + 1;
		total += n * mult[u - units];
		p++;
	}
	*ms = total;
	return 0;
}

int
tblconfig_parse_size(const char *s, int64_t *bytes)
{
	/* Pinot's DataSizeUtils: ^(\d+(\.\d+)?)([KMGTP])?(B)?$, powers of 1024 */
	const char *p = s;
	if (s == NULL || !isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	double v = strtod(s, NULL);
	static const char units[] = "KMGTP";
	const char *u = *p ? strchr(units, toupper((unsigned char)*p)) : NULL;
	if (u != NULL) {
		for (long i = 0; i <= u - units; i++)
			v *= 1024;
		p++;
	}
	if (toupper((unsigned char)*p) == 'B')
		p++;
	if (*p != '\0' || v > 9.2e18)
		return -1;
	*bytes = (int64_t)v;
	return 0;
}

/* Text of a stream-config value (Pinot's streamConfigs is a map of
 * strings; Jackson turns numbers and booleans into text). */
static const char *
stream_text(Parser *ps, const cJSON *it)
{
	if (cJSON_IsString(it))
		return it->valuestring;
	if (cJSON_IsBool(it))
		return cJSON_IsTrue(it) ? "true" : "false";
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			snprintf(ps->buf, sizeof(ps->buf), "%lld", (long long)d);
		else
			snprintf(ps->buf, sizeof(ps->buf), "%.17g", d);
		return ps->buf;
	}
	return NULL;
}

typedef struct StreamSrc {
	const cJSON *obj;
	const char *path;
} StreamSrc;

/* The value of key from the last source that has it (streamConfigMaps[0]
 * overrides streamConfigs); *src_path names where it came from. */
static const cJSON *
stream_get(const StreamSrc *src, int nsrc, const char *key, const char **src_path)
{
	for (int i = nsrc - 1; i >= 0; i--) {
		const cJSON *it = member(src[i].obj, key);
		if (it) {
			*src_path = src[i].path;
			return it;
		}
	}
	return NULL;
}

static int
stream_str(Parser *ps, const StreamSrc *src, int nsrc, const char *key, const char **out)
{
	const char *sp;
	const cJSON *it = stream_get(src, nsrc, key, &sp);
	*out = NULL;
	if (it == NULL)
		return 0;
	const char *t = stream_text(ps, it);
	if (t == NULL)
		return err_set(ps->e, ERR_BAD_CONFIG, "%s[\"%s\"]: expected a string", sp, key);
	*out = arena_strdup(&ps->c->arena, t);
	return *out ? 0 : nomem(ps->e);
}

static int
parse_stream(Parser *ps, const cJSON *root, const cJSON *tic)
{
	TableConfig *c = ps->c;
	StreamSrc src[2];
	int nsrc = 0, rc;
	const cJSON *sc;
	if ((rc = opt_obj(tic, "streamConfigs", "tableIndexConfig", &sc, ps->e)) != 0)
		return rc;
	if (sc)
		src[nsrc++] = (StreamSrc){sc, "tableIndexConfig.streamConfigs"};
	const cJSON *ic, *sic;
	if ((rc = opt_obj(root, "ingestionConfig", "", &ic, ps->e)) != 0 ||
	    (rc = opt_obj(ic, "streamIngestionConfig", "ingestionConfig", &sic, ps->e)) != 0)
		return rc;
	const cJSON *maps = member(sic, "streamConfigMaps");
	if (maps) {
		const char *mp = "ingestionConfig.streamIngestionConfig.streamConfigMaps";
		if (!cJSON_IsArray(maps))
			return err_set(ps->e, ERR_BAD_CONFIG, "%s: expected an array", mp);
		if (maps->child) {
			if (!cJSON_IsObject(maps->child))
				return err_set(ps->e, ERR_BAD_CONFIG, "%s[0]: expected an object", mp);
			src[nsrc++] = (StreamSrc){maps->child,
						  "ingestionConfig.streamIngestionConfig.streamConfigMaps[0]"};
		}
	}
	if (nsrc == 0)
		return 0;

	const char *sp, *v;
	const cJSON *it;
	int64_t n;
	/* seal thresholds: current keys first, then the older spellings */
	static const char *const rows_keys[] = {"realtime.segment.flush.threshold.rows",
						"realtime.segment.flush.threshold.size"};
	static const char *const size_keys[] = {"realtime.segment.flush.threshold.segment.size",
						"realtime.segment.flush.desired.size"};
	for (int k = 0; k < 2; k++) {
		if (c->flush_rows == 0 && (it = stream_get(src, nsrc, rows_keys[k], &sp)) != NULL) {
			if ((v = stream_text(ps, it)) == NULL || parse_i64(v, &n) != 0 || n < 0 ||
			    n > INT32_MAX)
				return err_set(ps->e, ERR_BAD_CONFIG,
					       "%s[\"%s\"]: expected a row count, got '%.32s'", sp,
					       rows_keys[k], v ? v : "?");
			c->flush_rows = n;
		}
		if (c->flush_size_bytes == 0 &&
		    (it = stream_get(src, nsrc, size_keys[k], &sp)) != NULL) {
			if ((v = stream_text(ps, it)) == NULL || tblconfig_parse_size(v, &n) != 0)
				return err_set(ps->e, ERR_BAD_CONFIG,
					       "%s[\"%s\"]: invalid size '%.32s' (examples: '200M', "
					       "'150MB', '1G')",
					       sp, size_keys[k], v ? v : "?");
			c->flush_size_bytes = n;
		}
	}
	if ((it = stream_get(src, nsrc, "realtime.segment.flush.threshold.time", &sp)) != NULL) {
		if ((v = stream_text(ps, it)) == NULL || tblconfig_parse_period(v, &n) != 0)
			return err_set(ps->e, ERR_BAD_CONFIG,
				       "%s[\"realtime.segment.flush.threshold.time\"]: invalid period "
				       "'%.32s' (examples: '6h', '30m', '1d', '3600000')",
				       sp, v ? v : "?");
		c->flush_time_ms = n;
	}

	if ((rc = stream_str(ps, src, nsrc, "streamType", &c->stream_type)) != 0)
		return rc;
	if (c->stream_type == NULL)
		return 0;	/* push-fed: thresholds only */
	if (c->stream_type[0] == '\0')
		return err_set(ps->e, ERR_BAD_CONFIG, "%s[\"streamType\"]: must not be empty",
			       src[nsrc - 1].path);
	char key[128];
	snprintf(key, sizeof(key), "stream.%s.topic.name", c->stream_type);
	if ((rc = stream_str(ps, src, nsrc, key, &c->topic)) != 0)
		return rc;
	if (c->topic == NULL || c->topic[0] == '\0')
		return err_set(ps->e, ERR_BAD_CONFIG, "%s: \"%s\" is required when streamType is '%s'",
			       src[nsrc - 1].path, key, c->stream_type);
	snprintf(key, sizeof(key), "stream.%s.broker.list", c->stream_type);
	if ((rc = stream_str(ps, src, nsrc, key, &c->broker_list)) != 0)
		return rc;
	snprintf(key, sizeof(key), "stream.%s.decoder.class.name", c->stream_type);
	return stream_str(ps, src, nsrc, key, &c->decoder_class);
}

/* --- sections --------------------------------------------------------------- */

static int
parse_name_type(Parser *ps, const cJSON *root)
{
	TableConfig *c = ps->c;
	const cJSON *tt = member(root, "tableType");
	if (tt == NULL)
		return err_set(ps->e, ERR_BAD_CONFIG, "tableType: required");
	if (!cJSON_IsString(tt))
		return err_set(ps->e, ERR_BAD_CONFIG, "tableType: expected a string");
	if (strcasecmp(tt->valuestring, "OFFLINE") == 0)
		c->type = TABLE_OFFLINE;
	else if (strcasecmp(tt->valuestring, "REALTIME") == 0)
		c->type = TABLE_REALTIME;
	else
		return err_set(ps->e, ERR_BAD_CONFIG, "tableType: must be OFFLINE or REALTIME, got '%.64s'",
			       tt->valuestring);
	const cJSON *tn = member(root, "tableName");
	if (tn == NULL)
		return err_set(ps->e, ERR_BAD_CONFIG, "tableName: required");
	if (!cJSON_IsString(tn))
		return err_set(ps->e, ERR_BAD_CONFIG, "tableName: expected a string");
	const char *name = tn->valuestring;
	size_t len = strlen(name);
	static const char *const suffix[] = {"_OFFLINE", "_REALTIME"};
	for (int t = 0; t < 2; t++) {
		size_t sl = strlen(suffix[t]);
		if (len >= sl && strcmp(name + len - sl, suffix[t]) == 0) {
			if ((int)c->type != t)
				return err_set(ps->e, ERR_BAD_CONFIG,
					       "tableName: suffix %s does not match tableType %s",
					       suffix[t], tblconfig_type_name(c->type));
			len -= sl;
		}
	}
	if (len == 0)
		return err_set(ps->e, ERR_BAD_CONFIG, "tableName: must not be empty");
	c->name = arena_strndup(&c->arena, name, len);
	return c->name ? 0 : nomem(ps->e);
}

static int
parse_segments(Parser *ps, const cJSON *root)
{
	TableConfig *c = ps->c;
	const cJSON *sc, *it;
	const char *P = "segmentsConfig";
	int rc;
	int64_t n;
	if ((rc = opt_obj(root, "segmentsConfig", "", &sc, ps->e)) != 0)
		return rc;
	c->replication = 1;
	if (sc == NULL)
		return 0;
	if ((rc = opt_str(ps, sc, "schemaName", P, &c->schema_name, 1)) != 0 ||
	    (rc = opt_str(ps, sc, "timeColumnName", P, &c->time_column, 1)) != 0 ||
	    (rc = opt_str(ps, sc, "retentionTimeUnit", P, &c->retention_unit, 1)) != 0)
		return rc;
	if (c->retention_unit) {
		static const char *const units[] = {"MILLISECONDS", "SECONDS", "MINUTES", "HOURS",
						    "DAYS"};
		int ok = 0;
		for (int i = 0; i < 5; i++)
			ok |= strcasecmp(c->retention_unit, units[i]) == 0;
		if (!ok)
			return err_set(ps->e, ERR_BAD_CONFIG,
				       "segmentsConfig.retentionTimeUnit: unknown time unit '%.64s'",
				       c->retention_unit);
	}
	it = member(sc, "retentionTimeValue");
	if (it && !(cJSON_IsString(it) && it->valuestring[0] == '\0')) {
		if (json_i64(it, &n) != 0 || n < 0)
			return err_set(ps->e, ERR_BAD_CONFIG, "segmentsConfig.retentionTimeValue: not a number");
		c->retention_value = n;
	}
	rc = json_i64(member(sc, "replication"), &n);
	if (rc < 0 || (rc == 0 && (n < 1 || n > 1000)))
		return err_set(ps->e, ERR_BAD_CONFIG, rc < 0 ? "segmentsConfig.replication: not a number"
							  : "segmentsConfig.replication: must be at least 1");
	if (rc == 0)
		c->replication = (int)n;
	return 0;
}

static int
parse_index(Parser *ps, const cJSON *root, const cJSON **tic_out)
{
	TableConfig *c = ps->c;
	const cJSON *tic, *it;
	const char *P = "tableIndexConfig";
	int rc;
	if ((rc = opt_obj(root, "tableIndexConfig", "", &tic, ps->e)) != 0)
		return rc;
	*tic_out = tic;
	c->load_mode_mmap = 1;
	c->num_partitions = 1;
	if (tic == NULL)
		return 0;
	if ((rc = str_list(ps, tic, "invertedIndexColumns", P, &c->inverted, &c->ninverted)) != 0 ||
	    (rc = str_list(ps, tic, "noDictionaryColumns", P, &c->no_dictionary, &c->nnodict)) != 0 ||
	    (rc = str_list(ps, tic, "rangeIndexColumns", P, &c->range, &c->nrange)) != 0 ||
	    (rc = str_list(ps, tic, "bloomFilterColumns", P, &c->bloom, &c->nbloom)) != 0)
		return rc;
	it = member(tic, "sortedColumn");
	if (it && cJSON_IsString(it)) {
		if ((rc = opt_str(ps, tic, "sortedColumn", P, &c->sorted_column, 1)) != 0)
			return rc;
	} else if (it) {
		const char **cols;
		int n;
		if ((rc = str_list(ps, tic, "sortedColumn", P, &cols, &n)) != 0)
			return rc;
		if (n > 1)
			return err_set(ps->e, ERR_BAD_CONFIG,
				       "tableIndexConfig.sortedColumn: at most one column, got %d", n);
		c->sorted_column = n ? cols[0] : NULL;
	}
	const char *lm;
	if ((rc = opt_str(ps, tic, "loadMode", P, &lm, 1)) != 0)
		return rc;
	if (lm) {
		if (strcasecmp(lm, "MMAP") == 0)
			c->load_mode_mmap = 1;
		else if (strcasecmp(lm, "HEAP") == 0)
			c->load_mode_mmap = 0;
		else
			return err_set(ps->e, ERR_BAD_CONFIG,
				       "tableIndexConfig.loadMode: must be MMAP or HEAP, got '%.32s'", lm);
	}
	const cJSON *spc, *cpm;
	if ((rc = opt_obj(tic, "segmentPartitionConfig", P, &spc, ps->e)) != 0 ||
	    (rc = opt_obj(spc, "columnPartitionMap", "tableIndexConfig.segmentPartitionConfig", &cpm,
			  ps->e)) != 0)
		return rc;
	if (cpm && cpm->child) {
		const char *mp = "tableIndexConfig.segmentPartitionConfig.columnPartitionMap";
		if (cJSON_GetArraySize(cpm) > 1)
			return err_set(ps->e, ERR_BAD_CONFIG,
				       "%s: Waybill partitions by one column, got %d", mp,
				       cJSON_GetArraySize(cpm));
		const cJSON *col = cpm->child;
		if (!cJSON_IsObject(col))
			return err_set(ps->e, ERR_BAD_CONFIG, "%s.%s: expected an object", mp, col->string);
		int64_t n;
		int r = json_i64(member(col, "numPartitions"), &n);
		if (r > 0)
			return err_set(ps->e, ERR_BAD_CONFIG, "%s.%s.numPartitions: required", mp,
				       col->string);
		if (r < 0 || n < 1 || n > 65536)
			return err_set(ps->e, ERR_BAD_CONFIG,
				       "%s.%s.numPartitions: expected a number from 1 to 65536", mp,
				       col->string);
		c->num_partitions = (int)n;
		if ((c->partition_column = arena_strdup(&c->arena, col->string)) == NULL)
			return nomem(ps->e);
	}
	return 0;
}

/* --- upsertConfig ------------------------------------------------------------ */

/* Pinot's strategy names, indexed by TBL_UPS_*. */
static const char *const strategy_names[] = {
	[TBL_UPS_OVERWRITE] = "OVERWRITE", [TBL_UPS_FORCE_OVERWRITE] = "FORCE_OVERWRITE",
	[TBL_UPS_INCREMENT] = "INCREMENT", [TBL_UPS_APPEND] = "APPEND",
	[TBL_UPS_UNION] = "UNION",	   [TBL_UPS_IGNORE] = "IGNORE",
	[TBL_UPS_MAX] = "MAX",		   [TBL_UPS_MIN] = "MIN",
};
#define NSTRATEGY ((int)(sizeof(strategy_names) / sizeof(strategy_names[0])))

/* A strategy name (case-insensitive, as Pinot's enum) into *out. */
static int
parse_strategy(Parser *ps, const cJSON *it, const char *path, int *out)
{
	if (!cJSON_IsString(it))
		return err_set(ps->e, ERR_BAD_CONFIG, "%s: expected a string", path);
	for (int i = 0; i < NSTRATEGY; i++)
		if (strcasecmp(it->valuestring, strategy_names[i]) == 0) {
			*out = i;
			return 0;
		}
	return err_set(ps->e, ERR_BAD_CONFIG,
		       "%s: unknown strategy '%.32s' (expected OVERWRITE, FORCE_OVERWRITE, INCREMENT, "
		       "APPEND, UNION, IGNORE, MAX or MIN)",
		       path, it->valuestring);
}

/* Optional number (a JSON number or a numeric string, as Jackson coerces)
 * into *out, which is left alone when the key is absent. */
static int
ups_number(Parser *ps, const cJSON *uc, const char *key, double *out)
{
	const cJSON *it = member(uc, key);
	if (it == NULL)
		return 0;
	if (cJSON_IsNumber(it)) {
		*out = it->valuedouble;
		return 0;
	}
	if (cJSON_IsString(it) && it->valuestring[0] != '\0' &&
	    !isspace((unsigned char)it->valuestring[0])) {
		char *end;
		errno = 0;
		double d = strtod(it->valuestring, &end);
		if (*end == '\0' && errno == 0 && isfinite(d)) {
			*out = d;
			return 0;
		}
	}
	return err_set(ps->e, ERR_BAD_CONFIG, "upsertConfig.%s: must be a number", key);
}

/* Optional boolean (true/false or "true"/"false") into *out. */
static int
ups_bool(Parser *ps, const cJSON *uc, const char *key, int *out)
{
	const cJSON *it = member(uc, key);
	if (it == NULL)
		return 0;
	if (cJSON_IsBool(it)) {
		*out = cJSON_IsTrue(it);
		return 0;
	}
	if (cJSON_IsString(it) && (strcasecmp(it->valuestring, "true") == 0 ||
				   strcasecmp(it->valuestring, "false") == 0)) {
		*out = strcasecmp(it->valuestring, "true") == 0;
		return 0;
	}
	return err_set(ps->e, ERR_BAD_CONFIG, "upsertConfig.%s: must be true or false", key);
}

static int
parse_comparison(Parser *ps, const cJSON *uc)
{
	TableConfig *c = ps->c;
	const char *one;
	int rc;
	if (member(uc, "comparisonColumn") && member(uc, "comparisonColumns"))
		return err_set(ps->e, ERR_BAD_CONFIG,
			       "upsertConfig.comparisonColumns: cannot be given together with the "
			       "deprecated comparisonColumn; keep only comparisonColumns");
	if ((rc = opt_str(ps, uc, "comparisonColumn", "upsertConfig", &one, 1)) != 0 ||
	    (rc = str_list(ps, uc, "comparisonColumns", "upsertConfig", &c->cmp_cols, &c->ncmp)) != 0)
		return rc;
	for (int i = 0; i < c->ncmp; i++)
		if (c->cmp_cols[i][0] == '\0')
			return err_set(ps->e, ERR_BAD_CONFIG,
				       "upsertConfig.comparisonColumns[%d]: must not be empty", i);
	if (c->ncmp == 0)
		c->cmp_cols = NULL;
	if (one) {
		if ((c->cmp_cols = arena_alloc(&c->arena, sizeof(char *))) == NULL)
			return nomem(ps->e);
		c->cmp_cols[0] = one;
		c->ncmp = 1;
	}
	return 0;
}

static int
parse_strategies(Parser *ps, const cJSON *uc)
{
	TableConfig *c = ps->c;
	const cJSON *st;
	int rc;
	if ((rc = opt_obj(uc, "partialUpsertStrategies", "upsertConfig", &st, ps->e)) != 0)
		return rc;
	int n = st ? cJSON_GetArraySize(st) : 0;
	if (n > 0) {
		c->strategy_cols = arena_alloc(&c->arena, sizeof(char *) * (size_t)n);
		c->strategies = arena_alloc(&c->arena, sizeof(int) * (size_t)n);
		if (c->strategy_cols == NULL || c->strategies == NULL)
			return nomem(ps->e);
		for (const cJSON *it = st->child; it; it = it->next) {
			char path[PATH_LEN];
			snprintf(path, sizeof(path), "upsertConfig.partialUpsertStrategies.%.200s",
				 it->string);
			if ((rc = parse_strategy(ps, it, path, &c->strategies[c->nstrategies])) != 0)
				return rc;
			c->strategy_cols[c->nstrategies] = arena_strdup(&c->arena, it->string);
			if (c->strategy_cols[c->nstrategies++] == NULL)
				return nomem(ps->e);
		}
	}
	c->default_strategy = TBL_UPS_OVERWRITE;
	const cJSON *ds = member(uc, "defaultPartialUpsertStrategy");
	return ds ? parse_strategy(ps, ds, "upsertConfig.defaultPartialUpsertStrategy",
				   &c->default_strategy)
		  : 0;
}

/* The rules of Pinot's TableConfigUtils that need no schema; Pinot checks
 * them only for FULL and PARTIAL upsert. */
static int
upsert_rules(Parser *ps, const char *consistency, int compaction_consistency,
	     const char *merger_class)
{
	const TableConfig *c = ps->c;
	if (c->out_of_order_col && c->drop_out_of_order)
		return err_set(ps->e, ERR_BAD_CONFIG,
			       "upsertConfig.outOfOrderRecordColumn: cannot be used with "
			       "dropOutOfOrderRecord");
	if (consistency && strcasecmp(consistency, "NONE") != 0 &&
	    (c->drop_out_of_order || c->out_of_order_col))
		return err_set(ps->e, ERR_BAD_CONFIG,
			       "upsertConfig.%s: not allowed when consistencyMode is %s (only NONE)",
			       c->drop_out_of_order ? "dropOutOfOrderRecord" : "outOfOrderRecordColumn",
			       consistency);
	if ((c->metadata_ttl != 0 || c->deleted_keys_ttl != 0) && c->ncmp > 1)
		return err_set(ps->e, ERR_BAD_CONFIG,
			       "upsertConfig.%s: needs a single comparison column, got %d",
			       c->metadata_ttl != 0 ? "metadataTTL" : "deletedKeysTTL", c->ncmp);
	if (c->deleted_keys_ttl > 0 && c->delete_col == NULL)
		return err_set(ps->e, ERR_BAD_CONFIG,
			       "upsertConfig.deletedKeysTTL: needs deleteRecordColumn");
	if (compaction_consistency && c->metadata_ttl != 0)
		return err_set(ps->e, ERR_BAD_CONFIG,
			       "upsertConfig.enableDeletedKeysCompactionConsistency: cannot be used with "
			       "metadataTTL");
	if (compaction_consistency && c->deleted_keys_ttl <= 0)
		return err_set(ps->e, ERR_BAD_CONFIG,
			       "upsertConfig.enableDeletedKeysCompactionConsistency: needs deletedKeysTTL");
	if (merger_class && c->nstrategies > 0 && strcmp(c->upsert_mode, "PARTIAL") == 0)
		return err_set(ps->e, ERR_BAD_CONFIG,
			       "upsertConfig.partialUpsertStrategies: must be empty when "
			       "partialUpsertMergerClass is given");
	return 0;
}

static int
parse_upsert(Parser *ps, const cJSON *root)
{
	TableConfig *c = ps->c;
	const char *P = "upsertConfig";
	const cJSON *uc;
	const char *mode, *consistency, *merger_class;
	int compaction_consistency = 0;
	int rc;
	if ((rc = opt_obj(root, "upsertConfig", "", &uc, ps->e)) != 0)
		return rc;
	if (uc == NULL)
		return 0;
	if ((rc = opt_str(ps, uc, "mode", P, &mode, 0)) != 0)
		return rc;
	if (mode == NULL)
		mode = "FULL";	/* Pinot's UpsertConfig default */
	static const char *const modes[] = {"FULL", "PARTIAL", "NONE"};
	for (int i = 0; i < 3; i++)
		if (strcasecmp(mode, modes[i]) == 0)
			c->upsert_mode = modes[i];
	if (c->upsert_mode == NULL)
		return err_set(ps->e, ERR_BAD_CONFIG,
			       "upsertConfig.mode: must be FULL, PARTIAL or NONE, got '%.32s'", mode);
	if (c->type != TABLE_REALTIME && strcmp(c->upsert_mode, "NONE") != 0)
		return err_set(ps->e, ERR_BAD_CONFIG, "upsertConfig: upsert needs a REALTIME table");
	if ((rc = parse_comparison(ps, uc)) != 0 || (rc = parse_strategies(ps, uc)) != 0 ||
	    (rc = opt_str(ps, uc, "deleteRecordColumn", P, &c->delete_col, 1)) != 0 ||
	    (rc = opt_str(ps, uc, "outOfOrderRecordColumn", P, &c->out_of_order_col, 1)) != 0 ||
	    (rc = ups_number(ps, uc, "deletedKeysTTL", &c->deleted_keys_ttl)) != 0 ||
	    (rc = ups_number(ps, uc, "metadataTTL", &c->metadata_ttl)) != 0 ||
	    (rc = ups_bool(ps, uc, "dropOutOfOrderRecord", &c->drop_out_of_order)) != 0 ||
	    (rc = ups_bool(ps, uc, "enableDeletedKeysCompactionConsistency",
			   &compaction_consistency)) != 0 ||
	    (rc = opt_str(ps, uc, "consistencyMode", P, &consistency, 1)) != 0 ||
	    (rc = opt_str(ps, uc, "partialUpsertMergerClass", P, &merger_class, 1)) != 0)
		return rc;
	if (consistency && strcasecmp(consistency, "NONE") != 0 &&
	    strcasecmp(consistency, "SYNC") != 0 && strcasecmp(consistency, "SNAPSHOT") != 0)
		return err_set(ps->e, ERR_BAD_CONFIG,
			       "upsertConfig.consistencyMode: must be NONE, SYNC or SNAPSHOT, got '%.32s'",
			       consistency);
	if (strcmp(c->upsert_mode, "NONE") != 0 &&
	    (rc = upsert_rules(ps, consistency, compaction_consistency, merger_class)) != 0)
		return rc;
	/* Pinot enables a TTL only when it is positive */
	if (c->deleted_keys_ttl < 0)
		c->deleted_keys_ttl = 0;
	if (c->metadata_ttl < 0)
		c->metadata_ttl = 0;
	return 0;
}

static int
parse_root(Parser *ps, const cJSON *root)
{
	TableConfig *c = ps->c;
	char path[PATH_LEN] = "";
	const cJSON *tic;
	int rc;
	if (!cJSON_IsObject(root))
		return err_set(ps->e, ERR_BAD_CONFIG, "table config: expected a JSON object");
	if ((rc = check_dup_keys(root, path, 0, ps->e)) != 0)
		return rc;
	if ((rc = parse_name_type(ps, root)) != 0 || (rc = parse_segments(ps, root)) != 0 ||
	    (rc = parse_index(ps, root, &tic)) != 0 || (rc = parse_stream(ps, root, tic)) != 0 ||
	    (rc = parse_upsert(ps, root)) != 0)
		return rc;
	if (c->schema_name == NULL)
		c->schema_name = c->name;

	cJSON *unk = cJSON_CreateObject();
	if (unk == NULL)
		return nomem(ps->e);
	path[0] = '\0';
	rc = walk_unknown(unk, root, path, 0);
	char *u = rc == 0 ? cJSON_PrintUnformatted(unk) : NULL;
	cJSON_Delete(unk);
	char *js = u ? cJSON_PrintUnformatted(root) : NULL;
	if (u)
		c->unrecognized = arena_strdup(&c->arena, u);
	if (js)
		c->json = arena_strdup(&c->arena, js);
	cJSON_free(u);
	cJSON_free(js);
	return c->unrecognized && c->json ? 0 : nomem(ps->e);
}

int
tblconfig_parse(const char *json, size_t len, TableConfig **out, Err *e)
{
	*out = NULL;
	cJSON *root;
	if (jsondoc_parse(json, len, &root, e) != 0)
		return ERR_BAD_JSON;
	TableConfig *c = mem_calloc(1, sizeof(TableConfig));
	if (c == NULL) {
		cJSON_Delete(root);
		return nomem(e);
	}
	arena_init(&c->arena, 4096);
	Parser ps = {.c = c, .e = e};
	int rc = parse_root(&ps, root);
	cJSON_Delete(root);
	if (rc != 0) {
		tblconfig_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
tblconfig_free(TableConfig *c)
{
	if (c == NULL)
		return;
	arena_free(&c->arena);
	mem_free(c);
}

const char *
tblconfig_type_name(TableType t)
{
	return t == TABLE_REALTIME ? "REALTIME" : "OFFLINE";
}

/* --- schema cross-check ----------------------------------------------------- */

static int
need_col(const Schema *s, const char *col, const char *path, Err *e)
{
	if (col && schema_find(s, col) < 0)
		return err_set(e, ERR_BAD_CONFIG, "%s: column '%.64s' is not in schema '%.64s'", path, col,
			       s->name);
	return 0;
}

static int
need_list(const Schema *s, const char **cols, int n, const char *path, Err *e)
{
	char p[128];
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s[%d]", path, i);
		int rc = need_col(s, cols[i], p, e);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static const Field *
field_of(const Schema *s, const char *col)
{
	int i = schema_find(s, col);
	return i < 0 ? NULL : &s->fields[i];
}

/* "INT", "multi-value STRING", "complex JSON": for messages. */
static const char *
describe(const Field *f, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", f->single_value ? "" : "multi-value ",
		 f->kind == FIELD_COMPLEX ? "complex " : "", type_name(f->type));
	return buf;
}

static int
in_list(const char *const *list, int n, const char *col)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i], col) == 0)
			return 1;
	return 0;
}

/* A partial-upsert strategy against its column (Pinot's
 * validatePartialUpsertStrategies, plus MAX/MIN as INCREMENT). */
static int
check_strategy(const TableConfig *c, const Schema *s, int i, Err *e)
{
	const char *col = c->strategy_cols[i];
	int st = c->strategies[i];
	char path[PATH_LEN], what[64];
	int rc;
	snprintf(path, sizeof(path), "upsertConfig.partialUpsertStrategies.%.200s", col);
	if (in_list(s->pk, s->npk, col))
		return err_set(e, ERR_BAD_CONFIG,
			       "%s: '%.64s' is a primary key column; no merge strategy applies to it",
			       path, col);
	if (c->ncmp ? in_list(c->cmp_cols, c->ncmp, col)
		    : c->time_column != NULL && strcmp(c->time_column, col) == 0)
		return err_set(e, ERR_BAD_CONFIG, "%s: '%.64s' is the %s; no merge strategy applies to it",
			       path, col, c->ncmp ? "comparison column" : "time column");
	if ((rc = need_col(s, col, path, e)) != 0)
		return rc;
	const Field *f = field_of(s, col);
	if (st == TBL_UPS_INCREMENT || st == TBL_UPS_MAX || st == TBL_UPS_MIN) {
		if (!f->single_value || f->kind == FIELD_COMPLEX || !type_is_numeric(f->type))
			return err_set(e, ERR_BAD_CONFIG,
				       "%s: %s needs a single-value numeric column, '%.64s' is %s", path,
				       strategy_names[st], col, describe(f, what, sizeof(what)));
		if (st == TBL_UPS_INCREMENT && (f->kind == FIELD_DATETIME || f->kind == FIELD_TIME))
			return err_set(e, ERR_BAD_CONFIG,
				       "%s: INCREMENT cannot apply to the dateTime column '%.64s'", path,
				       col);
	} else if ((st == TBL_UPS_APPEND || st == TBL_UPS_UNION) && f->single_value) {
		return err_set(e, ERR_BAD_CONFIG, "%s: %s needs a multi-value column, '%.64s' is %s",
			       path, strategy_names[st], col, describe(f, what, sizeof(what)));
	}
	return 0;
}

/* The upsertConfig columns against the schema (FULL and PARTIAL). */
static int
check_upsert(const TableConfig *c, const Schema *s, Err *e)
{
	char path[PATH_LEN], what[64];
	const Field *f;
	int rc;
	/* name the key the user wrote: the deprecated one holds one column */
	int deprecated = c->json != NULL && strstr(c->json, "\"comparisonColumn\":") != NULL;
	for (int i = 0; i < c->ncmp; i++) {
		if (deprecated)
			snprintf(path, sizeof(path), "upsertConfig.comparisonColumn");
		else
			snprintf(path, sizeof(path), "upsertConfig.comparisonColumns[%d]", i);
		if ((rc = need_col(s, c->cmp_cols[i], path, e)) != 0)
			return rc;
		f = field_of(s, c->cmp_cols[i]);
		if (!f->single_value || f->kind == FIELD_COMPLEX)
			return err_set(e, ERR_BAD_CONFIG,
				       "%s: column '%.64s' is %s; a comparison column must be single-value",
				       path, c->cmp_cols[i], describe(f, what, sizeof(what)));
	}
	if (c->metadata_ttl > 0 || c->deleted_keys_ttl > 0) {
		const char *tp = c->metadata_ttl > 0 ? "metadataTTL" : "deletedKeysTTL";
		const char *col = c->ncmp ? c->cmp_cols[0] : c->time_column;
		if (col == NULL)
			return err_set(e, ERR_BAD_CONFIG,
				       "upsertConfig.%s: needs a comparison column or "
				       "segmentsConfig.timeColumnName",
				       tp);
		f = field_of(s, col);
		if (f == NULL || !type_is_numeric(f->type))
			return err_set(e, ERR_BAD_CONFIG,
				       "upsertConfig.%s: the comparison column '%.64s' must be numeric or "
				       "TIMESTAMP, it is %s",
				       tp, col, f ? describe(f, what, sizeof(what)) : "missing");
	}
	if (c->delete_col) {
		if ((rc = need_col(s, c->delete_col, "upsertConfig.deleteRecordColumn", e)) != 0)
			return rc;
		f = field_of(s, c->delete_col);
		WbType t = f->type;
		if (!f->single_value || f->kind == FIELD_COMPLEX ||
		    !(t == TYPE_BOOLEAN || t == TYPE_STRING || t == TYPE_INT || t == TYPE_LONG ||
		      t == TYPE_FLOAT || t == TYPE_DOUBLE))
			return err_set(e, ERR_BAD_CONFIG,
				       "upsertConfig.deleteRecordColumn: column '%.64s' must be a "
				       "single-value BOOLEAN, STRING or numeric column, it is %s",
				       c->delete_col, describe(f, what, sizeof(what)));
	}
	if (c->out_of_order_col) {
		if ((rc = need_col(s, c->out_of_order_col, "upsertConfig.outOfOrderRecordColumn", e)) !=
		    0)
			return rc;
		f = field_of(s, c->out_of_order_col);
		if (!f->single_value || f->kind == FIELD_COMPLEX || f->type != TYPE_BOOLEAN)
			return err_set(e, ERR_BAD_CONFIG,
				       "upsertConfig.outOfOrderRecordColumn: column '%.64s' must be a "
				       "single-value BOOLEAN column, it is %s",
				       c->out_of_order_col, describe(f, what, sizeof(what)));
	}
	if (strcmp(c->upsert_mode, "PARTIAL") == 0)
		for (int i = 0; i < c->nstrategies; i++)
			if ((rc = check_strategy(c, s, i, e)) != 0)
				return rc;
	return 0;
}

int
tblconfig_check_schema(const TableConfig *c, const Schema *s, Err *e)
{
	int rc;
	if ((rc = need_col(s, c->time_column, "segmentsConfig.timeColumnName", e)) != 0)
		return rc;
	if (c->time_column) {
		const Field *f = &s->fields[schema_find(s, c->time_column)];
		if (f->kind != FIELD_DATETIME && f->kind != FIELD_TIME)
			return err_set(e, ERR_BAD_CONFIG,
				       "segmentsConfig.timeColumnName: column '%.64s' is not a dateTime "
				       "field in schema '%.64s'",
				       c->time_column, s->name);
	}
	if ((rc = need_list(s, c->inverted, c->ninverted, "tableIndexConfig.invertedIndexColumns",
			    e)) != 0 ||
	    (rc = need_col(s, c->sorted_column, "tableIndexConfig.sortedColumn", e)) != 0 ||
	    (rc = need_list(s, c->no_dictionary, c->nnodict, "tableIndexConfig.noDictionaryColumns",
			    e)) != 0 ||
	    (rc = need_list(s, c->range, c->nrange, "tableIndexConfig.rangeIndexColumns", e)) != 0 ||
	    (rc = need_list(s, c->bloom, c->nbloom, "tableIndexConfig.bloomFilterColumns", e)) != 0)
		return rc;
	if (c->partition_column) {
		char p[PATH_LEN];
		snprintf(p, sizeof(p),
			 "tableIndexConfig.segmentPartitionConfig.columnPartitionMap.%.200s",
			 c->partition_column);
		if ((rc = need_col(s, c->partition_column, p, e)) != 0)
			return rc;
	}
	if (c->upsert_mode && strcmp(c->upsert_mode, "NONE") != 0 && s->npk == 0)
		return err_set(e, ERR_BAD_CONFIG,
			       "upsertConfig.mode: %s upsert needs primaryKeyColumns in schema '%.64s'",
			       c->upsert_mode, s->name);
	if (c->upsert_mode && strcmp(c->upsert_mode, "NONE") != 0)
		return check_upsert(c, s, e);
	return 0;
}

int64_t
tblconfig_retention_ms(const TableConfig *c)
{
	static const struct { const char *name; int64_t ms; } units[] = {
		{"MILLISECONDS", 1}, {"SECONDS", 1000}, {"MINUTES", 60000}, {"HOURS", 3600000},
		{"DAYS", 86400000}};
	if (c->retention_unit == NULL || c->retention_value <= 0)
		return 0;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(c->retention_unit, units[i].name) == 0)
			return c->retention_value > INT64_MAX / units[i].ms ? INT64_MAX
									     : c->retention_value * units[i].ms;
	return 0;
}
