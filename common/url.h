/* url.h — %-decoding of URL parts (user names, passwords, socket paths in target URLs). */
#ifndef FL_URL_H
#define FL_URL_H

#include <stddef.h>

/* Returns a malloc'd, NUL-terminated copy of s[0..n) with %XX escapes decoded, or NULL when
 * an escape is malformed or decodes to a NUL byte. */
char *fl_url_decode(const char *s, size_t n);

#endif
