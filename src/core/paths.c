/* paths.c — owns the file-name helpers of paths.h. */
#include "core/paths.h"

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
