/* campaign_read.c — owns the typed, position-reporting getters that the
 * campaign reader uses over the YAML tree. */
#include "io/campaign_read.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bmd_status bmd_yerr(const bmd_yread *r, const bmd_ynode *at, const char *fmt, ...) {
    char msg[1500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at) return bmd__fail(BMD_ERR_PARSE, "%s:%d:%d: %s", r->path, at->line, at->col, msg);
    return bmd__fail(BMD_ERR_PARSE, "%s: %s", r->path, msg);
}

static const char *kind_name(const bmd_ynode *n) {
    return n->kind == BMD_Y_MAP ? "a mapping" : n->kind == BMD_Y_SEQ ? "a list" : "a scalar";
}

bmd_status bmd_ycheck_keys(const bmd_yread *r, const bmd_ynode *map, const char *where,
                           const char *const *allowed) {
    if (map->kind != BMD_Y_MAP) return bmd_yerr(r, map, "%s: expected a mapping (key: value lines), got %s", where, kind_name(map));
    for (int i = 0; i < map->n; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, map->keys[i]) == 0) ok = 1;
        if (ok) continue;
        char list[800] = "";
        for (const char *const *a = allowed; *a; a++) {
            if (strlen(list) + strlen(*a) + 3 >= sizeof list) break;
            if (a != allowed) strcat(list, ", ");
            strcat(list, *a);
        }
        return bmd__fail(BMD_ERR_PARSE, "%s:%d:%d: %s: unknown key '%s' (expected one of: %s)", r->path,
                         map->key_line[i], map->key_col[i], where, map->keys[i], list);
    }
    return BMD_OK;
}

bmd_status bmd_ynumber(const bmd_yread *r, const bmd_ynode *n, const char *where, double *out) {
    if (n->kind != BMD_Y_SCALAR || n->quoted)
        return bmd_yerr(r, n, "%s: expected a number, got %s", where, n->kind == BMD_Y_SCALAR ? "a quoted string" : kind_name(n));
    const char *s = n->value;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end != '\0')
        return bmd_yerr(r, n, "%s: expected a number, got '%s'", where, s);
    if (errno == ERANGE || !isfinite(x))
        return bmd_yerr(r, n, "%s: the number '%s' is out of range (expected a finite number)", where, s);
    *out = x;
    return BMD_OK;
}

static const bmd_ynode *lookup(const bmd_ynode *map, const char *key, int *present) {
    const bmd_ynode *n = bmd_yaml_get(map, key, NULL);
    if (present) *present = n != NULL;
    return n;
}

bmd_status bmd_yget_number(const bmd_yread *r, const bmd_ynode *map, const char *key, const char *where,
                           double *out, int *present) {
    const bmd_ynode *n = lookup(map, key, present);
    if (!n) return BMD_OK;
    char w[256];
    snprintf(w, sizeof w, "%s.%s", where, key);
    return bmd_ynumber(r, n, w, out);
}

bmd_status bmd_yget_long(const bmd_yread *r, const bmd_ynode *map, const char *key, const char *where,
                         long min, long *out, int *present) {
    const bmd_ynode *n = lookup(map, key, present);
    if (!n) return BMD_OK;
    char w[256];
    snprintf(w, sizeof w, "%s.%s", where, key);
    if (n->kind != BMD_Y_SCALAR || n->quoted)
        return bmd_yerr(r, n, "%s: expected a whole number, got %s", w, n->kind == BMD_Y_SCALAR ? "a quoted string" : kind_name(n));
    char *end;
    errno = 0;
    long v = strtol(n->value, &end, 10);
    if (end == n->value || *end != '\0')
        return bmd_yerr(r, n, "%s: expected a whole number, got '%s'", w, n->value);
    if (errno == ERANGE || v < min)
        return bmd_yerr(r, n, "%s: %s is out of range (expected a whole number >= %ld)", w, n->value, min);
    *out = v;
    return BMD_OK;
}

bmd_status bmd_yget_bool(const bmd_yread *r, const bmd_ynode *map, const char *key, const char *where,
                         int *out, int *present) {
    const bmd_ynode *n = lookup(map, key, present);
    if (!n) return BMD_OK;
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "T", NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off", "F", NULL};
    if (n->kind == BMD_Y_SCALAR && !n->quoted) {
        for (int i = 0; yes[i]; i++)
            if (strcmp(n->value, yes[i]) == 0) return *out = 1, BMD_OK;
        for (int i = 0; no[i]; i++)
            if (strcmp(n->value, no[i]) == 0) return *out = 0, BMD_OK;
    }
    return bmd_yerr(r, n, "%s.%s: expected true or false, got %s%s%s", where, key,
                    n->kind == BMD_Y_SCALAR ? "'" : "", n->kind == BMD_Y_SCALAR ? n->value : kind_name(n),
                    n->kind == BMD_Y_SCALAR ? "'" : "");
}

bmd_status bmd_yget_string(const bmd_yread *r, const bmd_ynode *map, const char *key, const char *where,
                           const char **out, int *present) {
    const bmd_ynode *n = lookup(map, key, present);
    if (!n) return BMD_OK;
    if (n->kind != BMD_Y_SCALAR || bmd_yaml_is_null(n))
        return bmd_yerr(r, n, "%s.%s: expected a text value, got %s", where, key,
                        n->kind == BMD_Y_SCALAR ? "nothing" : kind_name(n));
    *out = n->value;
    return BMD_OK;
}
