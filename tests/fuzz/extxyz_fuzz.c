/* extxyz_fuzz.c — fuzz entry for the extxyz reader (libFuzzer, or the
 * replay driver): the input bytes are a file. It is indexed, every frame is
 * read (metal units; frame 0 also in lj), written back, and the written file
 * is read again. Invariants (abort when broken):
 *  - a failure is BMD_ERR_PARSE with a message "PATH:LINE: ...", never an
 *    I/O error on the unchanged file, and never a crash;
 *  - what the writer writes reads back with the same atoms, positions,
 *    cell, pbc, masses, forces, energy, stress and info keys, bit for bit;
 *  - the frames go into a batch (0-atom frames refused), every other one is
 *    removed, and what is extracted is what went in. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/batchmd.h"
#include "fuzz_tmp.h"

#define MAX_FRAMES 64

/* The message names the file and a line: "PATH:LINE: ...". */
static void check_error(bmd_status st, const char *path) {
    const char *msg = bmd_last_error();
    bmd_fuzz_check(st == BMD_ERR_PARSE || st == BMD_ERR_NOMEM, "error code is BMD_ERR_PARSE", msg);
    if (st == BMD_ERR_NOMEM) return;
    size_t n = strlen(path);
    int ok = strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] >= '1' && msg[n + 1] <= '9';
    bmd_fuzz_check(ok, "message starts with PATH:LINE:", msg);
}

static int same_real(double a, double b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0; }

static int same_reals(const double *a, const double *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!same_real(a[i], b[i])) return 0;
    return 1;
}

/* The writer turns CR and LF inside a key or value into spaces (one line
 * per frame; a lone CR ends a line for ASE): the info expected back. */
static void expected_info(const bmd_info *in, bmd_info *out) {
    memset(out, 0, sizeof *out);
    for (int k = 0; k < in->n; k++) {
        char *key = strdup(in->keys[k]), *val = strdup(in->values[k]);
        bmd_fuzz_check(key && val, "allocate", NULL);
        for (char *c = key; *c; c++)
            if (*c == '\r' || *c == '\n') *c = ' ';
        for (char *c = val; *c; c++)
            if (*c == '\r' || *c == '\n') *c = ' ';
        bmd_fuzz_check(bmd_info_set(out, key, val) == BMD_OK, "info set", NULL);
        free(key);
        free(val);
    }
}

static void check_same(const bmd_system *a, const bmd_system *b) {
    size_t n = (size_t)a->n_atoms;
    bmd_fuzz_check(a->n_atoms == b->n_atoms, "round trip: atom count", NULL);
    bmd_fuzz_check(memcmp(a->Z, b->Z, n * sizeof *a->Z) == 0, "round trip: species", NULL);
    bmd_fuzz_check(same_reals(a->pos, b->pos, 3 * n), "round trip: positions", NULL);
    bmd_fuzz_check(same_reals(a->mass, b->mass, n), "round trip: masses", NULL);
    bmd_fuzz_check(!a->forces == !b->forces, "round trip: forces present", NULL);
    if (a->forces) bmd_fuzz_check(same_reals(a->forces, b->forces, 3 * n), "round trip: forces", NULL);
    bmd_fuzz_check(same_reals(a->cell, b->cell, 9), "round trip: cell", NULL);
    bmd_fuzz_check(memcmp(a->pbc, b->pbc, 3) == 0, "round trip: pbc", NULL);
    bmd_fuzz_check(a->has_energy == b->has_energy, "round trip: energy present", NULL);
    if (a->has_energy) bmd_fuzz_check(same_real(a->energy, b->energy), "round trip: energy", NULL);
    bmd_fuzz_check(a->has_stress == b->has_stress, "round trip: stress present", NULL);
    if (a->has_stress) bmd_fuzz_check(same_reals(a->stress, b->stress, 6), "round trip: stress", NULL);
    bmd_info want;
    expected_info(&a->info, &want);
    bmd_fuzz_check(want.n == b->info.n, "round trip: number of info keys", NULL);
    for (int k = 0; k < want.n; k++) {
        bmd_fuzz_check(strcmp(want.keys[k], b->info.keys[k]) == 0, "round trip: info key", want.keys[k]);
        bmd_fuzz_check(strcmp(want.values[k], b->info.values[k]) == 0, "round trip: info value", want.keys[k]);
    }
    bmd_info_free(&want);
}

/* Writes frames (every column the reader gives back exactly: no momenta,
 * whose unit conversion rounds) and reads them back. */
static void round_trip(const bmd_system *fr, long n) {
    char path[600];
    bmd_fuzz_path(path, sizeof path, "written.extxyz");
    FILE *f = fopen(path, "wb");
    bmd_fuzz_check(f != NULL, "open the round-trip file", path);
    bmd_extxyz_write_opts o = {.forces = 1, .masses = 1, .energy = 1, .stress = 1, .system_id = 1, .info = 1};
    for (long k = 0; k < n; k++)
        bmd_fuzz_check(bmd_extxyz_write_frame(f, &fr[k], BMD_UNITS_METAL, &o) == BMD_OK, "write a frame",
                       bmd_last_error());
    bmd_fuzz_check(fclose(f) == 0, "close the round-trip file", path);
    bmd_extxyz_index *ix = NULL;
    bmd_fuzz_check(bmd_extxyz_index_open(path, &ix) == BMD_OK, "index what was written", bmd_last_error());
    bmd_fuzz_check(bmd_extxyz_index_frames(ix) == n, "round trip: number of frames", NULL);
    for (long k = 0; k < n; k++) {
        bmd_system s;
        bmd_fuzz_check(bmd_extxyz_read_frame(ix, k, BMD_UNITS_METAL, &s) == BMD_OK, "read what was written",
                       bmd_last_error());
        check_same(&fr[k], &s);
        bmd_system_free(&s);
    }
    bmd_extxyz_index_close(ix);
}

