/* campaign.c — owns reading a campaign file (docs/campaign.md, format 1) into a
 * bmd_campaign: root keys, stages, the pipeline expression ('+' fuses stages
 * on one process and binds tighter than '|', which hands systems to the next
 * rank), batch and output settings; and building a fused stage from it. */
#include "io/campaign_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* A stage parameter outside what its dynamics accepts is an error at the
 * value's place (dt: 0, temperature: -3), not a run that quarantines every
 * system; the ranges are those of the per-structure overrides. */
static bmd_status check_range(const bmd_yread *r, const bmd_ynode *node, const char *where, const char *type,
                              const char *name, double x) {
    const char *expected = bmd__campaign_param_out_of_range(type, name, x);
    if (!expected) return BMD_OK;
    const bmd_ynode *at = bmd_yaml_get(node, name, NULL);
    return bmd_yerr(r, at ? at : node, "%s.%s: %.17g is out of range (expected %s)", where, name, x, expected);
}

/* Index of word w in "a|b|c", -1 when absent. */
static int choice_index(const char *choices, const char *w) {
    int i = 0;
    for (const char *p = choices; p && *p; i++) {
        const char *e = strchr(p, '|');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (strlen(w) == n && strncmp(p, w, n) == 0) return i;
        if (!e) break;
        p = e + 1;
    }
    return -1;
}

/* The campaign key of parameter p: its name, or for an item of a list
 * (BMD_PARAM_ITEM, "stress_xx") the list's key ("stress"). *item receives
 * the item's index in the list (-1: not an item), *count the list's length. */
static const char *param_key(const bmd_param_desc *p, char *buf, size_t n, int *item, int *count) {
    *item = -1;
    *count = 0;
    if (p->kind != BMD_PARAM_ITEM) return p->name;
    const char *us = strrchr(p->name, '_');
    size_t len = us ? (size_t)(us - p->name) : strlen(p->name);
    if (len >= n) len = n - 1;
    memcpy(buf, p->name, len);
    buf[len] = '\0';
    *item = us ? choice_index(p->choices, us + 1) : -1;
    *count = 1;
    for (const char *c = p->choices; c && *c; c++) *count += *c == '|';
    return buf;
}

/* Parameter p from map (where: "stages.relax" or "stages.relax.cell"):
 * a number, a whole number, true/false, a word of p->choices, or a mask
 * (a list of those words, or one 0/1 per word); checked against its range. */
