/* mysql_cell.c — a text-protocol result cell as the canonical value the binlog decoder
 * gives the same column: numbers parsed, temporal and decimal text kept, strings by charset. */
#include "common/mysql_cell.h"

#include <stdlib.h>
#include <string.h>

void fl_mysql_cell_value(const MYSQL_FIELD *f, const char *s, unsigned long len, fl_value *v)
{
    memset(v, 0, sizeof *v);
    if (!s) {
        v->type = FL_VAL_NULL;
        return;
    }
    v->s.ptr = s;
    v->s.len = (uint32_t)len;
    switch (f->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
        if (f->flags & UNSIGNED_FLAG) {
            v->type = FL_VAL_UINT;
            v->u = strtoull(s, NULL, 10);
        } else {
            v->type = FL_VAL_INT;
            v->i = strtoll(s, NULL, 10);
        }
        return;
    case MYSQL_TYPE_YEAR:
        v->type = FL_VAL_YEAR;
        v->i = strtoll(s, NULL, 10);
        return;
    case MYSQL_TYPE_FLOAT:
        v->type = FL_VAL_FLOAT;
        v->d = (double)strtof(s, NULL);
        return;
    case MYSQL_TYPE_DOUBLE:
        v->type = FL_VAL_DOUBLE;
        v->d = strtod(s, NULL);
        return;
    case MYSQL_TYPE_BIT: {
        uint64_t u = 0;
        for (unsigned long i = 0; i < len && i < 8; i++) u = u << 8 | (uint8_t)s[len > 8 ? len - 8 + i : i];
        v->type = FL_VAL_BIT;
        v->u = u;
        return;
    }
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: v->type = FL_VAL_DECIMAL; return;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE: v->type = FL_VAL_DATE; return;
    case MYSQL_TYPE_DATETIME: v->type = FL_VAL_DATETIME; return;
    case MYSQL_TYPE_TIMESTAMP: v->type = FL_VAL_TIMESTAMP; return;
    case MYSQL_TYPE_TIME: v->type = FL_VAL_TIME; return;
    case MYSQL_TYPE_JSON: v->type = FL_VAL_JSON; return;
    case MYSQL_TYPE_GEOMETRY: v->type = FL_VAL_GEOMETRY; return;
    case MYSQL_TYPE_ENUM: v->type = FL_VAL_ENUM; return;
    case MYSQL_TYPE_SET: v->type = FL_VAL_SET; return;
    default:
        if ((unsigned)f->type == FL_MYSQL_TYPE_VECTOR)
            v->type = FL_VAL_VECTOR;
        else if (f->flags & ENUM_FLAG)
            v->type = FL_VAL_ENUM;
        else if (f->flags & SET_FLAG)
            v->type = FL_VAL_SET;
        else if (f->charsetnr == 63)
            v->type = FL_VAL_BINARY;
        else
            v->type = FL_VAL_STRING;
        return;
    }
}
