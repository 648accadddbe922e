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

#endif