static bmd_status read_param(const bmd_yread *r, const bmd_ynode *map, const char *where, const bmd_param_desc *p,
                             double *out, int *present) {
    char buf[64];
    int item, count;
    const char *key = param_key(p, buf, sizeof buf, &item, &count);
    const bmd_ynode *n = bmd_yaml_get(map, key, NULL);
    *present = n != NULL;
    if (!n) return BMD_OK;
    bmd_status st = BMD_OK;
    if (p->kind == BMD_PARAM_ITEM) { /* item `item` of a list of `count` numbers */
        if (n->kind != BMD_Y_SEQ || n->n != count || item < 0)
            return bmd_yerr(r, n, "%s.%s: expected a list of %d numbers (%s)", where, key, count, p->choices);
        char w[256];
        snprintf(w, sizeof w, "%s.%s[%d]", where, key, item);
        if ((st = bmd_ynumber(r, n->items[item], w, out))) return st;
        const char *expected = bmd_param_out_of_range(p, *out);
        if (expected) return bmd_yerr(r, n->items[item], "%s: %.17g is out of range (expected %s)", w, *out, expected);
        return BMD_OK;
    }
    if (p->kind == BMD_PARAM_BOOL) {
        int v = 0;
        if ((st = bmd_yget_bool(r, map, p->name, where, &v, NULL))) return st;
        *out = v;
        return BMD_OK;
    }
    if (p->kind == BMD_PARAM_CHOICE) {
        int k = n->kind == BMD_Y_SCALAR ? choice_index(p->choices, n->value) : -1;
        if (k < 0) return bmd_yerr(r, n, "%s.%s: expected one of %s", where, p->name, p->choices);
        *out = k;
        return BMD_OK;
    }
    if (p->kind == BMD_PARAM_MASK) {
        int words = 0, bits = 0;
        for (const char *c = p->choices; c && *c; c++) words += *c == '|';
        words += 1;
        if (n->kind != BMD_Y_SEQ)
            return bmd_yerr(r, n, "%s.%s: expected a list of components (%s), or %d values 0 or 1", where, p->name,
                            p->choices, words);
        int numbers = n->n == words;
        for (int i = 0; numbers && i < n->n; i++)
            numbers = n->items[i]->kind == BMD_Y_SCALAR && !n->items[i]->quoted &&
                      (strcmp(n->items[i]->value, "0") == 0 || strcmp(n->items[i]->value, "1") == 0);
        for (int i = 0; i < n->n; i++) {
            const bmd_ynode *it = n->items[i];
            int k = numbers ? (it->value[0] == '1' ? i : -2) : (it->kind == BMD_Y_SCALAR ? choice_index(p->choices, it->value) : -1);
            if (k == -1)
                return bmd_yerr(r, it, "%s.%s: expected a component (%s), or %d values 0 or 1", where, p->name,
                                p->choices, words);
            if (k >= 0) bits |= 1 << k;
        }
        *out = bits;
        return BMD_OK;
    }
    char w[200];
    snprintf(w, sizeof w, "%s.%s", where, p->name);
    if ((st = bmd_ynumber(r, n, w, out))) return st;
    const char *expected = bmd_param_out_of_range(p, *out);
    if (expected) return bmd_yerr(r, n, "%s.%s: %.17g is out of range (expected %s)", where, p->name, *out, expected);
    return BMD_OK;
}

/* The stage's `group:` mapping (cell: {...}): a mapping of that group's
 * parameters only. */
static bmd_status read_group(const bmd_yread *r, const bmd_ynode *node, const char *where, const bmd_dynamics_type *t,
                             const char *group) {
    const bmd_ynode *g = bmd_yaml_get(node, group, NULL);
    if (!g) return BMD_OK;
    char at[160];
    snprintf(at, sizeof at, "%s.%s", where, group);
    if (g->kind != BMD_Y_MAP) return bmd_yerr(r, g, "%s: expected a mapping", at);
    const char *keys[40];
    char bufs[40][64];
    int nk = 0;
    for (int i = 0; i < t->n_params && nk < 39; i++) {
        if (!t->params[i].group || strcmp(t->params[i].group, group) != 0) continue;
        int item, count;
        const char *k = param_key(&t->params[i], bufs[nk], sizeof bufs[nk], &item, &count);
        int seen = 0; /* (a list's items share its key) */
        for (int j = 0; j < nk; j++) seen |= strcmp(keys[j], k) == 0;
        if (!seen) keys[nk++] = k;
    }
    keys[nk] = NULL;
    return bmd_ycheck_keys(r, g, at, keys);
}

