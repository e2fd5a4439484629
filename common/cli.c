/* cli.c — the version text and the one style of usage error shared by every program. */
#include "common/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FL_VERSION
#define FL_VERSION "unknown"
#endif

const char *fl_version(void) { return FL_VERSION; }

int fl_cli_print_version(const char *program)
{
    printf("%s (fastlane) %s\n", program, FL_VERSION);
    return FL_EXIT_OK;
}

int fl_cli_bad_option(const char *program, int opt, char **argv)
{
    const char *arg = argv[optind - 1];
    if (opt == ':') return fl_cli_usage_error(program, "%s needs a value", arg);
    if (optopt && optopt != '?' && arg[0] == '-' && arg[1] != '-')
        return fl_cli_usage_error(program, "unknown option '-%c'", optopt);
    return fl_cli_usage_error(program, "unknown option '%s'", arg);
}

int fl_cli_usage_error(const char *program, const char *fmt, ...)
{
    fprintf(stderr, "%s: ", program);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see --help)\n", stderr);
    return FL_EXIT_USAGE;
}

int fl_cli_config_errors(char *errors)
{
    fputs(errors, stderr);
    if (errors[0] && errors[strlen(errors) - 1] != '\n') fputc('\n', stderr);
    free(errors);
    return FL_EXIT_USAGE;
}
