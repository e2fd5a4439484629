/* secret_file.h — reading a secret (a password, the feed's shared secret) from a file, the
 * one way every program does it: only a regular file (never blocking on a FIFO), only one
 * that group and others can neither read nor write (as ssh insists for its keys), its first
 * line whole or not at all, and every buffer that held it wiped. */
#ifndef FL_SECRET_FILE_H
#define FL_SECRET_FILE_H

#include <stddef.h>

#define FL_SECRET_LINE_MAX 4096
#define FL_FEED_SECRET_MIN 16

/* Opens path read-only without blocking; only a regular file qualifies. Returns the fd, or -1
 * with the reason (strerror or "not a regular file") in *why. */
int fl_open_regular(const char *path, const char **why);

/* The first line of the file at path, without its line end (malloc'd; free with
 * fl_secret_free). NULL with a one-line reason naming the file in why: cannot read it, open
 * to group or others (with the chmod that fixes it), first line empty, longer than
 * FL_SECRET_LINE_MAX bytes or holding a NUL byte. */
char *fl_secret_file_read(const char *path, char *why, size_t whylen);

/* NULL when s can be the feed's shared secret, else what is wrong with it, to follow "the
 * secret is " (with how to make a good one). */
const char *fl_feed_secret_problem(const char *s);

/* Wipes and frees s (NULL is fine). */
void fl_secret_free(char *s);

#endif
