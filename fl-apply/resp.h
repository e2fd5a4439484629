/* resp.h — the RESP encoding the Redis targets share: command framing and the commands of one
 * cache operation (SET [EX], DEL + HSET [+ EXPIRE], DEL). */
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

#endif
