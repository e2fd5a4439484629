/* template.h — the grammar of key templates ([rule NAME] key): literal text with {column}
 * placeholders; "{{" and "}}" stand for literal braces. The one tokenizer that config
 * validation and the rules compiler both use. */
#ifndef FL_TEMPLATE_H
#define FL_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct fl_template_part {
    char *text; /* literal bytes (braces unescaped), or the column name; NUL-terminated */
    size_t len;
    bool is_col;
} fl_template_part;

typedef struct fl_template {
    fl_template_part *parts; /* literal and column parts alternate in template order */
    size_t nparts;
} fl_template;

/* Splits t into parts. Returns NULL, or what is wrong with t (a phrase such as "has an
 * empty placeholder '{}'", to follow "template 'T' "); out is then empty. */
const char *fl_template_parse(const char *t, fl_template *out);
void fl_template_free(fl_template *t);

#endif
