/* campaign_model.c — owns the campaign's `model:` section (lj and morse pair
 * potentials with per-species-pair parameters) and building the model. */
#include "io/campaign_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchmd/elements.h"

/* Parameter names of each pair style, in bmd_pair_params.p order. */
typedef struct pair_style {
    const char *type;
    const char *p[3];
    int n_p;
} pair_style;

static const pair_style styles[] = {
    {"lj", {"epsilon", "sigma", NULL}, 2},
    {"morse", {"D0", "alpha", "r0"}, 3},
};

static const pair_style *find_style(const char *type) {
    for (size_t i = 0; i < sizeof styles / sizeof styles[0]; i++)
        if (strcmp(styles[i].type, type) == 0) return &styles[i];
    return NULL;
}

/* Reads the style's parameters and cutoff from map into e (keeps e's values
 * for absent keys). *all says whether every one was given. */
static bmd_status read_pair_values(const bmd_yread *r, const bmd_ynode *map, const char *where,
                                   const pair_style *ps, bmd_pair_params *e, int *all) {
    *all = 1;
    for (int k = 0; k < ps->n_p; k++) {
        int present;
        bmd_status st = bmd_yget_number(r, map, ps->p[k], where, &e->p[k], &present);
        if (st) return st;
        if (!present) *all = 0;
    }
    int present;
    bmd_status st = bmd_yget_number(r, map, "cutoff", where, &e->cutoff, &present);
    if (st) return st;
    if (present && !(e->cutoff > 0)) return bmd_yerr(r, bmd_yaml_get(map, "cutoff", NULL), "%s.cutoff: expected a positive distance", where);
    return BMD_OK;
}

static bmd_status species_z(const bmd_yread *r, const bmd_ynode *n, const char *where, int *z) {
    if (n->kind != BMD_Y_SCALAR) return bmd_yerr(r, n, "%s: expected a chemical symbol such as Ar", where);
    *z = bmd_element_from_symbol(n->value);
    if (*z <= 0) return bmd_yerr(r, n, "%s: unknown element '%s' (expected a chemical symbol such as Ar)", where, n->value);
    return BMD_OK;
}