static bmd_status read_stage(const bmd_yread *r, const char *name, const bmd_ynode *node, bmd_campaign *c) {
    char where[128];
    snprintf(where, sizeof where, "stages.%s", name);
    if (node->kind != BMD_Y_MAP) return bmd_yerr(r, node, "%s: expected a mapping with a 'type' key", where);
    const char *type = NULL;
    int present;
    bmd_status st = bmd_yget_string(r, node, "type", where, &type, &present);
    if (st) return st;
    int nt = 0;
    const bmd_dynamics_type *const *all = bmd_dynamics_types(&nt);
    char names[400] = "";
    for (int i = 0; i < nt; i++) {
        if (strlen(names) + strlen(all[i]->type) + 3 >= sizeof names) break;
        if (i) strcat(names, ", ");
        strcat(names, all[i]->type);
    }
    if (!present) return bmd_yerr(r, node, "%s: missing 'type' (expected one of: %s)", where, names);
    const bmd_dynamics_type *t = bmd_dynamics_find(type);
    if (!t)
        return bmd_yerr(r, bmd_yaml_get(node, "type", NULL), "%s.type: unknown dynamics '%s' (expected one of: %s)", where, type, names);
    if (t->n_params > (int)(sizeof c->stages[0].values / sizeof(double)))
        return bmd__fail(BMD_ERR_INVALID, "dynamics '%s' has too many parameters", type);

    bmd_campaign_stage *s = &c->stages[c->n_stages];
    memset(s, 0, sizeof *s);
    s->name = dup_str(name);
    if (!s->name) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    c->n_stages++;
    s->type = t;
    s->line = node->line;

    /* the stage's keys: its dynamics' ungrouped parameters, the convergence
     * keys, and one key per group (cell: {...}) */
    const char *keys[48], *groups[8];
    char bufs[48][64];
    int nk = 0, ng = 0;
    keys[nk++] = "type";
    for (int i = 0; i < t->n_params && nk < 40; i++) {
        const char *g = t->params[i].group;
        if (!g) {
            int item, count, seen = 0;
            const char *k = param_key(&t->params[i], bufs[nk], sizeof bufs[nk], &item, &count);
            for (int j = 0; j < nk; j++) seen |= strcmp(keys[j], k) == 0;
            if (!seen) keys[nk++] = k;
            continue;
        }
        int seen = 0;
        for (int k = 0; k < ng; k++) seen |= strcmp(groups[k], g) == 0;
        if (!seen && ng < 8) keys[nk++] = groups[ng++] = g;
    }
    if (t->is_optimizer) {
        keys[nk++] = "fmax";
        keys[nk++] = "etol";
        keys[nk++] = "max_steps";
    } else {
        keys[nk++] = "steps";
        keys[nk++] = "fix_com"; /* every MD stage: the stage applies it (dynamics.h) */
    }
    keys[nk] = NULL;
    if ((st = bmd_ycheck_keys(r, node, where, keys))) return st;
    for (int k = 0; k < ng; k++)
        if ((st = read_group(r, node, where, t, groups[k]))) return st;

    for (int i = 0; i < t->n_params; i++) {
        const bmd_param_desc *p = &t->params[i];
        const bmd_ynode *map = node;
        char at[160];
        snprintf(at, sizeof at, "%s%s%s", where, p->group ? "." : "", p->group ? p->group : "");
        if (p->group) map = bmd_yaml_get(node, p->group, NULL);
        s->values[i] = p->def;
        present = 0;
        if (map && map->kind == BMD_Y_MAP && (st = read_param(r, map, at, p, &s->values[i], &present))) return st;
        if (!present && isnan(p->def) && !p->optional)
            return bmd_yerr(r, node, "%s: missing '%s' (%s%s%s)", where, p->name, p->doc, p->unit[0] ? ", " : "",
                            p->unit);
    }
    /* the dynamics' own checks of its values together (a `cell:` key
     * without a filter ...), at the stage's place rather than at run time */
    bmd_dynamics *probe = NULL;
    if ((st = t->create(s->values, &probe))) {
        if (st == BMD_ERR_NOMEM) return st;
        char why[300];
        snprintf(why, sizeof why, "%s", bmd_last_error());
        return bmd_yerr(r, node, "%s: %s", where, why);
    }
    bmd_dynamics_destroy(probe);
    s->conv.fmax = 0;
    s->conv.etol = 0;
    if (t->is_optimizer) {
        s->conv.fmax = 0.05;
        s->conv.max_steps = 1000;
        if ((st = bmd_yget_number(r, node, "fmax", where, &s->conv.fmax, NULL))) return st;
        if ((st = check_range(r, node, where, type, "fmax", s->conv.fmax))) return st;
        if ((st = bmd_yget_number(r, node, "etol", where, &s->conv.etol, NULL))) return st;
        if ((st = check_range(r, node, where, type, "etol", s->conv.etol))) return st;
        if ((st = bmd_yget_long(r, node, "max_steps", where, 0, &s->conv.max_steps, NULL))) return st;
    } else {
        if ((st = bmd_yget_long(r, node, "steps", where, 0, &s->conv.max_steps, &present))) return st;
        if (!present) return bmd_yerr(r, node, "%s: missing 'steps' (how many steps a system spends in this stage)", where);
        if ((st = bmd_yget_bool(r, node, "fix_com", where, &s->fix_com, NULL))) return st;
    }
    return BMD_OK;
}

