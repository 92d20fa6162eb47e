/* extxyz_roundtrip.c — test driver: `extxyz_roundtrip IN OUT [metal|lj]`
 * reads every frame of IN with bmd_extxyz_read_all and writes them to OUT
 * with every write option on. `extxyz_roundtrip --index IN` prints the
 * frame count, then "line atoms" per frame. Exit 0 on success; on failure
 * prints bmd_last_error() to stderr and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/extxyz.h"

static int fail(void) {
    fprintf(stderr, "extxyz_roundtrip: %s\n", bmd_last_error());
    return 1;
}

static int print_index(const char *path) {
    bmd_extxyz_index *ix;
    if (bmd_extxyz_index_open(path, &ix)) return fail();
    long n = bmd_extxyz_index_frames(ix);
    printf("%ld\n", n);
    for (long k = 0; k < n; k++)
        printf("%ld %d\n", bmd_extxyz_index_line(ix, k), bmd_extxyz_index_atoms(ix, k));
    bmd_extxyz_index_close(ix);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--index") == 0) return print_index(argv[2]);
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: extxyz_roundtrip IN OUT [metal|lj] | extxyz_roundtrip --index IN\n");
        return 2;
    }
    int units = argc == 4 ? bmd_units_parse(argv[3]) : BMD_UNITS_METAL;
    if (units < 0) {
        fprintf(stderr, "extxyz_roundtrip: unknown units '%s'\n", argv[3]);
        return 2;
    }
    bmd_system *frames;
    long n;
    if (bmd_extxyz_read_all(argv[1], (bmd_units_kind)units, &frames, &n)) return fail();
    FILE *f = fopen(argv[2], "w");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    bmd_extxyz_write_opts o = {1, 1, 1, 1, 1, 1, 1};
    int rc = 0;
    for (long k = 0; k < n && !rc; k++)
        if (bmd_extxyz_write_frame(f, &frames[k], (bmd_units_kind)units, &o)) rc = fail();
    if (fclose(f) != 0 && !rc) {
        perror(argv[2]);
        rc = 1;
    }
    for (long k = 0; k < n; k++) bmd_system_free(&frames[k]);
    free(frames);
    return rc;
}
