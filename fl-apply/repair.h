/* repair.h — `fl-apply -c FILE --verify --repair [--once]`: verify, have the relay read the
 * rows of every differing key again (ordered with the stream like any snapshot), wait until
 * they are applied, verify again. */
#ifndef FL_REPAIR_H
#define FL_REPAIR_H

#include <stdbool.h>

#include "common/config.h"

/* once: apply the journal here (as fl-apply --once) instead of waiting for the running
 * applier. Returns the exit status: 0 when every key matches at the end (or already did),
 * 1 when some still differ or the repair could not be carried out (the reason on stderr),
 * 2 when the check could not run or the applier reads a feed. */
int fl_repair_run(const fl_config *cfg, bool once);

#endif