static int find_stage(const bmd_campaign *c, const char *name) {
    for (int i = 0; i < c->n_stages; i++)
        if (strcmp(c->stages[i].name, name) == 0) return i;
    return -1;
}

/* "relax + anneal | md": groups split by '|', stages by '+'. */
static bmd_status read_pipeline(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    if (node->kind != BMD_Y_SCALAR)
        return bmd_yerr(r, node, "pipeline: expected an expression of stage names such as 'relax + md' or 'relax | md'");
    const char *s = node->value;
    int used[BMD_MAX_STAGES] = {0};
    c->n_groups = 1;
    c->group_size[0] = 0;
    size_t i = 0, n = strlen(s);
    int expect_name = 1;
    while (i <= n) {
        while (i < n && isspace((unsigned char)s[i])) i++;
        if (expect_name) {
            size_t j = i;
            while (j < n && (isalnum((unsigned char)s[j]) || s[j] == '_' || s[j] == '-')) j++;
            if (j == i)
                return bmd__fail(BMD_ERR_PARSE, "%s:%d:%d: pipeline: expected a stage name at '%s'", r->path, node->line,
                                 node->col + (int)i, s + i);
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(j - i), s + i);
            int k = find_stage(c, name);
            if (k < 0) {
                char names[400] = "";
                for (int q = 0; q < c->n_stages; q++) {
                    if (strlen(names) + strlen(c->stages[q].name) + 3 >= sizeof names) break;
                    if (q) strcat(names, ", ");
                    strcat(names, c->stages[q].name);
                }
                return bmd__fail(BMD_ERR_PARSE, "%s:%d:%d: pipeline: unknown stage '%s' (stages defined: %s)", r->path,
                                 node->line, node->col + (int)i, name, names);
            }
            if (used[k])
                return bmd__fail(BMD_ERR_PARSE, "%s:%d:%d: pipeline: stage '%s' appears twice", r->path, node->line,
                                 node->col + (int)i, name);
            used[k] = 1;
            int g = c->n_groups - 1;
            c->group_stage[g][c->group_size[g]++] = k;
            i = j;
            expect_name = 0;
        } else {
            if (i >= n) break;
            if (s[i] == '|') {
                c->group_size[c->n_groups++] = 0;
            } else if (s[i] != '+') {
                return bmd__fail(BMD_ERR_PARSE, "%s:%d:%d: pipeline: expected '+' or '|' between stage names, got '%c'",
                                 r->path, node->line, node->col + (int)i, s[i]);
            }
            i++;
            expect_name = 1;
        }
    }
    return BMD_OK;
}

