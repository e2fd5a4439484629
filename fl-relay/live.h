/* live.h — fl-relay as a replica of a running server: connect, check the source's settings,
 * stream the binlog from the journal's position into the journal with group commit,
 * reconnect with backoff, stop cleanly on SIGTERM/SIGINT. */
#ifndef FL_LIVE_H
#define FL_LIVE_H

#include "common/config.h"

/* fl-relay -c FILE --check: connects and verifies the source's settings, printing each
 * finding with its fix. Returns the process exit status (0 = ready to replicate). */
int fl_live_check(const fl_config *cfg);

/* The privileges in SHOW GRANTS text (one GRANT per line) beyond what the relay needs
 * (REPLICATION SLAVE, REPLICATION CLIENT / BINLOG MONITOR, SELECT on the replicated tables):
 * ALL PRIVILEGES, SUPER, SELECT ON *.*, any other privilege, WITH GRANT OPTION. Writes them
 * to out as "SUPER ON *.*, WITH GRANT OPTION" (at most five, then "and N more") and returns
 * how many there are; 0 leaves out empty. */
int fl_grants_beyond_need(const char *grants, char *out, size_t outlen);

/* fl-relay -c FILE: replicates until SIGTERM/SIGINT (exit 0) or an error that retrying
 * cannot fix (non-zero, with a one-line reason logged). Returns the exit status. */
int fl_live_run(const fl_config *cfg);

#endif
