/* campaign_input.c — owns resolving the campaign's `input:` (a file, a
 * directory of extxyz files, a glob, or a list of these) into an ordered
 * list of readable files, the path helper, and the check of an input
 * structure's per-structure overrides (info keys naming a stage parameter)
 * against the ranges the stages accept. */
#include "io/campaign_internal.h"

#include "core/paths.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *bmd__campaign_path(const char *dir, const char *rel) {
    size_t nd = strlen(dir), nr = strlen(rel);
    char *p = malloc(nd + nr + 2);
    if (!p) return NULL;
    if (rel[0] == '/' || nd == 0) {
        memcpy(p, rel, nr + 1);
    } else {
        memcpy(p, dir, nd);
        p[nd] = '/';
        memcpy(p + nd + 1, rel, nr + 1);
    }
    return p;
}

static int add_input(bmd_campaign *c, char *path) {
    char **v = realloc(c->inputs, (size_t)(c->n_inputs + 1) * sizeof *v);
    if (!v) {
        free(path);
        return -1;
    }
    c->inputs = v;
    c->inputs[c->n_inputs++] = path;
    return 0;
}

/* 1 when the file has nothing but whitespace (a file that cannot be read:
 * 0, and the reader says why later). */
static int blank_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int c, blank = 1;
    while (blank && (c = getc(f)) != EOF)
        blank = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
    blank = blank && !ferror(f);
    fclose(f);
    return blank;
}

/* Adds path (taken) if it is a regular file with structures: an empty input
 * is a mistake (a failed copy, a wrong glob), not an empty campaign, and a
 * device or a pipe would be read without end. */
static bmd_status add_file(const bmd_yread *r, const bmd_ynode *at, bmd_campaign *c, char *path) {
    struct stat sb;
    bmd_status st = BMD_OK;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        st = bmd_yerr(r, at, "input: '%s' is not a regular file (expected an extxyz file)", path);
    else if (blank_file(path))
        st = bmd_yerr(r, at, "input: '%s' holds no structures (the file is empty; expected extxyz frames)", path);
    if (st) {
        free(path);
        return st;
    }
    return add_input(c, path) ? bmd__fail(BMD_ERR_NOMEM, "out of memory") : BMD_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int has_suffix(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static bmd_status add_directory(const bmd_yread *r, const bmd_ynode *at, bmd_campaign *c, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return bmd_yerr(r, at, "input: cannot open directory '%s': %s", dir, strerror(errno));
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !(has_suffix(e->d_name, ".extxyz") || has_suffix(e->d_name, ".xyz"))) continue;
        char **v = realloc(names, (size_t)(n + 1) * sizeof *v);
        char *p = bmd__campaign_path(dir, e->d_name);
        if (!v || !p) {
            free(p);
            free(v ? v : names);
            closedir(d);
            return bmd__fail(BMD_ERR_NOMEM, "out of memory listing %s", dir);
        }
        names = v;
        names[n++] = p;
    }
    closedir(d);
    if (n == 0) {
        free(names);
        return bmd_yerr(r, at, "input: directory '%s' holds no .extxyz or .xyz files", dir);
    }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    bmd_status st = BMD_OK;
    for (int i = 0; i < n; i++)
        if (!st) st = add_file(r, at, c, names[i]);
        else free(names[i]);
    free(names);
    return st;
}

static bmd_status add_one(const bmd_yread *r, const bmd_ynode *n, bmd_campaign *c) {
    if (n->kind != BMD_Y_SCALAR || bmd_yaml_is_null(n))
        return bmd_yerr(r, n, "input: expected a file, a directory or a glob pattern");
    char *path = bmd__campaign_path(c->dir, n->value);
    if (!path) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    bmd_status st = BMD_OK;
    struct stat sb;
    if (strpbrk(n->value, "*?[")) {
        glob_t g;
        int rc = glob(path, 0, NULL, &g);
        if (rc == GLOB_NOMATCH) st = bmd_yerr(r, n, "input: no file matches '%s'", n->value);
        else if (rc != 0) st = bmd_yerr(r, n, "input: cannot expand '%s'", n->value);
        for (size_t i = 0; !st && i < g.gl_pathc; i++) {
            char *p = malloc(strlen(g.gl_pathv[i]) + 1);
            st = p ? add_file(r, n, c, strcpy(p, g.gl_pathv[i])) : bmd__fail(BMD_ERR_NOMEM, "out of memory");
        }
        if (rc == 0) globfree(&g);
        free(path);
        return st;
    }
    if (stat(path, &sb) != 0) {
        st = bmd_yerr(r, n, "input: '%s' does not exist (expected an extxyz file, a directory or a glob)", n->value);
        free(path);
        return st;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = add_directory(r, n, c, path);
        free(path);
        return st;
    }
    if (access(path, R_OK) != 0) {
        st = bmd_yerr(r, n, "input: '%s' is not readable: %s", n->value, strerror(errno));
        free(path);
        return st;
    }
    return add_file(r, n, c, path);
}

