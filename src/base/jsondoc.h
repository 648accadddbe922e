/*
 * jsondoc.h -- parses a whole JSON document strictly (cJSON): nothing but
 * white space may follow it.  Shared by the parsers of schemas, table
 * configs and flow definitions.
 */
#ifndef WB_JSONDOC_H
#define WB_JSONDOC_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/err.h"

/* *out = the document json[0..len) (caller cJSON_Deletes it), or
 * ERR_BAD_JSON "malformed JSON at byte N[: data after the document]" with
 * e->pos = N + 1. */
int jsondoc_parse(const char *json, size_t len, cJSON **out, Err *e);

#endif
