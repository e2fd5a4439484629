/* charset.h — text of a column's character set to UTF-8, as the canonical values require.
 * UTF-8 collations (utf8mb3, utf8mb4) and ascii pass through unchanged; latin1 is MySQL's
 * latin1 (Windows-1252 with its five unassigned bytes kept as U+0081, U+008D, ...); other
 * character sets are converted with iconv. */
#ifndef FL_CHARSET_H
#define FL_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* True when text in collation `collation` must be converted (not UTF-8, ascii, binary or
 * unknown (0)). */
bool fl_charset_needs_conversion(uint32_t collation);

/* True when s[0..len) in collation `collation` is already the same text in UTF-8: a set
 * that needs no conversion, or latin1 text that is all ASCII (most text). */
bool fl_charset_same_in_utf8(uint32_t collation, const char *s, size_t len);

/* Converts s[0..len) from the collation's character set to UTF-8 in arena; *out and
 * *out_len receive the result (NUL-terminated). A byte sequence the character set does not
 * define is kept as the code point of each byte (U+0000..U+00FF), so nothing is lost. */
void fl_charset_to_utf8(uint32_t collation, const char *s, size_t len, fl_arena *arena, const char **out,
                        size_t *out_len);

#endif
