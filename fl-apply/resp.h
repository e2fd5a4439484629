/* resp.h — the RESP encoding the Redis targets share: command framing, the commands of one
 * cache operation (SET [EX], DEL + HSET [+ EXPIRE], DEL), and runs of operations merged into
 * variadic commands (MSET, DEL). */
#ifndef FL_RESP_H
#define FL_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "fl-apply/rules.h"

void fl_resp_header(fl_buf *b, char kind, size_t n); /* "*N\r\n" or "$N\r\n" */
void fl_resp_arg(fl_buf *b, const void *p, size_t n);
void fl_resp_arg_str(fl_buf *b, const char *s);
void fl_resp_arg_u64(fl_buf *b, uint64_t v);
/* Appends one cache operation's commands; returns how many. */
uint32_t fl_resp_op(fl_buf *b, const fl_cache_op *op);

/* A run merged into one command holds at most this many keys and about this many bytes. */
#define FL_RESP_RUN_KEYS 512
#define FL_RESP_RUN_BYTES (256u << 10)

/* Appends the commands of ops[0], merged with the operations right after it into one command
 * when that changes nothing a reader can tell apart from applying them one by one: consecutive
 * SETs without a TTL become one MSET, consecutive DELs one DEL (a key repeated in the run is
 * written in the same order as by separate commands). Never encodes a DEL_MATCH (n > 0 and
 * ops[0] is not one). Sets *used to the operations encoded (>= 1); returns the commands. */
uint32_t fl_resp_run(fl_buf *b, const fl_cache_op *ops, size_t n, size_t *used);

#endif