bmd_status bmd__campaign_read_model(const bmd_yread *r, const bmd_ynode *node, bmd_campaign *c) {
    if (node->kind != BMD_Y_MAP) return bmd_yerr(r, node, "model: expected a mapping with a 'type' key");
    const char *type = NULL;
    int present;
    bmd_status st = bmd_yget_string(r, node, "type", "model", &type, &present);
    if (st) return st;
    if (!present) return bmd_yerr(r, node, "model: missing 'type' (expected lj or morse)");
    const pair_style *ps = find_style(type);
    if (!ps) {
        const bmd_ynode *t = bmd_yaml_get(node, "type", NULL);
        if (!strcmp(type, "kim") || !strcmp(type, "eam") || !strcmp(type, "plugin"))
            return bmd_yerr(r, t, "model.type: '%s' models are not available in this build yet (expected lj or morse)", type);
        return bmd_yerr(r, t, "model.type: unknown model type '%s' (expected lj or morse)", type);
    }
    snprintf(c->model.type, sizeof c->model.type, "%s", ps->type);

    const char *keys[12];
    int nk = 0;
    keys[nk++] = "type";
    for (int k = 0; k < ps->n_p; k++) keys[nk++] = ps->p[k];
    keys[nk++] = "cutoff";
    keys[nk++] = "shift";
    keys[nk++] = "skin";
    keys[nk++] = "pairs";
    keys[nk] = NULL;
    if ((st = bmd_ycheck_keys(r, node, "model", keys))) return st;

    /* defaults, then the top-level values (the default entry for every pair) */
    bmd_pair_params def = {0, 0, {NAN, NAN, NAN}, NAN};
    int all;
    if ((st = read_pair_values(r, node, "model", ps, &def, &all))) return st;
    c->model.opt.shift = 0;
    c->model.opt.skin = c->units == BMD_UNITS_LJ ? 0.3 : 0.5;
    if ((st = bmd_yget_bool(r, node, "shift", "model", &c->model.opt.shift, NULL))) return st;
    if ((st = bmd_yget_number(r, node, "skin", "model", &c->model.opt.skin, &present))) return st;
    if (present && c->model.opt.skin < 0) return bmd_yerr(r, bmd_yaml_get(node, "skin", NULL), "model.skin: expected a distance >= 0");

    const bmd_ynode *pairs = bmd_yaml_get(node, "pairs", NULL);
    int np = pairs ? pairs->n : 0;
    if (pairs && pairs->kind != BMD_Y_SEQ)
        return bmd_yerr(r, pairs, "model.pairs: expected a list of {species: [A, B], ...} entries");
    c->model.pairs = calloc((size_t)np + 1, sizeof *c->model.pairs);
    if (!c->model.pairs) return bmd__fail(BMD_ERR_NOMEM, "out of memory");
    c->model.n_pairs = 0;

    if (all) {
        if (isnan(def.cutoff)) def.cutoff = strcmp(ps->type, "lj") == 0 ? 2.5 * def.p[1] : NAN;
        if (isnan(def.cutoff)) return bmd_yerr(r, node, "model: missing 'cutoff' (a distance)");
        c->model.pairs[c->model.n_pairs++] = def;
        c->model.opt.has_default = 1;
    } else if (np == 0) {
        for (int k = 0; k < ps->n_p; k++)
            if (!bmd_yaml_get(node, ps->p[k], NULL))
                return bmd_yerr(r, node, "model: missing '%s' (%s needs %s%s%s%s%s, or per-pair values under 'pairs')",
                                ps->p[k], ps->type, ps->p[0], ps->n_p > 1 ? ", " : "", ps->n_p > 1 ? ps->p[1] : "",
                                ps->n_p > 2 ? ", " : "", ps->n_p > 2 ? ps->p[2] : "");
    }
    for (int i = 0; i < np; i++) {
        const bmd_ynode *e = pairs->items[i];
        char where[64];
        snprintf(where, sizeof where, "model.pairs[%d]", i);
        const char *pkeys[8];
        int n = 0;
        pkeys[n++] = "species";
        for (int k = 0; k < ps->n_p; k++) pkeys[n++] = ps->p[k];
        pkeys[n++] = "cutoff";
        pkeys[n] = NULL;
        if ((st = bmd_ycheck_keys(r, e, where, pkeys))) return st;
        const bmd_ynode *sp = bmd_yaml_get(e, "species", NULL);
        if (!sp || sp->kind != BMD_Y_SEQ || sp->n != 2)
            return bmd_yerr(r, sp ? sp : e, "%s.species: expected two chemical symbols, e.g. [Ar, Kr]", where);
        bmd_pair_params p = def;
        if ((st = species_z(r, sp->items[0], where, &p.z1)) || (st = species_z(r, sp->items[1], where, &p.z2))) return st;
        if ((st = read_pair_values(r, e, where, ps, &p, &all))) return st;
        for (int k = 0; k < ps->n_p; k++)
            if (isnan(p.p[k])) return bmd_yerr(r, e, "%s: missing '%s'", where, ps->p[k]);
        if (isnan(p.cutoff)) p.cutoff = strcmp(ps->type, "lj") == 0 ? 2.5 * p.p[1] : NAN;
        if (isnan(p.cutoff)) return bmd_yerr(r, e, "%s: missing 'cutoff'", where);
        for (int j = 0; j < c->model.n_pairs; j++) {
            const bmd_pair_params *q = &c->model.pairs[j];
            if ((q->z1 == p.z1 && q->z2 == p.z2) || (q->z1 == p.z2 && q->z2 == p.z1))
                return bmd_yerr(r, sp, "%s: species pair %s-%s given twice", where, bmd_element_symbol(p.z1), bmd_element_symbol(p.z2));
        }
        c->model.pairs[c->model.n_pairs++] = p;
    }
    return BMD_OK;
}

bmd_status bmd_campaign_make_model(const bmd_campaign *c, bmd_model **out) {
    if (strcmp(c->model.type, "lj") == 0)
        return bmd_model_lj_create(c->model.pairs, c->model.n_pairs, &c->model.opt, out);
    if (strcmp(c->model.type, "morse") == 0)
        return bmd_model_morse_create(c->model.pairs, c->model.n_pairs, &c->model.opt, out);
    return bmd__fail(BMD_ERR_UNSUPPORTED, "%s: model type '%s' is not available", c->path, c->model.type);
}
