/* json_diff.h — MySQL partial JSON updates: PARTIAL_UPDATE_ROWS events written with
 * binlog_row_value_options=PARTIAL_JSON carry, for a JSON column, a list of changes
 * (replace, insert or remove at a path, with values in MySQL's binary JSON) instead of the
 * new document. This applies such a list to the document's JSON text. */
#ifndef FL_JSON_DIFF_H
#define FL_JSON_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Applies the binlog diff vector diff[0..len) to the JSON text doc[0..doc_len) and appends
 * the new document's text (MySQL's ", " and ": " style) to out. Returns 0, or -1 with a
 * reason in err ("JSON diff: path $.a[3] not found"). Never reads out of bounds. */
int fl_json_diff_apply(const char *doc, size_t doc_len, const uint8_t *diff, size_t len, fl_buf *out, char *err,
                       size_t errlen);

#endif
