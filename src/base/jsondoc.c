/*
 * jsondoc.c -- a whole JSON document, strictly: cJSON parses the first
 * value; anything but white space after it is an error, reported with the
 * byte offset of what is wrong (1-based in Err.pos, as SQL positions are).
 *
 * Exports: jsondoc_parse.
 */
#include "base/jsondoc.h"

#include <ctype.h>

int
jsondoc_parse(const char *json, size_t len, cJSON **out, Err *e)
{
	*out = NULL;
	const char *end = NULL;
	cJSON *root = json && len ? cJSON_ParseWithLengthOpts(json, len, &end, 0) : NULL;
	size_t off = 0;
	if (root != NULL) {
		off = (size_t)(end - json);
		while (off < len && isspace((unsigned char)json[off]))
			off++;
	} else if (end && end >= json) {
		off = (size_t)(end - json);
	}
	if (root == NULL || off < len) {
		cJSON_Delete(root);
		int rc = err_set(e, ERR_BAD_JSON, "malformed JSON at byte %zu%s", off,
				 root ? ": data after the document" : "");
		if (e)
			e->pos = (int)off + 1;
		return rc;
	}
	*out = root;
	return 0;
}
