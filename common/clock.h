/* clock.h — the one clock for deadlines, timeouts and rates: monotonic, so wall-clock
 * steps (NTP, an operator's date) never shorten or stretch a wait. */
#ifndef FL_CLOCK_H
#define FL_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary origin: compare, never display). */
int64_t fl_now_ms(void);
/* The same clock read cheaply, a few milliseconds behind at most (CLOCK_MONOTONIC_COARSE):
 * for checks made once per transaction, never for a deadline that must be exact. */
int64_t fl_coarse_now_ms(void);

#endif
