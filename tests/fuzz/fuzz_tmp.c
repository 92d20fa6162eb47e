/* fuzz_tmp.c — owns the fuzz harnesses' temporary folder and file writing
 * (see fuzz_tmp.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "fuzz_tmp.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[512];

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_dir(void) { nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

const char *bmd_fuzz_dir(void) {
    if (dir[0]) return dir;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bmd-fuzz-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(remove_dir);
    return dir;
}

void bmd_fuzz_path(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", bmd_fuzz_dir(), name);
}

void bmd_fuzz_write(const char *name, const uint8_t *data, size_t size) {
    char path[600];
    bmd_fuzz_path(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

void bmd_fuzz_check(int cond, const char *what, const char *detail) {
    if (cond) return;
    fprintf(stderr, "fuzz: invariant broken: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}