bmd_status bmd__campaign_read_input(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    if (node->kind == BMD_Y_SEQ) {
        if (node->n == 0) return bmd_yerr(r, node, "input: expected at least one file");
        for (int i = 0; i < node->n; i++) {
            bmd_status st = add_one(r, node->items[i], c);
            if (st) return st;
        }
        return BMD_OK;
    }
    return add_one(r, node, c);
}

/* ---------------------------------------------- per-structure overrides */

#define BMD_RANGE_(lo_, hi_, open_, text_) .lo = (lo_), .hi = (hi_), .lo_open = (open_), .expected = (text_)

/* The ranges of the stage's own keys (a dynamics' parameters carry theirs
 * in the catalogue, dynamics.h's bmd_param_desc). */
static const bmd_param_desc STAGE_KEYS[] = {
    {.name = "steps", .kind = BMD_PARAM_WHOLE, BMD_RANGE_(0, INFINITY, 0, "a whole number of steps >= 0")},
    {.name = "max_steps", .kind = BMD_PARAM_WHOLE, BMD_RANGE_(0, INFINITY, 0, "a whole number of steps >= 0")},
    {.name = "fmax", BMD_RANGE_(0, INFINITY, 0, "a force >= 0 eV/Å")},
    {.name = "etol", BMD_RANGE_(0, INFINITY, 0, "an energy >= 0 eV")},
};

const char *bmd__campaign_param_out_of_range(const char *type, const char *name, double x) {
    const bmd_param_desc *d = bmd_dynamics_param(bmd_dynamics_find(type), name);
    for (size_t i = 0; !d && i < sizeof STAGE_KEYS / sizeof *STAGE_KEYS; i++)
        if (strcmp(STAGE_KEYS[i].name, name) == 0) d = &STAGE_KEYS[i];
    if (!d) return isfinite(x) ? NULL : "a finite number";
    return bmd_param_out_of_range(d, x);
}

/* Checks info key `name` of sys, if present, for stage s. */
static bmd_status check_key(const bmd_campaign_stage *s, const bmd_system *sys, long index, const char *name) {
    const char *v = bmd_info_get(&sys->info, name);
    if (!v) return BMD_OK;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    while (*end == ' ' || *end == '\t') end++;
    int number = end != v && *end == '\0'; /* "hot" is not one; 1e999 is one out of range */
    if (!number || errno == ERANGE) x = NAN;
    const char *expected = bmd__campaign_param_out_of_range(s->type->type, name, x);
    if (!expected) return BMD_OK;
    return bmd__fail(BMD_ERR_PARSE, "%s:%ld: structure %ld: %s=%s overrides stages.%s.%s and is %s (expected %s)",
                     sys->source ? sys->source : "?", sys->line > 0 ? sys->line + 1 : 0, index, name, v, s->name,
                     name, number ? "out of range" : "not a number", expected);
}

bmd_status bmd_campaign_check_overrides(const bmd_campaign *c, const bmd_system *sys, long index) {
    if (!c || !sys) return bmd__fail(BMD_ERR_INVALID, "bmd_campaign_check_overrides: missing campaign or system");
    for (int i = 0; i < c->n_stages; i++) {
        const bmd_campaign_stage *s = &c->stages[i];
        bmd_status st = BMD_OK;
        for (int k = 0; !st && k < s->type->n_params; k++) {
            const bmd_param_desc *d = &s->type->params[k];
            /* the dynamics would not read an info key that may not
             * override (one that sizes columns, a word, a mask): refused,
             * never silently ignored */
            if (!d->stage_only && d->kind != BMD_PARAM_CHOICE && d->kind != BMD_PARAM_MASK) {
                st = check_key(s, sys, index, d->name);
                continue;
            }
            const char *v = bmd_info_get(&sys->info, d->name);
            if (v)
                st = bmd__fail(BMD_ERR_PARSE, "%s:%ld: structure %ld: %s=%s: %s is a key of the whole stage "
                               "(stages.%s.%s%s%s), not per structure: set it in the campaign, or remove the info key",
                               sys->source ? sys->source : "?", sys->line > 0 ? sys->line + 1 : 0, index, d->name, v,
                               d->name, s->name, d->group ? d->group : "", d->group ? "." : "", d->name);
        }
        static const char *const opt[] = {"fmax", "etol", "max_steps"}, *const md[] = {"steps", "max_steps"};
        const char *const *conv = s->type->is_optimizer ? opt : md;
        int n_conv = s->type->is_optimizer ? 3 : 2;
        for (int k = 0; !st && k < n_conv; k++) st = check_key(s, sys, index, conv[k]);
        /* fix_com changes how the stage counts every system's temperature:
         * a key of the stage only, which a structure cannot set */
        const char *fc = s->type->is_optimizer ? NULL : bmd_info_get(&sys->info, "fix_com");
        if (!st && fc)
            st = bmd__fail(BMD_ERR_PARSE, "%s:%ld: structure %ld: fix_com=%s: fix_com is a key of the whole stage "
                           "(stages.%s.fix_com), not per structure: set it in the campaign, or remove the info key",
                           sys->source ? sys->source : "?", sys->line > 0 ? sys->line + 1 : 0, index, fc, s->name);
        if (st) return st;
    }
    return BMD_OK;
}
