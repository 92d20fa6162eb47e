/* paths.c — owns the file-name helpers of paths.h. */
#include "core/paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *bmd__path_suffixed(const char *path, const char *suffix) {
    size_t n = strlen(path), k = suffix ? strlen(suffix) : 0;
    char *out = malloc(n + k + 1);
    if (!out) return NULL;
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    size_t at = dot && dot > (slash ? slash + 1 : path) ? (size_t)(dot - path) : n;
    memcpy(out, path, at);
    if (k) memcpy(out + at, suffix, k);
    memcpy(out + at + k, path + at, n - at + 1);
    return out;
}

void bmd__make_parents(const char *path) {
    char *p = malloc(strlen(path) + 1);
    if (!p) return;
    strcpy(p, path);
    for (char *c = p + 1; *c; c++) {
        if (*c != '/') continue;
        *c = '\0';
        mkdir(p, 0777);
        *c = '/';
    }
    free(p);
}

/* path's folder into dir ("." when none) and its last part into *base. */
static void split_path(const char *path, char *dir, size_t size, const char **base) {
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash) snprintf(dir, size, ".");
    else if (slash == path) snprintf(dir, size, "/");
    else snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

int bmd__same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (!stat(a, &sa) && !stat(b, &sb)) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char da[PATH_MAX], db[PATH_MAX];
    const char *ba, *bb;
    split_path(a, da, sizeof da, &ba);
    split_path(b, db, sizeof db, &bb);
    if (strcmp(ba, bb)) return 0;
    if (!stat(da, &sa) && !stat(db, &sb)) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return !strcmp(da, db);
}
