/* cli.h — what the three programs' command lines share: the version text, and one style for
 * usage mistakes ("PROGRAM: what is wrong (see --help)", exit status 2). Every program parses
 * its options with getopt_long, an optstring that starts with ':' and opterr = 0, and sends
 * getopt's '?' and ':' results to fl_cli_bad_option. */
#ifndef FL_CLI_H
#define FL_CLI_H

#define FL_EXIT_OK 0
#define FL_EXIT_FAILURE 1 /* a runtime error: the reason is on stderr */
#define FL_EXIT_USAGE 2   /* a usage or configuration mistake */

/* The build's version (git describe when built from a checkout). */
const char *fl_version(void);
/* Prints "PROGRAM (fastlane) VERSION" to stdout; returns FL_EXIT_OK. */
int fl_cli_print_version(const char *program);
/* For getopt_long's '?' (unknown option) or ':' (missing value) at argv[optind - 1]: prints
 * the one-line reason; returns FL_EXIT_USAGE. */
int fl_cli_bad_option(const char *program, int opt, char **argv);
/* Prints "PROGRAM: MESSAGE (see --help)"; returns FL_EXIT_USAGE. */
int fl_cli_usage_error(const char *program, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints a configuration's problems (what fl_config_load gave, one a line) to stderr, frees
 * the text, and returns FL_EXIT_USAGE. */
int fl_cli_config_errors(char *errors);

#endif
