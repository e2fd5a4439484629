/* decimal.h — MySQL's binary DECIMAL format (row images and opaque JSON values) to its exact
 * text: "-", integer digits without leading zeros (at least one), "." and exactly `scale`
 * fraction digits ("1165.50", "-0.05", "0.00"). */
#ifndef FL_DECIMAL_H
#define FL_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define FL_DECIMAL_TEXT_MAX 100 /* 81 digits, sign, point, leading zero, NUL */

/* Bytes a DECIMAL(prec, scale) value takes; 0 when prec/scale are not valid (prec 1..81,
 * scale <= prec). */
size_t fl_decimal_bin_size(unsigned prec, unsigned scale);

/* Writes the text of the value at p (fl_decimal_bin_size(prec, scale) bytes, which the
 * caller has checked are there) to text (FL_DECIMAL_TEXT_MAX bytes, NUL-terminated) and
 * returns its length; -1 when a group holds a number larger than its digits allow
 * (*bad_group receives it). */
int fl_decimal_to_text(const uint8_t *p, unsigned prec, unsigned scale, char *text, uint32_t *bad_group);

#endif
