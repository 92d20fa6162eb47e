/* cmd_eval.c — `batchmd eval CAMPAIGN.yaml`: single-point energy, forces and
 * stress (periodic cells) of every input structure, in input order, written
 * to -o FILE, else output.eval, else eval.extxyz in output.final's folder:
 * never over one of a run's outputs. No stage runs, and the campaign needs
 * none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "core/paths.h"

/* Where eval writes (malloc'd): -o, else output.eval, else eval.extxyz
 * beside output.final. NULL (message printed) when that is one of the
 * run's outputs, or on no memory. */
static char *eval_path(const app_campaign *a, const char *opt) {
    char *path;
    if (opt) path = strdup(opt);
    else if (a->c.output.eval) path = strdup(a->c.output.eval);
    else {
        const char *final = a->c.output.final, *slash = strrchr(final, '/');
        int dir = slash ? (int)(slash - final) + 1 : 0;
        size_t n = (size_t)dir + sizeof "eval.extxyz";
        if ((path = malloc(n))) snprintf(path, n, "%.*seval.extxyz", dir, final);
    }
    if (!path) {
        fprintf(stderr, "batchmd eval: out of memory\n");
        return NULL;
    }
    const struct {
        const char *key, *file;
    } runs[] = {{"final", a->c.output.final},
                {"failed", a->c.output.failed},
                {"log", a->c.output.log.file},
                {"trajectory", a->c.output.trajectory.file},
                {"checkpoint", a->c.output.checkpoint}};
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        if (!runs[i].file || !bmd__same_file(path, runs[i].file)) continue;
        fprintf(stderr, "batchmd eval: %s%s is the campaign's output.%s (%s): eval never writes over a run's "
                        "outputs; name another file with -o FILE or output.eval\n",
                opt ? "-o " : "", opt ? opt : path, runs[i].key, a->c.path);
        free(path);
        return NULL;
    }
    return path;
}

int cmd_eval(int argc, char **argv) {
    int quiet = 0;
    const char *path = NULL, *out_opt = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: batchmd eval [--quiet] [-o FILE] CAMPAIGN.yaml\n\n"
                   "Computes the energy (eV), forces (eV/Å) and, for periodic cells, the stress\n"
                   "(eV/Å³, ASE's sign) of every input structure with the campaign's model, in\n"
                   "input order. The campaign's stages are not run, and it needs none.\n\n"
                   "  -o, --output FILE  where to write (extxyz); default: output.eval, else\n"
                   "                     eval.extxyz in output.final's folder. Never a run's\n"
                   "                     output (final, failed, log, trajectory, checkpoint).\n"
                   "  -q, --quiet        no closing line on stderr (it names the file written)\n");
            return APP_OK;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = 1;
        } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "batchmd eval: %s needs a file name (see batchmd eval --help)\n", argv[i]);
                return APP_INVALID;
            }
            out_opt = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "batchmd eval: unknown option '%s' (see batchmd eval --help)\n", argv[i]);
            return APP_INVALID;
        } else if (path) {
            fprintf(stderr, "batchmd eval: one campaign file expected, got '%s' and '%s'\n", path, argv[i]);
            return APP_INVALID;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "batchmd eval: missing CAMPAIGN.yaml (see batchmd eval --help)\n");
        return APP_INVALID;
    }
    app_campaign a;
    if (bmd_pipeline_launched() && bmd_pipeline_launched_size() > 1) { /* every rank would write the same file */
        fprintf(stderr, "batchmd eval: runs on one process; run it without mpirun/srun (launched as one of %d ranks)\n",
                bmd_pipeline_launched_size());
        return APP_INVALID;
    }
    int rc = app_prepare(path, APP_CHECK_FRAMES | APP_NO_STAGES, &a);
    if (rc) return rc;
    char *file = eval_path(&a, out_opt);
    if (!file) {
        app_release(&a);
        return APP_INVALID;
    }
    app_set_threads(a.c.threads);
    bmd_sink *out = NULL;
    bmd_run_stats stats;
    if (bmd_sink_extxyz_create(file, a.c.units, &out) ||
        bmd_eval_dataset(a.model, a.ds, a.c.batch.max_atoms, a.c.batch.max_systems, out, &stats)) {
        app_error("eval failed");
        rc = APP_RUN_FAILED;
    }
    if (bmd_sink_destroy(out) && !rc) {
        app_error(NULL);
        rc = APP_RUN_FAILED;
    }
    if (!rc && !quiet)
        fprintf(stderr, "batchmd: evaluated %ld structures in %.2f s; wrote %s\n", stats.done, stats.seconds, file);
    free(file);
    app_release(&a);
    return rc;
}
