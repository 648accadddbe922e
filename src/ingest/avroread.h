/*
 * avroread.h -- reads an Avro object container file record by record and
 * renders each record as one compact JSON object (NDJSON line), so Avro
 * files can be pushed through the NDJSON decoder.  The only user of
 * libavro in Waybill.
 *
 * Rendering: record -> object (field name -> value), union -> the branch's
 * value, null -> null, boolean/int/long/double -> JSON, float/double NaN or
 * infinity -> null, string -> string, bytes and fixed -> hex string,
 * enum -> its symbol, array -> array, map -> object.
 *
 * Single datums (a Kafka message's Avro body, no container) are decoded by
 * an AvroDatum: the writer schema (JSON text) is compiled once into a flat
 * table, and each datum's bytes are walked directly against it with
 * bounds checks, rendered with the same mapping.  Strings (and map keys)
 * must be valid UTF-8.
 */
#ifndef WB_AVROREAD_H
#define WB_AVROREAD_H

#include "base/buf.h"
#include "base/err.h"

typedef struct AvroRead AvroRead;

/* Opens path; on success *out is owned by the caller (avroread_close).
 * ERR_IO when the file cannot be opened, ERR_BAD_RECORD when it is not an
 * Avro container, ERR_UNSUPPORTED for a codec libavro lacks. */
int avroread_open(const char *path, AvroRead **out, Err *e);
/* Replaces json_line's content with the next record (no newline).
 * Returns 1 when a record was produced, 0 at end of file, < 0 on error
 * (ERR_CORRUPT, ERR_NOMEM) with e set. */
int avroread_next(AvroRead *r, Buf *json_line, Err *e);
/* Number of records produced so far. */
long long avroread_count(const AvroRead *r);
void avroread_close(AvroRead *r);

typedef struct AvroDatum AvroDatum;

/* Compiles the writer schema schema_json[0..len) (borrowed).  The schema
 * must be a record (one message = one row).  ERR_BAD_CONFIG naming
 * libavro's reason when it does not parse or is not a record, ERR_NOMEM.
 * On success *out is owned by the caller (avroread_datum_free). */
int avroread_datum_create(const char *schema_json, size_t len, AvroDatum **out, Err *e);
/* Decodes the datum p[0..n) (borrowed) and appends its JSON object to out
 * (the caller resets it).  The whole input must be one datum.  Returns 0,
 * ERR_NOMEM, or ERR_BAD_RECORD with e->msg such as "Avro: truncated record
 * at byte 17 (field 'name')", "Avro: invalid UTF-8 in string at byte 5",
 * "Avro: 3 trailing bytes after the record at byte 12". */
int avroread_datum_decode(AvroDatum *d, const void *p, size_t n, Buf *out, Err *e);
void avroread_datum_free(AvroDatum *d);

#endif
