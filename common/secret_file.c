/* secret_file.c — the safe secret-file reader (secret_file.h). The file's mode is checked on
 * the open descriptor, so what is checked is what is read. */
#include "common/secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"

int fl_open_regular(const char *path, const char **why)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *why = "not a regular file";
        close(fd);
        return -1;
    }
    return fd;
}

char *fl_secret_file_read(const char *path, char *why, size_t whylen)
{
    char sh[200];
    const char *reason = NULL;
    int fd = fl_open_regular(path, &reason);
    if (fd < 0) {
        snprintf(why, whylen, "cannot read '%s': %s", fl_printable(path, sh, sizeof sh), reason);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(why, whylen, "cannot read '%s': %s", fl_printable(path, sh, sizeof sh), strerror(errno));
        close(fd);
        return NULL;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(why, whylen,
                 "'%s' is open to group or others (mode %04o); a secret file must not be: chmod 600 %s",
                 fl_printable(path, sh, sizeof sh), (unsigned)(st.st_mode & 07777),
                 fl_printable(path, sh, sizeof sh));
        close(fd);
        return NULL;
    }
    char buf[FL_SECRET_LINE_MAX + 1];
    size_t len = 0;
    int rerr = 0;
    while (len < sizeof buf) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rerr = errno;
            break;
        }
        if (n == 0) break;
        len += (size_t)n;
        if (memchr(buf, '\n', len)) break;
    }
    close(fd);
    char *r = NULL;
    const char *nl = memchr(buf, '\n', len);
    if (nl) len = (size_t)(nl - buf);
    if (len && buf[len - 1] == '\r') len--;
    if (rerr)
        snprintf(why, whylen, "cannot read '%s': %s", fl_printable(path, sh, sizeof sh), strerror(rerr));
    else if (!nl && len > FL_SECRET_LINE_MAX)
        snprintf(why, whylen, "'%s': its first line is longer than %d bytes", fl_printable(path, sh, sizeof sh),
                 FL_SECRET_LINE_MAX);
    else if (len == 0)
        snprintf(why, whylen, "'%s': its first line is empty", fl_printable(path, sh, sizeof sh));
    else if (memchr(buf, 0, len))
        snprintf(why, whylen, "'%s': its first line holds a NUL byte", fl_printable(path, sh, sizeof sh));
    else {
        r = fl_xmalloc(len + 1);
        memcpy(r, buf, len);
        r[len] = 0;
    }
    explicit_bzero(buf, sizeof buf);
    return r;
}

const char *fl_feed_secret_problem(const char *s)
{
    if (strlen(s) < FL_FEED_SECRET_MIN) return "shorter than 16 bytes; make a good one with: openssl rand -hex 32";
    return NULL;
}

void fl_secret_free(char *s)
{
    if (!s) return;
    explicit_bzero(s, strlen(s));
    free(s);
}
