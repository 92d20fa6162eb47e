/* progress.c — what `batchmd run` tells a person while and after it runs:
 * on a terminal, a progress bar on stderr redrawn at most a few times a
 * second; elsewhere a plain line every few seconds; at the end a summary
 * (per stage: entered, converged, left on budget; failed; throughput;
 * neighbor-list builds and the steps of a system per build; the time split
 * of timers.h with other = the rest of the wall time; the peak RSS and
 * bytes per atom of the peak batch; energy drift of NVE stages;
 * where every output is (final, failed, log, trajectory, checkpoint);
 * for a pipeline, the throughput of all ranks and
 * the hand-over traffic). */
#include "progress.h"

#include "app.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void progress_init(progress *p, int quiet, const bmd_stage *st) {
    memset(p, 0, sizeof *p);
    for (int i = 0; i < bmd_stage_count(st) && i < 32; i++) p->names[p->n_names++] = bmd_stage_name(st, i);
    p->quiet = quiet;
    p->tty = isatty(2);
}

void progress_init_names(progress *p, int quiet, const char *const *names, int n) {
    memset(p, 0, sizeof *p);
    for (int i = 0; i < n && i < 32; i++) p->names[p->n_names++] = names[i];
    p->quiet = quiet;
    p->tty = isatty(2);
}

double progress_interval(const progress *p) { return p->tty ? 0.25 : 5.0; }

static void eta_text(const bmd_run_stats *s, char *out, size_t n) {
    long left = s->total - s->done - s->failed;
    double rate = s->seconds > 0 ? (double)(s->done + s->failed) / s->seconds : 0;
    if (left <= 0) snprintf(out, n, "0:00");
    else if (rate <= 0) snprintf(out, n, "?");
    else {
        long t = (long)ceil((double)left / rate);
        if (t >= 3600) snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
        else snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
    }
}

void progress_update(void *user, const bmd_run_stats *s) {
    progress *p = user;
    if (p->quiet) return;
    double rate = s->seconds > 0 ? s->atom_steps / s->seconds : 0;
    char eta[32];
    eta_text(s, eta, sizeof eta);
    long finished = s->done + s->failed;
    if (p->tty) {
        const int width = 24;
        int fill = s->total > 0 ? (int)((double)width * (double)finished / (double)s->total) : width;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r\033[K[%s] %ld/%ld done", bar, s->done, s->total);
        if (s->failed) fprintf(stderr, ", %ld failed", s->failed);
        fprintf(stderr, " | live:");
        for (int i = 0; i < s->n_stages && i < 32; i++)
            fprintf(stderr, " %s %ld", p->names[i], s->live_in[i]);
        fprintf(stderr, " | %.3g atom-steps/s | ETA %s", rate, eta);
        p->drawn = 1;
    } else {
        fprintf(stderr, "batchmd: %ld/%ld done, %ld failed, live:", s->done, s->total, s->failed);
        for (int i = 0; i < s->n_stages && i < 32; i++)
            fprintf(stderr, " %s %ld", p->names[i], s->live_in[i]);
        fprintf(stderr, ", %.3g atom-steps/s, ETA %s\n", rate, eta);
    }
    fflush(stderr);
}

/* The run's wall time split as timers.h names it, seconds and % of wall;
 * other = wall - the five (start-up, sampler creation, the summary). */
static void time_split(FILE *f, const bmd_run_stats *s, int rank) {
    const double part[5] = {s->t_neighbor, s->t_force, s->t_integrate, s->t_flow, s->t_io};
    double wall = s->seconds, other = wall;
    fprintf(f, "  time%s %.4g s:", rank ? " (this rank)" : "", wall);
    for (int i = 0; i < 5; i++) {
        fprintf(f, " %s %.4g s (%.1f%%),", bmd_timer_name((bmd_timer_id)i), part[i],
                wall > 0 ? 100 * part[i] / wall : 0.0);
        other -= part[i];
    }
    fprintf(f, " other %.4g s (%.1f%%)\n", other, wall > 0 ? 100 * other / wall : 0.0);
}

/* Neighbor-list builds of the run (each system's first build and its
 * rebuilds, summed: LAMMPS's "Neighbor list builds", per system), and how
 * many steps of a system there were per build; nothing for a model that
 * keeps no lists (plug-ins). */
static void lists_line(FILE *f, const bmd_run_stats *s, int rank) {
    if (s->list_builds < 0) return;
    fprintf(f, "  neighbor lists%s: %ld build%s", rank ? " (this rank)" : "", s->list_builds,
            app_plural(s->list_builds));
    if (s->list_builds > 0)
        fprintf(f, ", one per %.4g steps of a system", s->system_steps / (double)s->list_builds);
    fputc('\n', f);
}

/* Peak resident set size of this process, bytes: VmHWM of /proc/self/status
 * where there is one (the high-water mark of this program's own memory),
 * else getrusage's ru_maxrss (KiB on Linux), which on Linux also counts the
 * peak of the process image before exec (a `batchmd` started by a large
 * Python process would report Python's size). Negative when unknown. */
static double peak_rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        long kib = -1;
        while (kib < 0 && fgets(line, sizeof line, f))
            if (sscanf(line, "VmHWM: %ld kB", &kib) != 1) kib = -1;
        fclose(f);
        if (kib >= 0) return 1024.0 * (double)kib;
    }
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) ? -1.0 : 1024.0 * (double)ru.ru_maxrss;
}

