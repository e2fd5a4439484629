/* ingest.h — fl-relay --journal DIR --binlog-file FILE...: decode binlog files in order into
 * the journal exactly as a live stream would be, resuming after what the journal already
 * holds (re-running on the same files appends nothing twice). */
#ifndef FL_INGEST_H
#define FL_INGEST_H

#include "common/config.h"

/* Returns the process exit status: 0 when every file was ingested; non-zero with a one-line
 * reason logged ("FILE: event at offset N: bad CRC32") — a transaction cut short by the
 * error is never journaled. filter may be NULL (everything). */
int fl_ingest_files(const char *journal_dir, const char *const *files, int nfiles, const fl_config_source *filter,
                    const fl_config_journal *journal_opts);

#endif
