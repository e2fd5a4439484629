/* main.c — fl-apply's command line: apply the journal to the cache (-c FILE), replay from a
 * transaction (--from-gtid / --from-seq), apply what is there and exit (--once), print
 * the checkpoint and lag (--status), compare the source tables with the cache (--verify), and
 * have the differences read again (--verify --repair). Exit status 0 on success, 2 on a usage or
 * configuration mistake, 1 on a runtime error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/config.h"
#include "common/log.h"
#include "fl-apply/apply.h"
#include "fl-apply/repair.h"
#include "fl-apply/verify.h"

static void usage(FILE *out)
{
    fputs("usage: fl-apply -c FILE [--from-gtid GTID | --from-seq N] [--once]\n"
          "       fl-apply -c FILE --status | --verify [--repair [--once]]\n"
          "options:\n"
          "  -c, --config FILE     configuration file (INI) with [apply] and [rule NAME] sections\n"
          "      --from-gtid GTID  replay from this transaction (inclusive), then follow\n"
          "      --from-seq N      replay from this journal seq (inclusive), then follow\n"
          "      --once            apply everything in the journal, then exit\n"
          "      --status          print the checkpoint, the journal head and the lag, then exit\n"
          "      --verify          compare the rule tables in the source database with the cache;\n"
          "                        exit 0 only when every key matches\n"
          "      --repair          with --verify: have the relay read the differing keys again, wait\n"
          "                        until they are applied, verify again (--once: apply them here)\n"
          "  -v, --verbose         debug logging\n"
          "  -h, --help            this text\n"
          "  -V, --version         the version\n",
          out);
}

int main(int argc, char **argv)
{
    fl_log_set_program("fl-apply");
    enum { OPT_FROM_GTID = 256, OPT_FROM_SEQ, OPT_ONCE, OPT_STATUS, OPT_VERIFY, OPT_REPAIR };
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"from-gtid", required_argument, NULL, OPT_FROM_GTID},
        {"from-seq", required_argument, NULL, OPT_FROM_SEQ},
        {"once", no_argument, NULL, OPT_ONCE},
        {"status", no_argument, NULL, OPT_STATUS},
        {"verify", no_argument, NULL, OPT_VERIFY},
        {"repair", no_argument, NULL, OPT_REPAIR},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    bool status = false, verify = false, repair = false, verbose = false;
    fl_apply_opts opts = {0};
    int opt;

    opterr = 0; /* one line of our own instead */
    while ((opt = getopt_long(argc, argv, ":c:vhV", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case OPT_FROM_GTID: opts.from_gtid = optarg; break;
        case OPT_FROM_SEQ: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-' || v == 0) {
                return fl_cli_usage_error("fl-apply", "--from-seq %s: not a journal seq (a number from 1)",
                                          optarg);
            }
            opts.has_from_seq = true;
            opts.from_seq = v;
            break;
        }
        case OPT_ONCE: opts.once = true; break;
        case OPT_STATUS: status = true; break;
        case OPT_VERIFY: verify = true; break;
        case OPT_REPAIR: repair = true; break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': return fl_cli_print_version("fl-apply");
        default: return fl_cli_bad_option("fl-apply", opt, argv);
        }
    }
    if (optind < argc) {
        return fl_cli_usage_error("fl-apply", "unexpected argument '%s'", argv[optind]);
    }
    if (!config_path) return fl_cli_usage_error("fl-apply", "give -c FILE");
    if (opts.from_gtid && opts.has_from_seq)
        return fl_cli_usage_error("fl-apply", "--from-gtid and --from-seq cannot be combined");
    if (status && verify) return fl_cli_usage_error("fl-apply", "--status and --verify cannot be combined");
    if (repair && !verify) return fl_cli_usage_error("fl-apply", "--repair goes with --verify");
    if (repair && (opts.from_gtid || opts.has_from_seq))
        return fl_cli_usage_error("fl-apply", "--repair takes no --from-gtid or --from-seq");
    if ((status || verify) && !repair && (opts.from_gtid || opts.has_from_seq || opts.once))
        return fl_cli_usage_error("fl-apply", "--%s only reads; it takes no --from-gtid, --from-seq or --once",
                                  status ? "status" : "verify");

    char *errors = NULL;
    fl_config *cfg = fl_config_load(config_path, &errors);
    if (!cfg) return fl_cli_config_errors(errors);
    if ((errors = fl_config_require(cfg, FL_NEED_APPLY)) != NULL) {
        fl_config_free(cfg);
        return fl_cli_config_errors(errors);
    }
    fl_config_apply_log(cfg, verbose);

    int rc = status   ? fl_apply_status(cfg, stdout)
             : repair ? fl_repair_run(cfg, opts.once)
             : verify ? fl_verify_run(cfg)
                      : fl_apply_run(cfg, &opts);
    fl_config_free(cfg);
    return rc;
}
