/* mysql_cell.h — one text-protocol result cell (MYSQL_ROW entry) as the canonical value the
 * binlog decoder produces for that column, so rows read by SELECT (fl-apply --verify, the
 * relay's snapshots) compare and render like journaled rows. */
#ifndef FL_MYSQL_CELL_H
#define FL_MYSQL_CELL_H

#include <mysql.h>

#include "common/value.h"

/* s is the cell (NULL for SQL NULL) of len bytes; v points into s for byte values. */
void fl_mysql_cell_value(const MYSQL_FIELD *f, const char *s, unsigned long len, fl_value *v);

#endif
