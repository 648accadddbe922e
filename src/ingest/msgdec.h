/*
 * msgdec.h -- turns one stream message (a Kafka message value) into one
 * JSON object text, the form the ingest pipeline decodes (jsonrec), plus
 * change metadata.
 *
 * Formats (Pinot's stream.<type>.decoder.class.name): JSON (passed
 * through untouched: zero copy), Avro binary datums with the writer
 * schema in stream.<type>.decoder.prop.schema (plain, Confluent wire
 * format, or Pinot's KafkaAvroMessageDecoder header), CSV (one record per
 * message).  Envelopes (stream.<type>.decoder.prop.envelope): plain,
 * debezium, cosmos.  docs/ingest-formats.md lists every setting, the
 * metadata columns (__op, __ts_ms, __deleted, __lsn, __source_connector,
 * __source_db, __source_table) and the rules for each op.
 *
 * A MsgDecoder is built once per stream partition and reused for every
 * message; it is not thread-safe (one per consumer thread).
 */
#ifndef WB_MSGDEC_H
#define WB_MSGDEC_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/err.h"
#include "table/schema.h"

typedef enum MsgFormat { MSG_JSON, MSG_AVRO, MSG_CSV } MsgFormat;
typedef enum MsgEnvelope { MSG_ENV_PLAIN, MSG_ENV_DEBEZIUM, MSG_ENV_COSMOS } MsgEnvelope;
typedef enum MsgOp {
	MSG_OP_NONE, /* plain messages; skipped messages */
	MSG_OP_CREATE,
	MSG_OP_UPDATE, /* also Cosmos latest-version mode (upsert) */
	MSG_OP_DELETE,
	MSG_OP_READ /* snapshot read (Debezium op 'r') */
} MsgOp;

typedef struct MsgMeta {
	MsgOp op;
	int64_t ts_ms; /* source change time (ms), or -1 */
	int64_t lsn;   /* Debezium source.lsn, Cosmos _lsn / metadata.lsn, or -1 */
} MsgMeta;

typedef struct MsgDecoder MsgDecoder;

/* Builds a decoder from a table's stream config map (borrowed: a cJSON
 * object of string values, as in Pinot's streamConfigs).  s (borrowed,
 * must outlive the decoder; may be NULL) tells which metadata columns to
 * add and which CSV columns are multi-value; with s NULL every metadata
 * field is added and nothing is split.  ERR_BAD_CONFIG naming the key at
 * fault, ERR_UNSUPPORTED for a decoder class Waybill lacks, ERR_NOMEM.
 * On success *out is owned by the caller (msgdec_free). */
int msgdec_create(const cJSON *stream_config_map, const Schema *s, MsgDecoder **out, Err *e);
/* Decodes msg[0..len) (borrowed; NULL for a null value).  On 0, *json /
 * *json_len point into msg (plain JSON, and envelopes when no metadata
 * column is added) or into the decoder's scratch buffer (valid until the
 * next call); *json == NULL means "nothing to ingest" (a Debezium
 * tombstone), with meta->op MSG_OP_NONE.  Otherwise ERR_NOMEM (stop), or
 * ERR_BAD_RECORD / ERR_BAD_JSON / ERR_UNSUPPORTED for a bad message (dead
 * letter) with e->msg the reason ("Avro: truncated record at byte 17
 * (field 'name')", "Debezium: op 'u' without 'after'", "CSV: invalid
 * UTF-8 at byte 5"). */
int msgdec_decode(MsgDecoder *d, const void *msg, size_t len, const char **json, size_t *json_len,
                  MsgMeta *meta, Err *e);
MsgFormat msgdec_format(const MsgDecoder *d);
MsgEnvelope msgdec_envelope(const MsgDecoder *d);
void msgdec_free(MsgDecoder *d);

#endif
