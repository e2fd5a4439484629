/* json_binary.h — MySQL's binary JSON column format to JSON text (objects, arrays, literals,
 * integers, doubles, strings, and opaque values rendered like MySQL prints them: DECIMAL as
 * a number, DATE, TIME, DATETIME, TIMESTAMP as strings, others as "base64:typeN:..."). */
#ifndef FL_JSON_BINARY_H
#define FL_JSON_BINARY_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Appends the JSON text of the binary value data[0..len) to out. An empty value (len 0) is
 * JSON null. Returns 0, or -1 with a reason in err; never reads out of bounds, bounded depth. */
int fl_json_binary_to_text(const uint8_t *data, size_t len, fl_buf *out, char *err, size_t errlen);

#endif
