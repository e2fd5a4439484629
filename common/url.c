/* url.c — strict %-decoding: "%" must be followed by two hex digits, and "%00" is refused
 * (a NUL would silently cut a password short). */
#include "common/url.h"

#include <stdlib.h>

#include "common/buf.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *fl_url_decode(const char *s, size_t n)
{
    char *out = fl_xmalloc(n + 1), *w = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *w++ = s[i];
            continue;
        }
        if (i + 2 >= n) { /* needs two more characters */
            free(out);
            return NULL;
        }
        int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
        if (h < 0 || l < 0 || (h == 0 && l == 0)) {
            free(out);
            return NULL;
        }
        *w++ = (char)(h * 16 + l);
        i += 2;
    }
    *w = 0;
    return out;
}
