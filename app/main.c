/* main.c — the batchmd command: dispatches to its subcommands, after
 * making the process safe for its outputs (safe_streams). app_main is
 * main() of the executable (entry.c) and what the Python package's
 * batchmd.Campaign runs (python/src/command.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: batchmd [--version] [--help] COMMAND [ARGS]\n"
            "\n"
            "Runs atomistic simulations batch-first: thousands of structures at once\n"
            "through geometry optimization and molecular dynamics.\n"
            "\n"
            "commands:\n"
            "  run CAMPAIGN.yaml        run the campaign (relax, anneal, MD ...)\n"
            "  eval CAMPAIGN.yaml       energy, forces and stress of every input structure\n"
            "  validate CAMPAIGN.yaml   check the campaign, its inputs and its model without running\n"
            "  models                   list the models and their parameters\n"
            "\n"
            "'batchmd COMMAND --help' tells more. Exit status: 0 success, 1 the run failed,\n"
            "2 the campaign or an input is invalid (nothing written).\n");
}

/* What is said on stdout and stderr never ends the process, nor mixes with
 * its outputs: SIGPIPE is ignored (`batchmd run c.yaml 2>&1 | head -1`:
 * writes to the closed pipe fail with EPIPE, which progress and summary
 * lines ignore; an output file that is a pipe fails the run with a message
 * instead), and a closed stdin, stdout or stderr is reopened on /dev/null,
 * so that no output file gets descriptor 2 and the progress lines. */
static void safe_streams(void) {
    signal(SIGPIPE, SIG_IGN);
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            int null = open("/dev/null", O_RDWR); /* the lowest free descriptor: fd */
            if (null >= 0 && null != fd) close(null);
        }
}

int app_main(int argc, char **argv) {
    safe_streams();
    if (argc < 2) {
        usage(stderr);
        return APP_INVALID;
    }
    const char *cmd = argv[1];
    int flag = !strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help") || !strcmp(cmd, "--version") ||
               !strcmp(cmd, "version");
    if (flag && argc > 2) { /* `batchmd --version x`: refuse rather than ignore (batchmd COMMAND --help for more) */
        fprintf(stderr, "batchmd: unexpected argument '%s' after %s (see batchmd --help)\n", argv[2], cmd);
        return APP_INVALID;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return APP_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("batchmd %s\n", bmd_version());
        return APP_OK;
    }
    if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "validate")) return cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "models")) return cmd_models(argc - 1, argv + 1);
    fprintf(stderr, "batchmd: unknown command '%s' (expected run, eval, validate or models; see batchmd --help)\n", cmd);
    return APP_INVALID;
}
