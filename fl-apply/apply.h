/* apply.h — the applier: tails the journal and writes every transaction, in order, to the
 * cache target through the rules; resumes from the checkpoint the target keeps. */
#ifndef FL_APPLY_H
#define FL_APPLY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"

typedef struct fl_apply_opts {
    const char *from_gtid; /* replay from this transaction (inclusive); NULL = checkpoint */
    bool has_from_seq;
    uint64_t from_seq; /* the same by seq */
    bool once;         /* exit 0 once everything present is applied */
} fl_apply_opts;

/* Runs until SIGTERM/SIGINT (in-flight transactions are finished first) or, with once,
 * until caught up. A target that is down is retried forever. Returns the exit status:
 * 0, 1 on a fatal error (logged: journal, rule with on_error = stop, ...), 2 on a
 * configuration error found at start (rules, target URL). */
int fl_apply_run(const fl_config *cfg, const fl_apply_opts *opts);

/* Prints the checkpoint (seq, GTID, time), the journal head, the lag and the statement-based
 * transactions not applied to out.
 * Returns 0, or 1 with a one-line reason on stderr. */
int fl_apply_status(const fl_config *cfg, FILE *out);

/* Statement-based transactions that change rule tables, from the journal's first transaction
 * to the checkpoint: the ones an applier with on_error = skip did not apply (for --verify).
 * Returns 0 with *n and the journal's *first_seq, or -1 with a reason in err. */
int fl_apply_not_applied(const fl_config *cfg, uint64_t *n, uint64_t *first_seq, char *err, size_t errlen);

#endif
