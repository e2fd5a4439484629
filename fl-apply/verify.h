/* verify.h — `fl-apply -c FILE --verify`: compares the rule tables in the source database
 * (one consistent snapshot) with the cache and reports keys that match, are stale, are
 * missing, and (Redis, by each rule's key prefix) extra ones. On Redis a key of a rule with a
 * ttl must also expire within that ttl. */
#ifndef FL_VERIFY_H
#define FL_VERIFY_H

#include "common/config.h"

/* Prints the counts and the first few keys of each kind to stdout. Returns the exit status:
 * 0 when every key matches, 1 when some do not, 2 when the check could not run (the reason
 * is on stderr). */
int fl_verify_run(const fl_config *cfg);

#endif