/* Appends the frames to a batch, removes every other one, and checks that
 * the rest come out as they went in. */
static void batch_trip(const bmd_system *fr, long n) {
    bmd_batch *b = NULL;
    bmd_fuzz_check(bmd_batch_create(&b) == BMD_OK, "create a batch", bmd_last_error());
    long *from = calloc((size_t)n + 1, sizeof *from);
    bmd_fuzz_check(from != NULL, "allocate", NULL);
    for (long k = 0; k < n; k++) {
        bmd_status st = bmd_batch_append(b, &fr[k], NULL);
        bmd_fuzz_check(st == BMD_OK || (fr[k].n_atoms == 0 && st == BMD_ERR_INVALID), "append a frame",
                       bmd_last_error());
        if (!st) from[b->n_systems - 1] = k;
    }
    unsigned char *drop = calloc((size_t)b->n_systems + 1, 1);
    bmd_fuzz_check(drop != NULL, "allocate", NULL);
    for (int s = 0; s < b->n_systems; s++) drop[s] = s % 2;
    bmd_fuzz_check(bmd_batch_remove(b, drop) == BMD_OK, "remove systems", bmd_last_error());
    for (int s = 0; s < b->n_systems; s++) {
        const bmd_system *a = &fr[from[2 * s]];
        bmd_system x;
        bmd_fuzz_check(bmd_batch_extract(b, s, &x) == BMD_OK, "extract a system", bmd_last_error());
        size_t na = (size_t)a->n_atoms;
        bmd_fuzz_check(x.n_atoms == a->n_atoms && memcmp(x.Z, a->Z, na * sizeof *x.Z) == 0 &&
                           same_reals(x.pos, a->pos, 3 * na) && same_reals(x.mass, a->mass, na) &&
                           same_reals(x.cell, a->cell, 9) && memcmp(x.pbc, a->pbc, 3) == 0,
                       "batch round trip", NULL);
        if (a->vel) bmd_fuzz_check(same_reals(x.vel, a->vel, 3 * na), "batch round trip: velocities", NULL);
        bmd_system_free(&x);
    }
    free(drop);
    free(from);
    bmd_batch_destroy(b);
}

/* Every column the writer knows, momenta included, into memory. */
static void write_all_columns(const bmd_system *s) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return;
    bmd_extxyz_write_opts o = {1, 1, 1, 1, 1, 1, 1};
    bmd_fuzz_check(bmd_extxyz_write_frame(f, s, BMD_UNITS_METAL, &o) == BMD_OK, "write a frame with momenta",
                   bmd_last_error());
    fclose(f);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bmd_fuzz_write("in.extxyz", data, size);
    char path[600];
    bmd_fuzz_path(path, sizeof path, "in.extxyz");
    bmd_extxyz_index *ix = NULL;
    bmd_status st = bmd_extxyz_index_open(path, &ix);
    if (st) {
        check_error(st, path);
        return 0;
    }
    long n = bmd_extxyz_index_frames(ix);
    if (n > MAX_FRAMES) n = MAX_FRAMES;
    bmd_system *fr = calloc((size_t)n + 1, sizeof *fr);
    bmd_fuzz_check(fr != NULL, "allocate frames", NULL);
    long ok = 0;
    for (long k = 0; k < n; k++) {
        bmd_fuzz_check(bmd_extxyz_index_atoms(ix, k) >= 0, "index: atom count >= 0", NULL);
        bmd_fuzz_check(bmd_extxyz_index_line(ix, k) >= 1, "index: line >= 1", NULL);
        st = bmd_extxyz_read_frame(ix, k, BMD_UNITS_METAL, &fr[ok]);
        if (st) {
            check_error(st, path);
            continue;
        }
        bmd_fuzz_check(fr[ok].n_atoms == bmd_extxyz_index_atoms(ix, k), "frame has the indexed size", NULL);
        bmd_fuzz_check(fr[ok].line == bmd_extxyz_index_line(ix, k), "frame has the indexed line", NULL);
        write_all_columns(&fr[ok]);
        ok++;
    }
    if (n > 0) {
        bmd_system lj;
        st = bmd_extxyz_read_frame(ix, 0, BMD_UNITS_LJ, &lj);
        if (st) check_error(st, path);
        else bmd_system_free(&lj);
    }
    bmd_extxyz_index_close(ix);
    round_trip(fr, ok);
    batch_trip(fr, ok);
    for (long k = 0; k < ok; k++) bmd_system_free(&fr[k]);
    free(fr);
    return 0;
}
