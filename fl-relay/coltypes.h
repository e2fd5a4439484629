/* coltypes.h — one cell of a row image (binlog column encoding) to a canonical value.
 * Every MySQL/MariaDB column type: integers, FLOAT/DOUBLE, NEWDECIMAL, temporal types
 * (old and fractional), YEAR, strings and BLOBs, ENUM/SET, BIT, JSON (MySQL binary JSON
 * rendered as JSON text), GEOMETRY, VECTOR. */
#ifndef FL_COLTYPES_H
#define FL_COLTYPES_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/value.h"
#include "fl-relay/table_map.h"

/* Decodes the cell starting at data (at most len bytes) into *out. Byte payloads are copied
 * into arena when they are transformed (decimal digits, dates, JSON text) or may point into
 * data otherwise (the caller owns data until it copies the value). Sets *used to the bytes
 * the cell occupies. Returns 0, or -1 with a specific reason in err ("column 3 (DECIMAL):
 * truncated"). Never reads out of bounds. */
int fl_column_decode(const fl_column_meta *m, const uint8_t *data, size_t len, fl_arena *arena, fl_value *out,
                     size_t *used, char *err, size_t errlen);
/* The same cell appended to out in the journal's record form (fl_record_put_value of the
 * value fl_column_decode gives): integers and text that needs no conversion straight from
 * the cell, anything else through fl_column_decode. */
int fl_column_encode(const fl_column_meta *m, const uint8_t *data, size_t len, fl_arena *arena, fl_buf *out,
                     size_t *used, char *err, size_t errlen);

#endif