/* The peak RSS and what it comes to per atom of the largest live batch. */
static void memory_line(FILE *f, const bmd_run_stats *s) {
    double bytes = peak_rss_bytes();
    if (bytes < 0) return;
    fprintf(f, "  memory: peak RSS %.1f MiB", bytes / (1024.0 * 1024.0));
    if (s->peak_atoms > 0)
        fprintf(f, ", %.0f bytes per atom of the peak batch (%ld atoms)", bytes / (double)s->peak_atoms,
                s->peak_atoms);
    fputc('\n', f);
}

/* Where every output of the campaign is (per_rank: the log and trajectory
 * of each pipeline rank, log.rank1.csv, and its checkpoint pair). */
static void outputs_lines(FILE *f, const bmd_campaign *c, int per_rank) {
    fprintf(f, "  final:      %s\n  failed:     %s\n", c->output.final, c->output.failed);
    const char *each[2] = {c->output.log.file, c->output.trajectory.file}, *label[2] = {"log:", "trajectory:"};
    for (int i = 0; i < 2; i++) {
        if (!each[i]) continue;
        char *path = per_rank ? app_rank_path(each[i], ".rank*") : NULL;
        fprintf(f, "  %-11s %s\n", label[i], path ? path : each[i]);
        free(path);
    }
    if (c->output.checkpoint) fprintf(f, "  checkpoint: %s%s\n", c->output.checkpoint, per_rank ? ".rank*.{a,b}" : "");
}

void progress_summary(progress *p, FILE *f, const bmd_campaign *c, const bmd_run_stats *s, const bmd_hook *const *drift,
                      const bmd_pipeline_totals *pipe) {
    if (p->quiet) return;
    if (p->drawn) fprintf(stderr, "\r\033[K");
    fprintf(f, "batchmd: %ld structure%s in %.2f s: %ld done, %ld failed\n", s->total, app_plural(s->total), s->seconds,
            s->done, s->failed);
    for (int i = 0; i < s->n_stages && i < 32; i++) {
        fprintf(f, "  stage %-12s entered %ld, converged %ld, left on budget %ld", i < p->n_names ? p->names[i] : "?",
                s->entered[i], s->converged[i], s->unconverged[i]);
        double d = drift && drift[i] ? bmd_hook_drift_max(drift[i]) : NAN;
        if (!isnan(d)) fprintf(f, "; energy drift max %.3g %s/atom", d, c->units == BMD_UNITS_LJ ? "ε" : "eV");
        fputc('\n', f);
    }
    double rate = s->seconds > 0 ? s->atom_steps / s->seconds : 0;
    if (pipe) {
        rate = pipe->seconds > 0 ? pipe->atom_steps / pipe->seconds : 0;
        fprintf(f, "  throughput %.4g atom-steps/s over all ranks; this rank %ld batch step%s\n", rate, s->loop_steps,
                app_plural(s->loop_steps));
        fprintf(f, "  pipeline: %ld hand-over message%s, %.3g MB (batch.comm %s)\n", pipe->messages,
                app_plural(pipe->messages), pipe->bytes / 1e6, c->batch.comm);
    } else {
        fprintf(f, "  throughput %.4g atom-steps/s over %ld batch step%s\n", rate, s->loop_steps,
                app_plural(s->loop_steps));
    }
    lists_line(f, s, pipe != NULL);
    time_split(f, s, pipe != NULL);
    fprintf(f, "  batch: peak %ld atoms, %ld systems, %ld refill%s\n", s->peak_atoms, s->peak_systems, s->refills,
            app_plural(s->refills));
    memory_line(f, s);
    outputs_lines(f, c, pipe != NULL);
}
