/* dynamics.c — owns what every dynamics shares: destroy functions of
 * dynamics and hooks, the create-by-name convenience, cached column lookups,
 * per-system parameter blocks (stage values overridden from the info line),
 * Maxwell–Boltzmann initialisation on entry and the velocity-Verlet kick. */
#include "dynamics/dynamics_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bmd_dynamics_destroy(bmd_dynamics *d) {
    if (!d) return;
    if (d->ops && d->ops->destroy) d->ops->destroy(d->self);
    free(d);
}

void bmd_hook_destroy(bmd_hook *h) {
    if (!h) return;
    if (h->ops && h->ops->destroy) h->ops->destroy(h->self);
    free(h);
}

bmd_status bmd_dynamics_create(const char *type, const char *const *names, const double *values, int n,
                               bmd_dynamics **out) {
    const bmd_dynamics_type *t = bmd_dynamics_find(type);
    if (!t) return bmd__fail(BMD_ERR_NOT_FOUND, "unknown dynamics '%s'", type ? type : "(null)");
    double v[32];
    if (t->n_params > 32) return bmd__fail(BMD_ERR_INVALID, "dynamics '%s' has too many parameters", type);
    for (int p = 0; p < t->n_params; p++) v[p] = t->params[p].def;
    for (int i = 0; i < n; i++) {
        int p = 0;
        while (p < t->n_params && strcmp(t->params[p].name, names[i]) != 0) p++;
        if (p == t->n_params) return bmd__fail(BMD_ERR_INVALID, "dynamics '%s' has no parameter '%s'", type, names[i]);
        v[p] = values[i];
    }
    return t->create(v, out);
}

int bmd__column(bmd_batch *b, int *cache, const char *name, int per_atom, int width) {
    int c = *cache;
    if (c >= 0 && c < b->n_columns && b->columns[c].per_atom == per_atom && b->columns[c].width == width &&
        strcmp(b->columns[c].name, name) == 0)
        return c;
    if (bmd_batch_column(b, name, per_atom, width, &c)) return -1;
    *cache = c;
    return c;
}

void bmd__colname(char *out, const char *type, int substage, const char *what) {
    snprintf(out, BMD_COLUMN_NAME, "%s.%d.%s", type, substage, what);
}

void bmd__params_init(bmd__params *p, const char *type, const double *values) {
    const bmd_dynamics_type *t = bmd_dynamics_find(type);
    p->desc = t->params;
    p->n = t->n_params;
    for (int i = 0; i < p->n; i++) p->values[i] = values ? values[i] : p->desc[i].def;
}

const char *bmd_param_out_of_range(const bmd_param_desc *p, double x) {
    const char *expected = p->expected ? p->expected : "a finite number";
    if (!isfinite(x)) return expected;
    int whole = p->kind != BMD_PARAM_REAL && p->kind != BMD_PARAM_ITEM;
    if (whole && x != floor(x)) return expected;
    if (p->kind == BMD_PARAM_BOOL && x != 0 && x != 1) return expected;
    if (!p->expected) return NULL;
    int ok = (p->lo_open ? x > p->lo : x >= p->lo) && x <= p->hi;
    return ok ? NULL : expected;
}

const bmd_param_desc *bmd_dynamics_param(const bmd_dynamics_type *t, const char *name) {
    for (int i = 0; t && name && i < t->n_params; i++)
        if (strcmp(t->params[i].name, name) == 0) return &t->params[i];
    return NULL;
}

/* Whether a structure may override parameter d from its info line: not the
 * ones that size columns, nor words (a cell filter's name and mask). */
static int overridable(const bmd_param_desc *d) {
    return !d->stage_only && d->kind != BMD_PARAM_CHOICE && d->kind != BMD_PARAM_MASK;
}

void bmd__params_read(const bmd__params *p, bmd_batch *b, const unsigned char *enter, int col) {
    double *data = bmd_batch_column_data(b, col);
    for (int s = 0; s < b->n_systems; s++) {
        if (!enter[s] || b->status[s] < 0) continue;
        double *row = data + (size_t)s * (size_t)p->n;
        for (int i = 0; i < p->n; i++) {
            const bmd_param_desc *d = &p->desc[i];
            row[i] = p->values[i];
            int bad = overridable(d) && bmd_batch_param(b, s, d->name, p->values[i], &row[i]);
            /* an override outside what the dynamics accepts (the stage's own
             * values were checked when the campaign was read) */
            if (!bad && row[i] != p->values[i]) bad = !(d->optional && isnan(row[i])) && bmd_param_out_of_range(d, row[i]);
            if (bad) {
                char reason[80];
                snprintf(reason, sizeof reason, "invalid_param_%s", d->name);
                bmd_stage_fail(b, s, reason);
                break;
            }
        }
    }
}

bmd_status bmd__init_velocities(bmd_batch *b, const unsigned char *enter, const double *par, int width, int index,
                                const bmd_step_info *si, bmd_dof_rule rule) {
    int any = 0;
    for (int s = 0; s < b->n_systems && !any; s++) {
        double t = par[(size_t)s * (size_t)width + (size_t)index];
        any = enter[s] && b->status[s] >= 0 && isfinite(t) && t >= 0;
    }
    if (!any) return BMD_OK;
    unsigned char *mask = calloc((size_t)b->n_systems, 1);
    double *temp = calloc((size_t)b->n_systems, sizeof(double));
    if (!mask || !temp) {
        free(mask);
        free(temp);
        return bmd__fail(BMD_ERR_NOMEM, "out of memory initialising velocities");
    }
    for (int s = 0; s < b->n_systems; s++) {
        double t = par[(size_t)s * (size_t)width + (size_t)index];
        mask[s] = enter[s] && b->status[s] >= 0 && isfinite(t) && t >= 0;
        temp[s] = t;
    }
    bmd_velocities_maxwell_boltzmann(b, mask, temp, si->units, si->seed,
                                     BMD_RNG_STREAM(si->substage, BMD_RNG_VELOCITY_INIT), bmd__dof_rule(si, rule));
    free(mask);
    free(temp);
    return BMD_OK;
}

void bmd__half_kick(bmd_batch *b, int s, double dt, double ftm2v) {
    int a0 = b->atom_start[s], n = b->atom_count[s];
    double h = 0.5 * dt * ftm2v;
    double *v = b->vel + 3 * (size_t)a0;
    const double *f = b->force + 3 * (size_t)a0, *m = b->mass + a0;
    for (int i = 0; i < n; i++) {
        double c = h / m[i];
        v[3 * i] += c * f[3 * i];
        v[3 * i + 1] += c * f[3 * i + 1];
        v[3 * i + 2] += c * f[3 * i + 2];
    }
}

void bmd__kick_drift(bmd_batch *b, int s, double dt, double ftm2v) {
    bmd__half_kick(b, s, dt, ftm2v);
    double *x = b->pos + 3 * (size_t)b->atom_start[s];
    const double *v = b->vel + 3 * (size_t)b->atom_start[s];
    for (int j = 0; j < 3 * b->atom_count[s]; j++) x[j] += dt * v[j];
}