static bmd_status read_batch(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    static const char *const keys[] = {"max_atoms", "max_systems", "refill_every", "buffer", "comm",
                                       "synchronized", "debug", NULL};
    bmd_status st = bmd_ycheck_keys(r, node, "batch", keys);
    if (!st) st = bmd_yget_long(r, node, "max_atoms", "batch", 1, &c->batch.max_atoms, NULL);
    if (!st) st = bmd_yget_long(r, node, "max_systems", "batch", 1, &c->batch.max_systems, NULL);
    if (!st) st = bmd_yget_long(r, node, "refill_every", "batch", 1, &c->batch.refill_every, NULL);
    if (!st) st = bmd_yget_bool(r, node, "synchronized", "batch", &c->batch.synchronized, NULL);
    if (!st) st = bmd_yget_bool(r, node, "debug", "batch", &c->batch.debug, NULL);
    if (st) return st;
    const bmd_ynode *buf = bmd_yaml_get(node, "buffer", NULL);
    if (buf) {
        static const char *const bkeys[] = {"systems", "atoms", NULL};
        if ((st = bmd_ycheck_keys(r, buf, "batch.buffer", bkeys))) return st;
        if ((st = bmd_yget_long(r, buf, "systems", "batch.buffer", 1, &c->batch.buffer_systems, NULL))) return st;
        if ((st = bmd_yget_long(r, buf, "atoms", "batch.buffer", 1, &c->batch.buffer_atoms, NULL))) return st;
    }
    const char *comm = NULL;
    if ((st = bmd_yget_string(r, node, "comm", "batch", &comm, NULL))) return st;
    if (comm) {
        if (strcmp(comm, "sync") && strcmp(comm, "async_recv") && strcmp(comm, "fully_async"))
            return bmd_yerr(r, bmd_yaml_get(node, "comm", NULL), "batch.comm: unknown mode '%s' (expected sync, async_recv or fully_async)", comm);
        snprintf(c->batch.comm, sizeof c->batch.comm, "%s", comm);
    }
    return BMD_OK;
}

static bmd_status read_path(const bmd_yread *r, const bmd_ynode *map, const char *key, const char *where,
                            const bmd_campaign *c, char **out) {
    const char *v = NULL;
    bmd_status st = bmd_yget_string(r, map, key, where, &v, NULL);
    if (st || !v) return st;
    free(*out);
    *out = bmd__campaign_path(c->dir, v);
    return *out ? BMD_OK : bmd__fail(BMD_ERR_NOMEM, "out of memory");
}

