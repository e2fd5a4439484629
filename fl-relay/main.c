/* main.c — fl-relay's command line: replicate from a server (-c FILE), check the source's
 * settings (--check), or ingest binlog files into a journal (--journal DIR --binlog-file ...).
 * Everything is validated before anything starts; exit status 0 on success, 2 on a usage or
 * configuration mistake, 1 on a runtime error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cli.h"
#include "common/config.h"
#include "common/log.h"
#include "fl-relay/ingest.h"
#include "fl-relay/live.h"
#include "fl-relay/snapshot.h"

static void usage(FILE *out)
{
    fputs("usage: fl-relay -c FILE            replicate from the [source] server into the journal\n"
          "       fl-relay -c FILE --check    verify the config and the source's settings, then exit\n"
          "       fl-relay -c FILE --snapshot [db.table,...] [--wait]   ask the running relay for a snapshot\n"
          "       fl-relay --journal DIR --binlog-file FILE...   ingest binlog files (no server)\n"
          "options:\n"
          "  -c, --config FILE     configuration file (INI)\n"
          "      --check           connect, verify, report each problem with its fix\n"
          "      --snapshot [LIST] snapshot these [snapshot] tables (default: all); exits once queued\n"
          "      --wait            with --snapshot: exit once they are journaled complete\n"
          "      --journal DIR     journal directory for --binlog-file (default: [journal] path)\n"
          "      --binlog-file F   binlog file to ingest; repeat, or list several after it\n"
          "  -v, --verbose         debug logging\n"
          "  -h, --help            this text\n"
          "  -V, --version         the version\n",
          out);
}

int main(int argc, char **argv)
{
    fl_log_set_program("fl-relay");
    enum { OPT_CHECK = 256, OPT_JOURNAL, OPT_BINLOG_FILE, OPT_SNAPSHOT, OPT_WAIT };
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"check", no_argument, NULL, OPT_CHECK},
        {"snapshot", no_argument, NULL, OPT_SNAPSHOT},
        {"wait", no_argument, NULL, OPT_WAIT},
        {"journal", required_argument, NULL, OPT_JOURNAL},
        {"binlog-file", required_argument, NULL, OPT_BINLOG_FILE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *journal_dir = NULL;
    bool check = false, verbose = false, snapshot = false, wait = false;
    const char *snapshot_list = NULL;
    const char **files = fl_xcalloc((size_t)argc + 1, sizeof *files);
    int nfiles = 0, opt, status;

    opterr = 0; /* one line of our own instead */
    while ((opt = getopt_long(argc, argv, ":c:vhV", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case OPT_CHECK: check = true; break;
        case OPT_SNAPSHOT: snapshot = true; break;
        case OPT_WAIT: wait = true; break;
        case OPT_JOURNAL: journal_dir = optarg; break;
        case OPT_BINLOG_FILE: files[nfiles++] = optarg; break;
        case 'v': verbose = true; break;
        case 'h':
            usage(stdout);
            free(files);
            return 0;
        case 'V': free(files); return fl_cli_print_version("fl-relay");
        default: free(files); return fl_cli_bad_option("fl-relay", opt, argv);
        }
    }
    /* "--binlog-file a b c": the files after the last option belong to it. */
    if (nfiles > 0)
        while (optind < argc) files[nfiles++] = argv[optind++];
    if (snapshot && nfiles == 0 && optind < argc) snapshot_list = argv[optind++];
    if (optind < argc) {
        free(files);
        return fl_cli_usage_error("fl-relay", "unexpected argument '%s'", argv[optind]);
    }
    if (!config_path && nfiles == 0) {
        free(files);
        return fl_cli_usage_error("fl-relay", "give -c FILE to replicate, or --journal DIR "
                                              "--binlog-file FILE... to ingest files");
    }
    if (wait && !snapshot) {
        free(files);
        return fl_cli_usage_error("fl-relay", "--wait goes with --snapshot");
    }
    if (snapshot && (check || nfiles > 0 || !config_path)) {
        free(files);
        return fl_cli_usage_error("fl-relay",
                                  "--snapshot needs -c FILE and goes without --check and --binlog-file");
    }
    if (check && nfiles > 0) {
        free(files);
        return fl_cli_usage_error("fl-relay", "--check and --binlog-file cannot be combined");
    }

    fl_config *cfg = NULL;
    if (config_path) {
        char *errors = NULL;
        cfg = fl_config_load(config_path, &errors);
        if (!cfg) {
            free(files);
            return fl_cli_config_errors(errors);
        }
        int need = nfiles > 0 ? 0 : (check ? FL_NEED_SOURCE : FL_NEED_SOURCE | FL_NEED_JOURNAL);
        if (nfiles > 0 && !journal_dir) need |= FL_NEED_JOURNAL;
        if ((errors = fl_config_require(cfg, need)) != NULL) {
            fl_config_free(cfg);
            free(files);
            return fl_cli_config_errors(errors);
        }
    }
    fl_config_apply_log(cfg, verbose);

    if (nfiles > 0) {
        if (!journal_dir) journal_dir = cfg ? cfg->journal.path : NULL;
        if (!journal_dir) {
            fputs("fl-relay: --binlog-file needs --journal DIR (or -c FILE with [journal] path)\n", stderr);
            fl_config_free(cfg);
            free(files);
            return 2;
        }
        status = fl_ingest_files(journal_dir, files, nfiles, cfg ? &cfg->source : NULL,
                                 cfg ? &cfg->journal : NULL);
    } else if (check) {
        status = fl_live_check(cfg);
    } else if (snapshot) {
        status = fl_snapshot_request(cfg, snapshot_list, wait);
    } else {
        status = fl_live_run(cfg);
    }
    fl_config_free(cfg);
    free(files);
    return status;
}
