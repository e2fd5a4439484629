/* json_text.h — the one definition of valid JSON text (RFC 8259: one value, strict escapes,
 * numbers in JSON's own form, UTF-8 with no overlong forms or surrogates), for text that is
 * passed on as a JSON value itself (a MariaDB JSON column, a JSON document to edit). */
#ifndef FL_JSON_TEXT_H
#define FL_JSON_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define FL_JSON_MAX_DEPTH 100

/* True when text[0..len) is exactly one JSON value, with white space around it allowed. */
bool fl_json_text_valid(const char *text, size_t len);

#endif