/* `trajectory: {file: ..., every: N}` (or just a file name). */
static bmd_status read_every(const bmd_yread *r, const bmd_ynode *node, const char *where, long def_every,
                             const bmd_campaign *c, bmd_campaign_output_every *o) {
    o->every = def_every;
    if (node->kind == BMD_Y_SCALAR) {
        free(o->file);
        o->file = bmd__campaign_path(c->dir, node->value);
        return o->file ? BMD_OK : bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    static const char *const keys[] = {"file", "every", NULL};
    bmd_status st = bmd_ycheck_keys(r, node, where, keys);
    if (!st) st = bmd_yget_long(r, node, "every", where, 1, &o->every, NULL);
    if (!st) st = read_path(r, node, "file", where, c, &o->file);
    if (!st && !o->file) st = bmd_yerr(r, node, "%s: missing 'file'", where);
    return st;
}

/* Every output its own file: two writers of one file would interleave. */
static bmd_status check_distinct(const bmd_yread *r, const bmd_ynode *node, const bmd_campaign *c) {
    static const char *const key[] = {"final", "failed", "log", "trajectory", "checkpoint", "eval"};
    const char *path[] = {c->output.final, c->output.failed, c->output.log.file, c->output.trajectory.file,
                          c->output.checkpoint, c->output.eval};
    for (int i = 1; i < 6; i++)
        for (int j = 0; j < i; j++)
            if (path[i] && path[j] && bmd__same_file(path[i], path[j])) {
                const bmd_ynode *at = bmd_yaml_get(node, key[i], NULL);
                return bmd_yerr(r, at ? at : node, "output.%s: '%s' is also output.%s (every output needs a file of its own)",
                                key[i], path[i], key[j]);
            }
    return BMD_OK;
}

static bmd_status read_output(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    static const char *const keys[] = {"final", "failed", "eval", "trajectory", "log", "checkpoint", "ordered", NULL};
    bmd_status st = bmd_ycheck_keys(r, node, "output", keys);
    if (!st) st = read_path(r, node, "final", "output", c, &c->output.final);
    if (!st) st = read_path(r, node, "failed", "output", c, &c->output.failed);
    if (!st) st = read_path(r, node, "eval", "output", c, &c->output.eval);
    if (!st && bmd_yaml_get(node, "final", NULL) && !bmd_yaml_get(node, "failed", NULL)) {
        /* failed next to final, named after it (out/a.extxyz -> out/a.failed.extxyz): two
         * campaigns that write different finals in one folder never share a failed file */
        free(c->output.failed);
        c->output.failed = bmd__path_suffixed(c->output.final, ".failed");
        if (!c->output.failed) st = bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    if (!st) st = bmd_yget_bool(r, node, "ordered", "output", &c->output.ordered, NULL);
    if (st) return st;
    const bmd_ynode *n;
    if ((n = bmd_yaml_get(node, "trajectory", NULL)) && (st = read_every(r, n, "output.trajectory", 100, c, &c->output.trajectory)))
        return st;
    if ((n = bmd_yaml_get(node, "log", NULL)) && (st = read_every(r, n, "output.log", 10, c, &c->output.log)))
        return st;
    if ((n = bmd_yaml_get(node, "checkpoint", NULL))) {
        static const char *const ck[] = {"file", "every_s", NULL};
        if ((st = bmd_ycheck_keys(r, n, "output.checkpoint", ck))) return st;
        if ((st = read_path(r, n, "file", "output.checkpoint", c, &c->output.checkpoint))) return st;
        if ((st = bmd_yget_number(r, n, "every_s", "output.checkpoint", &c->output.checkpoint_every_s, NULL))) return st;
    }
    return check_distinct(r, node, c);
}

static bmd_status set_defaults(bmd_campaign *c) {
    c->units = BMD_UNITS_METAL;
    c->seed = 0;
    c->threads = 0;
    strcpy(c->device, "cpu");
    c->batch.max_atoms = 50000;
    c->batch.max_systems = 1024;
    c->batch.refill_every = 5;
    c->batch.buffer_systems = 64;
    c->batch.buffer_atoms = 20000;
    strcpy(c->batch.comm, "async_recv");
    c->output.checkpoint_every_s = 60;
    c->quarantine.max_force = 1e5;
    c->quarantine.min_distance = 0.5;
    c->quarantine.max_neighbors = 2000;
    c->output.final = bmd__campaign_path(c->dir, "results/final.extxyz");
    c->output.failed = bmd__campaign_path(c->dir, "results/failed.extxyz");
    return c->output.final && c->output.failed ? BMD_OK : bmd__fail(BMD_ERR_NOMEM, "out of memory");
}

/* stages_optional: a campaign without stages (or with `stages: {}`) is
 * valid: what `eval` needs (bmd_campaign_load_flags). */
static bmd_status load_tree(const bmd_yread *r, const bmd_ynode *root, int flags, bmd_campaign *c) {
    int stages_optional = (flags & BMD_CAMPAIGN_STAGES_OPTIONAL) != 0;
    static const char *const keys[] = {"units", "seed", "threads", "device", "model", "input", "stages",
                                       "pipeline", "batch", "output", "quarantine", NULL};
    bmd_status st = bmd_ycheck_keys(r, root, "campaign", keys);
    if (st) return st;
    const char *units = NULL;
    if ((st = bmd_yget_string(r, root, "units", "campaign", &units, NULL))) return st;
    if (units) {
        int u = bmd_units_parse(units);
        if (u < 0) return bmd_yerr(r, bmd_yaml_get(root, "units", NULL), "units: unknown unit system '%s' (expected metal or lj)", units);
        c->units = (bmd_units_kind)u;
        c->units_line = bmd_yaml_get(root, "units", NULL)->line;
        c->units_col = bmd_yaml_get(root, "units", NULL)->col;
    }
    long seed = 0, threads = 0;
    if ((st = bmd_yget_long(r, root, "seed", "campaign", 0, &seed, NULL))) return st;
    if ((st = bmd_yget_long(r, root, "threads", "campaign", 0, &threads, NULL))) return st;
    c->seed = (uint64_t)seed;
    c->threads = (int)(threads > 4096 ? 4096 : threads);
    const char *device = NULL; /* cpu | cuda: the GPU backend (its absence is the command's error) */
    if ((st = bmd_yget_string(r, root, "device", "campaign", &device, NULL))) return st;
    if (device) {
        const bmd_ynode *dn = bmd_yaml_get(root, "device", NULL);
        if (strcmp(device, "cpu") && strcmp(device, "cuda"))
            return bmd_yerr(r, dn, "device: unknown device '%s' (expected cpu or cuda)", device);
        strcpy(c->device, device);
        c->device_line = dn->line;
        c->device_col = dn->col;
    }

    const bmd_ynode *n = bmd_yaml_get(root, "model", NULL);
    if (n) {
        if ((st = bmd__campaign_read_model(r, n, c))) return st;
    } else if (!(flags & BMD_CAMPAIGN_MODEL_OPTIONAL)) {
        return bmd_yerr(r, root, "missing 'model' (e.g. model: {type: lj, epsilon: ..., sigma: ..., cutoff: ...})");
    }

    if ((n = bmd_yaml_get(root, "input", NULL))) {
        if ((st = bmd__campaign_read_input(r, n, c))) return st;
    } else if (!(flags & BMD_CAMPAIGN_INPUT_OPTIONAL)) {
        return bmd_yerr(r, root, "missing 'input' (an extxyz file, a directory or a glob)");
    }

    if (!(n = bmd_yaml_get(root, "stages", NULL))) {
        if (!stages_optional)
            return bmd_yerr(r, root, "missing 'stages' (named stages, e.g. relax: {type: fire, fmax: 0.05})");
    } else {
        if (n->kind != BMD_Y_MAP) return bmd_yerr(r, n, "stages: expected a mapping of named stages");
        if (n->n == 0 && !stages_optional)
            return bmd_yerr(r, n, "stages: expected at least one named stage (e.g. relax: {type: fire, fmax: 0.05})");
        if (n->n > BMD_MAX_STAGES) return bmd_yerr(r, n, "stages: at most %d stages", BMD_MAX_STAGES);
        for (int i = 0; i < n->n; i++)
            if ((st = read_stage(r, n->keys[i], n->items[i], c))) return st;
    }

    if ((n = bmd_yaml_get(root, "pipeline", NULL))) {
        if ((st = read_pipeline(r, n, c))) return st;
    } else {
        c->n_groups = 1;
        c->group_size[0] = c->n_stages;
        for (int i = 0; i < c->n_stages; i++) c->group_stage[0][i] = i;
    }
    if ((n = bmd_yaml_get(root, "batch", NULL)) && (st = read_batch(r, n, c))) return st;
    if ((n = bmd_yaml_get(root, "output", NULL)) && (st = read_output(r, n, c))) return st;
    if ((n = bmd_yaml_get(root, "quarantine", NULL))) {
        static const char *const qkeys[] = {"max_force", "min_distance", "max_neighbors", NULL};
        if ((st = bmd_ycheck_keys(r, n, "quarantine", qkeys))) return st;
        if ((st = bmd_yget_number(r, n, "max_force", "quarantine", &c->quarantine.max_force, NULL))) return st;
        if ((st = bmd_yget_number(r, n, "min_distance", "quarantine", &c->quarantine.min_distance, NULL))) return st;
        if (c->quarantine.min_distance < 0)
            return bmd_yerr(r, bmd_yaml_get(n, "min_distance", NULL),
                            "quarantine.min_distance: expected a distance >= 0 (0: never)");
        if ((st = bmd_yget_long(r, n, "max_neighbors", "quarantine", 0, &c->quarantine.max_neighbors, NULL)))
            return st;
        if (c->quarantine.max_force < 0)
            return bmd_yerr(r, bmd_yaml_get(n, "max_force", NULL), "quarantine.max_force: expected a force >= 0 (0: never)");
    }
    return BMD_OK;
}

bmd_status bmd_campaign_load(const char *path, bmd_campaign *c) { return bmd_campaign_load_flags(path, 0, c); }

/* The common part of the loaders: name/dir set, defaults, then the tree. */
static bmd_status load_common(const char *name, const char *dir, const char *text, size_t len, int flags,
                              bmd_campaign *c) {
    memset(c, 0, sizeof *c);
    c->path = dup_str(name);
    if (dir) {
        c->dir = dup_str(dir);
    } else {
        const char *slash = strrchr(name, '/');
        c->dir = slash ? malloc((size_t)(slash - name) + 1) : dup_str(".");
        if (slash && c->dir) {
            memcpy(c->dir, name, (size_t)(slash - name));
            c->dir[slash - name] = '\0';
            if (slash == name) strcpy(c->dir, "/");
        }
    }
    if (!c->path || !c->dir) {
        bmd_campaign_free(c);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    }
    bmd_status st = set_defaults(c);
    bmd_ynode *root = NULL;
    if (!st) st = text ? bmd_yaml_load_text(text, len, name, &root) : bmd_yaml_load(name, &root);
    bmd_yread r = {name};
    if (!st) st = load_tree(&r, root, flags, c);
    bmd_yaml_free(root);
    if (st) bmd_campaign_free(c);
    return st;
}

bmd_status bmd_campaign_load_flags(const char *path, int flags, bmd_campaign *c) {
    return load_common(path, NULL, NULL, 0, flags, c);
}

bmd_status bmd_campaign_load_text(const char *text, const char *name, const char *dir, int flags, bmd_campaign *c) {
    return load_common(name, dir ? dir : ".", text, strlen(text), flags, c);
}

bmd_status bmd_campaign_make_stage(const bmd_campaign *c, int group, bmd_stage **out) {
    if (group < 0 || group >= c->n_groups) return bmd__fail(BMD_ERR_INVALID, "pipeline group %d out of range", group);
    bmd_units u = bmd_units_get(c->units);
    bmd_stage *st = NULL;
    bmd_status rc = bmd_stage_create(&u, c->seed, &st);
    /* sub-stages are numbered in pipeline order across '|' (RNG streams) */
    int offset = 0;
    for (int g = 0; g < group; g++) offset += c->group_size[g];
    if (!rc) bmd_stage_set_index_offset(st, offset);
    for (int i = 0; !rc && i < c->group_size[group]; i++) {
        const bmd_campaign_stage *s = &c->stages[c->group_stage[group][i]];
        bmd_dynamics *d = NULL;
        rc = s->type->create(s->values, &d);
        if (!rc) rc = bmd_stage_add(st, s->name, d, &s->conv);
        else bmd_dynamics_destroy(d);
        if (!rc && s->fix_com) rc = bmd_stage_set_fix_com(st, bmd_stage_count(st) - 1, 1);
    }
    if (rc) {
        bmd_stage_destroy(st);
        return rc;
    }
    *out = st;
    return BMD_OK;
}

void bmd_campaign_free(bmd_campaign *c) {
    if (!c) return;
    free(c->path);
    free(c->dir);
    free(c->model.pairs);
    for (int i = 0; i < c->model.n_files; i++) free(c->model.files[i]);
    free(c->model.files);
    free(c->model.kim_name);
    free(c->model.plugin_path);
    for (int i = 0; i < c->model.n_params; i++) {
        free(c->model.param_keys[i]);
        free(c->model.param_values[i]);
    }
    free(c->model.param_keys);
    free(c->model.param_values);
    free(c->model.py_module);
    free(c->model.py_object);
    for (int i = 0; i < c->model.n_py_params; i++) {
        free((char *)c->model.py_params[i].key);
        free((char *)c->model.py_params[i].text);
    }
    free(c->model.py_params);
    for (int i = 0; i < c->n_inputs; i++) free(c->inputs[i]);
    free(c->inputs);
    for (int i = 0; i < c->n_stages; i++) free(c->stages[i].name);
    free(c->output.final);
    free(c->output.failed);
    free(c->output.eval);
    free(c->output.trajectory.file);
    free(c->output.log.file);
    free(c->output.checkpoint);
    memset(c, 0, sizeof *c);
}
