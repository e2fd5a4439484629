/* schema_check.h — the rules checked against the source's schema when fl-apply starts: a rule
 * whose table the source lacks, or whose key, columns or format names a column the table
 * lacks, is reported then, as FILE:LINE, instead of when the table's first change arrives.
 * It needs [source] (the connection --verify uses); without it, or when the source cannot be
 * reached, each table is checked when its first change arrives (and the log says so). */
#ifndef FL_SCHEMA_CHECK_H
#define FL_SCHEMA_CHECK_H

#include "common/config.h"
#include "fl-apply/rules.h"

/* Returns 0 (every rule matches its table, or the check could not run), or -1 with one
 * "FILE:LINE: [rule NAME] key: problem" line per mistake in *errors (malloc'd). */
int fl_schema_check_rules(fl_rules *rules, const fl_config *cfg, char **errors);

#endif
