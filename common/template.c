/* template.c — tokenizing key templates (grammar in template.h). Adjacent literal bytes
 * collect into one part, so a template never yields two literal parts in a row. */
#include "common/template.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static void add_part(fl_template *out, const char *text, size_t len, bool is_col)
{
    fl_template_part *p = &out->parts[out->nparts++];
    p->is_col = is_col;
    p->len = len;
    p->text = fl_xmalloc(len + 1);
    memcpy(p->text, text, len);
    p->text[len] = 0;
}

static void flush_literal(fl_template *out, fl_buf *lit)
{
    if (!lit->len) return;
    add_part(out, (const char *)lit->data, lit->len, false);
    fl_buf_reset(lit);
}

static const char *fail(fl_template *out, fl_buf *lit, const char *why)
{
    fl_buf_free(lit);
    fl_template_free(out);
    return why;
}

const char *fl_template_parse(const char *t, fl_template *out)
{
    memset(out, 0, sizeof *out);
    size_t n = strlen(t);
    if (!n) return "is empty";
    out->parts = fl_xcalloc(n + 1, sizeof *out->parts);
    fl_buf lit = {0};
    for (const char *p = t; *p; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            fl_buf_putc(&lit, (uint8_t)*p++);
            continue;
        }
        if (*p == '}') return fail(out, &lit, "has a '}' without its '{' (write '}}' for a literal brace)");
        if (*p != '{') {
            fl_buf_putc(&lit, (uint8_t)*p);
            continue;
        }
        const char *c = p + 1;
        while (*c && *c != '}' && *c != '{') c++;
        if (*c != '}') return fail(out, &lit, "has a '{' without its '}' (write '{{' for a literal brace)");
        if (c == p + 1) return fail(out, &lit, "has an empty placeholder '{}'");
        flush_literal(out, &lit);
        add_part(out, p + 1, (size_t)(c - p - 1), true);
        p = c;
    }
    flush_literal(out, &lit);
    fl_buf_free(&lit);
    return NULL;
}

void fl_template_free(fl_template *t)
{
    for (size_t i = 0; i < t->nparts; i++) free(t->parts[i].text);
    free(t->parts);
    memset(t, 0, sizeof *t);
}
