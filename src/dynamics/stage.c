/* stage.c — owns the stage: k fused sub-stages (name, dynamics, convergence)
 * and their hooks, and the step loop of dynamics.h — forces first for
 * systems without valid ones, enter() of systems new in a sub-stage, the
 * step-0 convergence check, the nine hook points, one model evaluation per
 * step for every live system, per-system step counters and convergence
 * (ASE's fmax test, etol, step budget, per-structure overrides), the move
 * to the next sub-stage, quarantine (bmd_stage_fail), fusing two stages
 * into one (bmd_stage_fuse: the `+` of a pipeline), and the global index of
 * each sub-stage in its pipeline (bmd_stage_set_index_offset), which the
 * dynamics see as bmd_step_info.substage (RNG streams, column names).
 *
 * Per-system columns it keeps: "steps.<name>", "converged.<name>",
 * "stage.entered" (hash of the entered sub-stage's name), "stage.conv"
 * (fmax, etol, max_steps of the current sub-stage, after overrides),
 * "stage.eprev" (energy at the previous check, for etol) and
 * BMD_STAGE_STOP_COLUMN, and the atom order of neighbor/atom_order.h (a
 * spatial order of each system's atoms, renewed every bmd__order_every()
 * steps of its sub-stage, dropped when it enters one). Masks live in the stage and
 * grow with the batch: no allocation per step in steady state.
 *
 * Constraints (dynamics.h; constraints.h does the work): around every call
 * of a dynamics (enter, pre_update, post_update, force_residual) the
 * forces on fixed atoms read zero; after every update fixed atoms go back
 * (with the cell's map) and rest, and a fix_com sub-stage's centre-of-mass
 * momentum is removed. */
#include "dynamics/dynamics_internal.h"
#include "core/batch_internal.h"
#include "dynamics/constraints.h"
#include "core/checks.h"
#include "neighbor/atom_order.h"
#include "neighbor/neighbor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 32

typedef struct substage {
    char name[NAME_MAX_LEN + 1];
    bmd_dynamics *dyn;
    bmd_convergence conv;
    double key; /* value of "stage.entered" once a system has entered */
    int md;     /* an MD dynamics (not an optimizer): "steps" overrides max_steps too */
    bmd_dof_rule dof; /* its catalogue entry's (BMD_DOF_ALL when not in it),
                       * BMD_DOF_FIX_COM under fix_com */
    bmd_dof_rule own_dof; /* the catalogue entry's */
    int fix_com;      /* the centre-of-mass momentum held at zero */
    unsigned needs;   /* its dynamics' BMD_NEEDS_VIRIAL | BMD_MOVES_CELL */
    int c_steps, c_conv;
} substage;

struct bmd_stage {
    bmd_units units;
    uint64_t seed;
    int k, cap_sub;
    substage *sub;
    int n_hooks, cap_hooks;
    bmd_hook **hooks;
    int want_stress;
    int index_offset; /* global index of sub-stage 0 (bmd_stage_set_index_offset) */
    long loop_step;
    long max_neighbors; /* bmd_stage_set_max_neighbors; <= 0: no limit */
    int c_entered, c_convp, c_eprev, c_stop;
    long order_every;      /* steps between atom orders (atom_order.h); 0: none */
    int c_order, c_order_ver;
    int cap;               /* systems the buffers hold */
    unsigned char *live;   /* [cap] */
    unsigned char *masks;  /* [k * cap] sub-stage masks of the current step */
    unsigned char *tmp;    /* [cap] */
    signed char *leave;    /* [cap] -1 stays, 0 leaves unconverged, 1 converged */
    double *virial;        /* [6 cap] */
    double *fmax2;         /* [cap] the optimizers' largest squared force row (force_residual) */
    unsigned char *one;    /* [2 cap] a one-system mask, then which systems passed (isolate_failures) */
    bmd__hold hold;        /* fixed atoms' forces, positions and cells across a dynamics call */
};

/* ---------------------------------------------------------------- setup */

bmd_status bmd_stage_create(const bmd_units *units, uint64_t seed, bmd_stage **out) {
    bmd_stage *st = calloc(1, sizeof *st);
    if (!st) return bmd__fail(BMD_ERR_NOMEM, "out of memory creating a stage");
    st->units = *units;
    st->seed = seed;
    st->c_entered = st->c_convp = st->c_eprev = st->c_stop = -1;
    st->c_order = st->c_order_ver = -1;
    st->order_every = bmd__order_every();
    *out = st;
    return BMD_OK;
}

void bmd_stage_destroy(bmd_stage *st) {
    if (!st) return;
    for (int i = 0; i < st->k; i++) bmd_dynamics_destroy(st->sub[i].dyn);
    for (int h = 0; h < st->n_hooks; h++) bmd_hook_destroy(st->hooks[h]);
    free(st->sub);
    free(st->hooks);
    free(st->live);
    free(st->masks);
    free(st->tmp);
    free(st->leave);
    free(st->virial);
    free(st->fmax2);
    free(st->one);
    bmd__hold_free(&st->hold);
    free(st);
}

/* FNV-1a of the name, offset by 2^32 so that it is never 0 (a fresh row). */
static double name_key(const char *name) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) h = (h ^ *p) * 16777619u;
    return 4294967296.0 + (double)h;
}

bmd_status bmd_stage_add(bmd_stage *st, const char *name, bmd_dynamics *d, const bmd_convergence *conv) {
    bmd_status rc = BMD_OK;
    if (!name || !*name || strlen(name) > NAME_MAX_LEN)
        rc = bmd__fail(BMD_ERR_INVALID, "stage name '%s' must have 1 to %d characters", name ? name : "",
                       NAME_MAX_LEN);
    else if (!d || !d->ops || !d->ops->enter || !d->ops->pre_update)
        rc = bmd__fail(BMD_ERR_INVALID, "stage '%s': incomplete dynamics", name);
    else if (!conv || conv->max_steps < 0)
        rc = bmd__fail(BMD_ERR_INVALID, "stage '%s': max_steps must be >= 0", name);
    for (int i = 0; !rc && i < st->k; i++)
        if (strcmp(st->sub[i].name, name) == 0) rc = bmd__fail(BMD_ERR_INVALID, "stage '%s' added twice", name);
    if (!rc && st->k == st->cap_sub) {
        int cap = st->cap_sub ? 2 * st->cap_sub : 4;
        substage *p = realloc(st->sub, (size_t)cap * sizeof *p);
        if (!p) rc = bmd__fail(BMD_ERR_NOMEM, "out of memory adding stage '%s'", name);
        else {
            st->sub = p;
            st->cap_sub = cap;
        }
    }
    if (rc) {
        bmd_dynamics_destroy(d);
        return rc;
    }
    substage *s = &st->sub[st->k];
    memset(s, 0, sizeof *s);
    strcpy(s->name, name);
    s->dyn = d;
    s->conv = *conv;
    s->key = name_key(name);
    const bmd_dynamics_type *t = bmd_dynamics_find(d->ops->type);
    s->md = t && !t->is_optimizer;
    s->dof = s->own_dof = t ? t->dof : BMD_DOF_ALL;
    s->needs = d->needs;
    if (d->needs & BMD_NEEDS_VIRIAL) st->want_stress = 1;
    s->c_steps = s->c_conv = -1;
    st->k++;
    st->cap = 0; /* masks are k * cap: regrow */
    return BMD_OK;
}

bmd_status bmd_stage_add_hook(bmd_stage *st, bmd_hook *h) {
    if (!h || !h->ops || !h->ops->call) {
        bmd_hook_destroy(h);
        return bmd__fail(BMD_ERR_INVALID, "incomplete hook");
    }
    if (h->every < 1) h->every = 1;
    if (st->n_hooks == st->cap_hooks) {
        int cap = st->cap_hooks ? 2 * st->cap_hooks : 4;
        bmd_hook **p = realloc(st->hooks, (size_t)cap * sizeof *p);
        if (!p) {
            bmd_hook_destroy(h);
            return bmd__fail(BMD_ERR_NOMEM, "out of memory adding a hook");
        }
        st->hooks = p;
        st->cap_hooks = cap;
    }
    st->hooks[st->n_hooks++] = h;
    return BMD_OK;
}

bmd_status bmd_stage_fuse(bmd_stage *a, bmd_stage *b) {
    bmd_status rc = BMD_OK;
    if (!a || !b || a == b)
        rc = bmd__fail(BMD_ERR_INVALID, "bmd_stage_fuse: two distinct stages expected");
    else if (a->units.kind != b->units.kind)
        rc = bmd__fail(BMD_ERR_INVALID, "bmd_stage_fuse: the stages use different units");
    else if (a->seed != b->seed)
        rc = bmd__fail(BMD_ERR_INVALID, "bmd_stage_fuse: the stages have different seeds");
    for (int i = 0; !rc && i < b->k; i++)
        for (int j = 0; !rc && j < a->k; j++)
            if (strcmp(b->sub[i].name, a->sub[j].name) == 0)
                rc = bmd__fail(BMD_ERR_INVALID, "bmd_stage_fuse: stage '%s' is in both", a->sub[j].name);
    if (!rc && a->k + b->k > a->cap_sub) {
        substage *p = realloc(a->sub, (size_t)(a->k + b->k) * sizeof *p);
        if (!p) rc = bmd__fail(BMD_ERR_NOMEM, "out of memory fusing stages");
        else {
            a->sub = p;
            a->cap_sub = a->k + b->k;
        }
    }
    if (!rc && a->n_hooks + b->n_hooks > a->cap_hooks) {
        bmd_hook **p = realloc(a->hooks, (size_t)(a->n_hooks + b->n_hooks) * sizeof *p);
        if (!p) rc = bmd__fail(BMD_ERR_NOMEM, "out of memory fusing stages");
        else {
            a->hooks = p;
            a->cap_hooks = a->n_hooks + b->n_hooks;
        }
    }
    if (rc) {
        bmd_stage_destroy(b == a ? NULL : b);
        return rc;
    }
    for (int i = 0; i < b->k; i++) {
        a->sub[a->k] = b->sub[i];
        a->sub[a->k].c_steps = a->sub[a->k].c_conv = -1;
        a->k++;
    }
    for (int h = 0; h < b->n_hooks; h++) a->hooks[a->n_hooks++] = b->hooks[h];
    a->want_stress |= b->want_stress;
    a->cap = 0; /* masks are k * cap: regrow */
    b->k = b->n_hooks = 0;
    bmd_stage_destroy(b);
    return BMD_OK;
}

/* (a dynamics that needs the virial keeps it asked for) */
void bmd_stage_want_stress(bmd_stage *st, int want) {
    int need = 0;
    for (int i = 0; i < st->k; i++) need |= (st->sub[i].needs & BMD_NEEDS_VIRIAL) != 0;
    st->want_stress = want != 0 || need;
}
void bmd_stage_set_index_offset(bmd_stage *st, int offset) { st->index_offset = offset > 0 ? offset : 0; }
int bmd_stage_index_offset(const bmd_stage *st) { return st->index_offset; }
int bmd_stage_count(const bmd_stage *st) { return st->k; }
const char *bmd_stage_name(const bmd_stage *st, int i) { return (i >= 0 && i < st->k) ? st->sub[i].name : NULL; }
bmd_dof_rule bmd_stage_dof(const bmd_stage *st, int i) { return (i >= 0 && i < st->k) ? st->sub[i].dof : BMD_DOF_ALL; }

bmd_status bmd_stage_set_fix_com(bmd_stage *st, int i, int on) {
    if (i < 0 || i >= st->k) return bmd__fail(BMD_ERR_INVALID, "fix_com: no sub-stage %d (the stage has %d)", i, st->k);
    substage *sub = &st->sub[i];
    if (!sub->md)
        return bmd__fail(BMD_ERR_INVALID, "stage '%s': fix_com is for MD stages (an optimizer moves no velocities)",
                         sub->name);
    sub->fix_com = on != 0;
    sub->dof = sub->fix_com ? BMD_DOF_FIX_COM : sub->own_dof;
    return BMD_OK;
}
const bmd_units *bmd_stage_units(const bmd_stage *st) { return &st->units; }
long bmd_stage_loop_step(const bmd_stage *st) { return st->loop_step; }
void bmd_stage_set_loop_step(bmd_stage *st, long step) { st->loop_step = step; }

void bmd_stage_set_max_neighbors(bmd_stage *st, long max_neighbors) { st->max_neighbors = max_neighbors; }

/* Whether new system s breaks an input limit that would fail the model's
 * whole batch or exhaust its memory; if so it leaves with the reason. */
static bmd_status check_arrival(bmd_stage *st, bmd_batch *b, int s, double range, int *out) {
    const double *cell = b->cell + 9 * (size_t)s;
    const unsigned char *pbc = b->pbc + 3 * (size_t)s;
    const char *why = NULL;
    *out = 0;
    if (range <= 0) return BMD_OK;
    /* a cell too thin for the model's range (core/checks.h) */
    if (bmd__cell_too_thin(cell, pbc, range)) why = "cell_too_thin";
    if (!why && st->max_neighbors > 0) {
        long most = 0;
        bmd_status rc = bmd__max_neighbors(b->atom_count[s], b->pos + 3 * (size_t)b->atom_start[s], cell, pbc, range,
                                           st->max_neighbors, &most, NULL);
        if (rc == BMD_ERR_NOMEM || (!rc && most > st->max_neighbors)) why = "too_many_neighbors";
        /* other errors (non-finite positions) are the NaN quarantine's */
    }
    if (!why) return BMD_OK;
    *out = 1;
    return bmd_stage_fail(b, s, why);
}

/* After an update that moved cells: a system whose cell became degenerate
 * (a periodic axis lost its volume) or too thin for the model's range
 * leaves with that reason before its evaluation; the rest go on. */
static bmd_status check_moved_cells(bmd_stage *st, bmd_batch *b, const unsigned char *mask, double range) {
    (void)st;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s] || b->status[s] < 0) continue;
        const double *cell = b->cell + 9 * (size_t)s;
        const unsigned char *pbc = b->pbc + 3 * (size_t)s;
        int finite = 1;
        for (int k = 0; k < 9; k++) finite &= isfinite(cell[k]) != 0;
        const char *why = NULL;
        if (!finite || bmd__cell_degenerate(cell, pbc)) why = "cell_degenerate";
        else if (range > 0 && bmd__cell_too_thin(cell, pbc, range)) why = "cell_too_thin";
        if (why) {
            bmd_status rc = bmd_stage_fail(b, s, why);
            if (rc) return rc;
        }
    }
    return BMD_OK;
}

int bmd_stage_steps_column(const bmd_stage *st, bmd_batch *b, int i) {
    if (i < 0 || i >= st->k) return -1;
    char name[BMD_COLUMN_NAME];
    snprintf(name, sizeof name, "steps.%s", st->sub[i].name);
    int c = -1;
    return bmd_batch_column(b, name, 0, 1, &c) ? -1 : c;
}

int bmd_stage_converged_column(const bmd_stage *st, bmd_batch *b, int i) {
    if (i < 0 || i >= st->k) return -1;
    char name[BMD_COLUMN_NAME];
    snprintf(name, sizeof name, "converged.%s", st->sub[i].name);
    int c = -1;
    return bmd_batch_column(b, name, 0, 1, &c) ? -1 : c;
}

bmd_status bmd_stage_fail(bmd_batch *b, int slot, const char *reason) {
    if (slot < 0 || slot >= b->n_systems) return bmd__fail(BMD_ERR_INVALID, "slot %d out of range", slot);
    b->status[slot] = BMD_STATUS_FAILED;
    return bmd_info_set(&b->info[slot], "status", reason && *reason ? reason : "failed");
}

int bmd_stage_live(const bmd_stage *st, const bmd_batch *b) {
    int n = 0;
    for (int s = 0; s < b->n_systems; s++) n += b->status[s] >= 0 && b->status[s] < st->k;
    return n;
}

/* ------------------------------------------------------------- per step */

static bmd_status ensure_buffers(bmd_stage *st, int ns) {
    if (ns <= st->cap && st->live) return BMD_OK;
    int cap = st->cap > 16 ? st->cap : 16;
    while (cap < ns) cap *= 2;
    int k = st->k > 0 ? st->k : 1;
    unsigned char *live = realloc(st->live, (size_t)cap);
    if (live) st->live = live;
    unsigned char *masks = realloc(st->masks, (size_t)cap * (size_t)k);
    if (masks) st->masks = masks;
    unsigned char *tmp = realloc(st->tmp, (size_t)cap);
    if (tmp) st->tmp = tmp;
    signed char *leave = realloc(st->leave, (size_t)cap);
    if (leave) st->leave = leave;
    double *virial = realloc(st->virial, 6 * (size_t)cap * sizeof(double));
    if (virial) st->virial = virial;
    double *f2 = realloc(st->fmax2, (size_t)cap * sizeof(double));
    if (f2) st->fmax2 = f2;
    unsigned char *one = realloc(st->one, 2 * (size_t)cap);
    if (one) st->one = one;
    if (!live || !masks || !tmp || !leave || !virial || !f2 || !one)
        return bmd__fail(BMD_ERR_NOMEM, "out of memory in the stage");
    st->cap = cap;
    return BMD_OK;
}

static bmd_status ensure_columns(bmd_stage *st, bmd_batch *b) {
    char name[BMD_COLUMN_NAME];
    if (bmd__column(b, &st->c_entered, "stage.entered", 0, 1) < 0) return BMD_ERR_BUDGET;
    if (bmd__column(b, &st->c_convp, "stage.conv", 0, 3) < 0) return BMD_ERR_BUDGET;
    if (bmd__column(b, &st->c_eprev, "stage.eprev", 0, 1) < 0) return BMD_ERR_BUDGET;
    if (bmd__column(b, &st->c_stop, BMD_STAGE_STOP_COLUMN, 0, 1) < 0) return BMD_ERR_BUDGET;
    for (int i = 0; i < st->k; i++) {
        snprintf(name, sizeof name, "steps.%s", st->sub[i].name);
        if (bmd__column(b, &st->sub[i].c_steps, name, 0, 1) < 0) return BMD_ERR_BUDGET;
        snprintf(name, sizeof name, "converged.%s", st->sub[i].name);
        if (bmd__column(b, &st->sub[i].c_conv, name, 0, 1) < 0) return BMD_ERR_BUDGET;
    }
    return BMD_OK;
}

static int is_live(const bmd_stage *st, const bmd_batch *b, int s) { return b->status[s] >= 0 && b->status[s] < st->k; }

/* Whether live system s needs a model evaluation before it may move: no
 * valid forces, or forces without the stress its sub-stage needs (a system
 * handed over, or resumed, from a stage that did not ask for the virial;
 * only a cell periodic along a, b and c has one). */
static int needs_evaluation(const bmd_stage *st, const bmd_batch *b, int s) {
    if (!b->forces_valid[s]) return 1;
    const unsigned char *pbc = b->pbc + 3 * (size_t)s;
    return (st->sub[b->status[s]].needs & BMD_NEEDS_VIRIAL) && !b->stress_valid[s] && pbc[0] && pbc[1] && pbc[2];
}

/* Calls the hooks listening at `point`; every hook at ON_CONVERGE, the others
 * on loop steps that are multiples of their `every`. */
static bmd_status call_hooks(bmd_stage *st, bmd_batch *b, bmd_hook_point point, int substage,
                             const unsigned char *mask) {
    if (st->n_hooks == 0) return BMD_OK;
    bmd_hook_ctx ctx = {b, point, st->loop_step, substage, mask, st, &st->units};
    for (int h = 0; h < st->n_hooks; h++) {
        bmd_hook *hk = st->hooks[h];
        if (!(hk->points & (unsigned)point)) continue;
        if (point != BMD_HOOK_ON_CONVERGE && st->loop_step % hk->every != 0) continue;
        bmd_status rc = hk->ops->call(hk->self, &ctx);
        if (rc) return rc;
    }
    return BMD_OK;
}

/* Drops from mask the systems no longer in sub-stage i (taken out by a hook);
 * returns how many remain. */
static int refresh_mask(const bmd_batch *b, unsigned char *mask, int i) {
    int any = 0;
    for (int s = 0; s < b->n_systems; s++) {
        if (mask[s] && b->status[s] != i) mask[s] = 0;
        any += mask[s];
    }
    return any;
}

static int refresh_live(const bmd_stage *st, const bmd_batch *b) {
    int any = 0;
    for (int s = 0; s < b->n_systems; s++) {
        st->live[s] = (unsigned char)is_live(st, b, s);
        any += st->live[s];
    }
    return any;
}

/* One model evaluation for the masked systems: energy, forces, and the
 * virial (stress = W / V for fully periodic systems) when the stage wants
 * stress. */
/* After a model error that may concern single systems (model.h's
 * isolate_failures): each masked system evaluated alone (a system's numbers
 * do not depend on the others: the same bits); those that fail alone leave
 * as "model_failed" and drop out of mask. When every one fails, the error
 * is the run's. */
static bmd_status isolate_failures(bmd_stage *st, bmd_batch *b, bmd_model *m, unsigned char *mask, bmd_status rc) {
    unsigned char *one = st->one, *good = st->one + st->cap;
    memset(one, 0, (size_t)b->n_systems);
    int ok = 0;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s]) continue;
        one[s] = 1;
        bmd_compute_request req = {one, b->energy, b->force, st->want_stress ? st->virial : NULL, NULL};
        good[s] = bmd_model_compute(m, b, &req) == BMD_OK;
        ok += good[s];
        one[s] = 0;
    }
    if (!ok) return rc;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s] || good[s]) continue;
        mask[s] = 0;
        if ((rc = bmd_stage_fail(b, s, "model_failed"))) return rc;
    }
    return BMD_OK;
}

static bmd_status evaluate(bmd_stage *st, bmd_batch *b, bmd_model *m, unsigned char *mask) {
    bmd_compute_request req = {mask, b->energy, b->force, st->want_stress ? st->virial : NULL, NULL};
    bmd_status rc = bmd_model_compute(m, b, &req);
    if (rc == BMD_ERR_RUNTIME && m->isolate_failures) rc = isolate_failures(st, b, m, mask, rc);
    if (rc) return rc;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s]) continue;
        b->forces_valid[s] = 1;
        b->stress_valid[s] = 0;
        if (st->want_stress) bmd__batch_stress_from_virial(b, s, st->virial + 6 * (size_t)s);
    }
    return BMD_OK;
}

/* max_i |F_i|² of slot s, summed as ASE's (forces**2).sum(axis=1).max(). */
static double fmax2(const bmd_batch *b, int s) {
    const double *f = b->force + 3 * (size_t)b->atom_start[s];
    double m = 0;
    for (int i = 0; i < b->atom_count[s]; i++) {
        double f2 = f[3 * i] * f[3 * i] + f[3 * i + 1] * f[3 * i + 1] + f[3 * i + 2] * f[3 * i + 2];
        if (isnan(f2)) return f2; /* numpy's max propagates NaN */
        if (f2 > m) m = f2;
    }
    return m;
}

/* st->fmax2[s] for the masked systems: the largest squared force row each
 * one's optimizer sees (its force_residual: a cell filter's rows too), or
 * the atoms' (ASE's test); NAN for MD sub-stages (no fmax test). */
static bmd_status force_rows_held(bmd_stage *st, bmd_batch *b, const unsigned char *mask) {
    for (int s = 0; s < b->n_systems; s++) st->fmax2[s] = mask[s] ? fmax2(b, s) : NAN;
    for (int i = 0; i < st->k; i++) {
        substage *sub = &st->sub[i];
        if (!sub->dyn->ops->force_residual) continue;
        unsigned char *m = st->tmp;
        int any = 0;
        for (int s = 0; s < b->n_systems; s++) any |= m[s] = mask[s] && b->status[s] == i;
        if (!any) continue;
        bmd_step_info si = {&st->units, st->seed, st->index_offset + i, bmd_batch_column_data(b, sub->c_steps),
                            sub->dof};
        bmd_status rc = sub->dyn->ops->force_residual(sub->dyn->self, b, m, st->fmax2, &si);
        if (rc) return rc;
    }
    return BMD_OK;
}

/* force_rows_held with the forces the optimizers see: zero on fixed atoms
 * (ASE's test on atoms.get_forces(), constraints applied). */
static bmd_status force_rows(bmd_stage *st, bmd_batch *b, const unsigned char *mask) {
    bmd_status rc = bmd__hold_forces(&st->hold, b, mask);
    if (rc) return rc;
    rc = force_rows_held(st, b, mask);
    bmd__release_forces(&st->hold, b, mask);
    return rc;
}

bmd_status bmd_stage_conserved(const bmd_stage *st, bmd_batch *b, const unsigned char *mask, unsigned char *scratch,
                               double *out) {
    unsigned char *m = scratch; /* not the stage's buffers: hooks call this with them in use */
    for (int s = 0; s < b->n_systems; s++) out[s] = NAN;
    for (int i = 0; i < st->k; i++) {
        const substage *sub = &st->sub[i];
        if (!sub->dyn->ops->extended_energy) continue;
        int any = 0;
        for (int s = 0; s < b->n_systems; s++) any |= m[s] = mask[s] && b->status[s] == i;
        if (!any) continue;
        int c = bmd_stage_steps_column(st, b, i);
        if (c < 0) return BMD_ERR_BUDGET;
        bmd_step_info si = {&st->units, st->seed, st->index_offset + i, bmd_batch_column_data(b, c), sub->dof};
        bmd_status rc = sub->dyn->ops->extended_energy(sub->dyn->self, b, m, out, &si);
        if (rc) return rc;
        for (int s = 0; s < b->n_systems; s++)
            if (m[s]) out[s] += bmd_kinetic_energy(b, s, &st->units) + b->energy[s];
    }
    return BMD_OK;
}

/* Fills st->leave[s] for the masked systems: -1 stays, 1 converged, 0 left
 * unconverged (budget spent or stop requested). Updates "stage.eprev".
 * Needs force_rows() for them first. */
static void check_convergence(bmd_stage *st, bmd_batch *b, const unsigned char *mask) {
    const double *convp = bmd_batch_column_data(b, st->c_convp);
    double *eprev = bmd_batch_column_data(b, st->c_eprev);
    const double *stop = bmd_batch_column_data(b, st->c_stop);
    int ns = b->n_systems;
    BMD__OMP_FOR_SYSTEMS(bmd__parallel(b))
    for (int s = 0; s < ns; s++) {
        if (!mask[s]) continue;
        const double *cv = convp + 3 * (size_t)s;
        int i = b->status[s];
        double steps = bmd_batch_column_data(b, st->sub[i].c_steps)[s];
        double fmax = cv[0], etol = cv[1], max_steps = cv[2];
        int criteria = fmax > 0 || etol > 0, conv = criteria;
        if (fmax > 0) conv = conv && st->fmax2[s] < fmax * fmax;
        if (etol > 0) conv = conv && fabs(b->energy[s] - eprev[s]) < etol;
        eprev[s] = b->energy[s];
        if (conv) st->leave[s] = 1;
        else if (steps >= max_steps) st->leave[s] = (signed char)!criteria;
        else if (stop[s] != 0) st->leave[s] = 0;
        else st->leave[s] = -1;
    }
}

/* Systems of sub-stage i with leave[s] >= 0 leave it: converged.i, the
 * ON_CONVERGE hooks, then status i + 1. Clears their leave[s]. */
static bmd_status leave_substage(bmd_stage *st, bmd_batch *b, int i, const unsigned char *cand) {
    unsigned char *mask = st->tmp;
    int any = 0;
    double *conv = bmd_batch_column_data(b, st->sub[i].c_conv);
    for (int s = 0; s < b->n_systems; s++) {
        mask[s] = cand[s] && b->status[s] == i && st->leave[s] >= 0;
        if (mask[s]) {
            conv[s] = st->leave[s] > 0;
            st->leave[s] = -1;
            any = 1;
        }
    }
    if (!any) return BMD_OK;
    bmd_status rc = call_hooks(st, b, BMD_HOOK_ON_CONVERGE, i, mask);
    if (rc) return rc;
    for (int s = 0; s < b->n_systems; s++)
        if (mask[s] && b->status[s] == i) b->status[s] = i + 1;
    return BMD_OK;
}

/* ------------------------------------------------------- atom order */

/* The order columns, created at the first order (16 bytes per atom that a
 * short run does without); 0, or 1 when the batch has no room for them. */
static int order_columns(bmd_stage *st, bmd_batch *b, int create) {
    if (!create && bmd_batch_find_column(b, BMD__ORDER_COLUMN) < 0) return 1;
    return bmd__column(b, &st->c_order, BMD__ORDER_COLUMN, 1, BMD__ORDER_WIDTH) < 0 ||
           bmd__column(b, &st->c_order_ver, BMD__ORDER_VERSION_COLUMN, 0, 1) < 0;
}

/* Drops system s's atom order (back to the batch's order). */
static void order_drop(bmd_stage *st, bmd_batch *b, int s) {
    if (st->order_every <= 0 || order_columns(st, b, 0)) return;
    double *ord = bmd_batch_column_data(b, st->c_order) + BMD__ORDER_WIDTH * (size_t)b->atom_start[s];
    if (ord[0] == 0) return;
    for (int a = 0; a < BMD__ORDER_WIDTH * b->atom_count[s]; a++) ord[a] = 0;
    bmd_batch_column_data(b, st->c_order_ver)[s] += 1;
}

/* a molecule or cluster this small fits in the first-level cache in any
 * order, and has no images to bring back: not worth a list rebuild */
#define ORDER_MIN_ATOMS 128

/* A new atom order for the masked systems that have made a positive
 * multiple of order_every steps in their sub-stage (steps[]), but for small
 * non-periodic ones; bins of half the model's range, LAMMPS's default for
 * its sort. A system whose order cannot be made (out of memory, positions
 * not finite: the next evaluation takes it out) keeps its former one. */
static void order_due(bmd_stage *st, bmd_batch *b, const unsigned char *mask, const double *steps, double range) {
    if (st->order_every <= 0 || !(range > 0)) return;
    const double every = (double)st->order_every;
    for (int s = 0; s < b->n_systems; s++) {
        if (!mask[s] || !(steps[s] > 0) || fmod(steps[s], every) != 0) continue;
        const unsigned char *pbc = b->pbc + 3 * (size_t)s;
        if (b->atom_count[s] < ORDER_MIN_ATOMS && !pbc[0] && !pbc[1] && !pbc[2]) continue;
        if (order_columns(st, b, 1)) return; /* (no room: the batch's order) */
        double *ord = bmd_batch_column_data(b, st->c_order) + BMD__ORDER_WIDTH * (size_t)b->atom_start[s];
        if (bmd__order_atoms(b->atom_count[s], b->pos + 3 * (size_t)b->atom_start[s], b->cell + 9 * (size_t)s,
                             b->pbc + 3 * (size_t)s, 0.5 * range, ord))
            continue;
        bmd_batch_column_data(b, st->c_order_ver)[s] += 1;
    }
}

/* enter() for every live system not yet in its sub-stage, with the step-0
 * convergence check; systems that leave at once enter the next sub-stage in
 * the same pass. */
static bmd_status enter_pass(bmd_stage *st, bmd_batch *b) {
    double *entered = bmd_batch_column_data(b, st->c_entered);
    double *convp = bmd_batch_column_data(b, st->c_convp);
    double *eprev = bmd_batch_column_data(b, st->c_eprev);
    double *stop = bmd_batch_column_data(b, st->c_stop);
    for (int i = 0; i < st->k; i++) {
        substage *sub = &st->sub[i];
        unsigned char *mask = st->masks + (size_t)i * (size_t)st->cap;
        double *steps = bmd_batch_column_data(b, sub->c_steps);
        double *conv = bmd_batch_column_data(b, sub->c_conv);
        int any = 0;
        for (int s = 0; s < b->n_systems; s++) {
            mask[s] = b->status[s] == i && entered[s] != sub->key;
            if (!mask[s]) continue;
            steps[s] = 0;
            conv[s] = 0;
            entered[s] = sub->key;
            order_drop(st, b, s);
            eprev[s] = NAN;
            stop[s] = 0;
            double *cv = convp + 3 * (size_t)s;
            if (bmd_batch_param(b, s, "fmax", sub->conv.fmax, &cv[0]) ||
                bmd_batch_param(b, s, "etol", sub->conv.etol, &cv[1]) ||
                bmd_batch_param(b, s, sub->md ? "steps" : "max_steps", (double)sub->conv.max_steps, &cv[2]) ||
                (sub->md && bmd_batch_param(b, s, "max_steps", cv[2], &cv[2]))) {
                bmd_stage_fail(b, s, "invalid_param_convergence");
                mask[s] = 0;
                continue;
            }
            any = 1;
        }
        if (!any) continue;
        bmd_step_info si = {&st->units, st->seed, st->index_offset + i, steps, sub->dof};
        /* velocities as the constraints allow them from the start (an
         * init_temperature draws its own, under the same constraints) */
        bmd__rest_fixed(b, mask);
        if (sub->fix_com) bmd__remove_com_momentum(b, mask);
        bmd_status rc = bmd__hold_forces(&st->hold, b, mask);
        if (rc) return rc;
        rc = sub->dyn->ops->enter(sub->dyn->self, b, mask, &si);
        bmd__release_forces(&st->hold, b, mask);
        if (rc) return rc;
        if (!refresh_mask(b, mask, i)) continue;
        if ((rc = force_rows(st, b, mask))) return rc;
        check_convergence(st, b, mask);
        if ((rc = leave_substage(st, b, i, mask))) return rc;
    }
    return BMD_OK;
}

/* One update (pre_update or post_update) of sub-stage sub under the
 * constraints: the dynamics see zero force on fixed atoms; afterwards the
 * model's forces are back, fixed atoms are where they were (carried with
 * the cell) and at rest, and under fix_com the centre-of-mass momentum is
 * zero. */
static bmd_status update(bmd_stage *st, bmd_batch *b, const substage *sub, const unsigned char *mask,
                         const bmd_step_info *si,
                         bmd_status (*fn)(void *, bmd_batch *, const unsigned char *, const bmd_step_info *)) {
    bmd_status rc = bmd__hold_forces(&st->hold, b, mask);
    if (rc) return rc;
    rc = bmd__hold_positions(&st->hold, b, mask);
    if (!rc) rc = fn(sub->dyn->self, b, mask, si);
    bmd__release_forces(&st->hold, b, mask);
    if (rc) return rc;
    bmd__restore_positions(&st->hold, b, mask);
    if (sub->fix_com) bmd__remove_com_momentum(b, mask);
    return BMD_OK;
}

bmd_status bmd_stage_open(bmd_stage *st, bmd_batch *b) {
    for (int h = 0; h < st->n_hooks; h++) {
        bmd_hook *hk = st->hooks[h];
        if (!hk->ops->open) continue;
        bmd_status rc = hk->ops->open(hk->self, st, b);
        if (rc) return rc;
    }
    return BMD_OK;
}

bmd_status bmd_stage_close(bmd_stage *st) {
    bmd_status first = BMD_OK;
    for (int h = 0; h < st->n_hooks; h++) {
        bmd_hook *hk = st->hooks[h];
        if (!hk->ops->close) continue;
        bmd_status rc = hk->ops->close(hk->self);
        if (rc && !first) first = rc;
    }
    return first;
}

bmd_status bmd_stage_step(bmd_stage *st, bmd_batch *b, bmd_model *m) {
    int ns = b->n_systems;
    if (st->k == 0 || ns == 0) return BMD_OK;
    bmd_status rc = ensure_buffers(st, ns);
    if (!rc) rc = ensure_columns(st, b);
    if (rc) return rc;
    if (!refresh_live(st, b)) return BMD_OK;
    st->loop_step++;

    /* forces first: no system takes an update with stale or zero forces */
    int any = 0;
    double range = m->ops->cutoff ? m->ops->cutoff(m->self) : 0.0;
    for (int s = 0; s < ns; s++) {
        st->tmp[s] = st->live[s] && needs_evaluation(st, b, s);
        /* a new system that would fail the model's whole batch (a cell too
         * thin for its range) or exhaust its memory (far too many
         * neighbors) leaves alone, before its first evaluation */
        int out = 0;
        if (st->tmp[s] && (rc = check_arrival(st, b, s, range, &out))) return rc;
        if (out) st->tmp[s] = st->live[s] = 0;
        any |= st->tmp[s];
    }
    /* AFTER_COMPUTE for them too, before enter() and the step-0 convergence
     * check: a quarantine hook (nan, fclamp) sees every evaluation before a
     * system can leave on it */
    if (any && ((rc = evaluate(st, b, m, st->tmp)) || (rc = call_hooks(st, b, BMD_HOOK_AFTER_COMPUTE, -1, st->tmp))))
        return rc;

    if ((rc = enter_pass(st, b))) return rc;
    if (!refresh_live(st, b)) return BMD_OK;

    if ((rc = call_hooks(st, b, BMD_HOOK_BEFORE_STEP, -1, st->live))) return rc;

    for (int i = 0; i < st->k; i++) {
        unsigned char *mask = st->masks + (size_t)i * (size_t)st->cap;
        for (int s = 0; s < ns; s++) mask[s] = b->status[s] == i;
    }
    for (int i = 0; i < st->k; i++) {
        substage *sub = &st->sub[i];
        unsigned char *mask = st->masks + (size_t)i * (size_t)st->cap;
        if (!refresh_mask(b, mask, i)) continue;
        if ((rc = call_hooks(st, b, BMD_HOOK_BEFORE_PRE_UPDATE, i, mask))) return rc;
        if (!refresh_mask(b, mask, i)) continue;
        bmd_step_info si = {&st->units, st->seed, st->index_offset + i, bmd_batch_column_data(b, sub->c_steps),
                            sub->dof};
        if ((rc = update(st, b, sub, mask, &si, sub->dyn->ops->pre_update))) return rc;
        for (int s = 0; s < ns; s++)
            if (mask[s]) b->forces_valid[s] = 0;
        if ((sub->needs & BMD_MOVES_CELL) && (rc = check_moved_cells(st, b, mask, range))) return rc;
        if (!refresh_mask(b, mask, i)) continue;
        order_due(st, b, mask, si.steps, range);
        if ((rc = call_hooks(st, b, BMD_HOOK_AFTER_PRE_UPDATE, i, mask))) return rc;
    }

    if (!refresh_live(st, b)) return BMD_OK;
    if ((rc = call_hooks(st, b, BMD_HOOK_BEFORE_COMPUTE, -1, st->live))) return rc;
    if (refresh_live(st, b)) {
        if ((rc = evaluate(st, b, m, st->live))) return rc;
        if ((rc = call_hooks(st, b, BMD_HOOK_AFTER_COMPUTE, -1, st->live))) return rc;
    }

    for (int i = 0; i < st->k; i++) {
        substage *sub = &st->sub[i];
        unsigned char *mask = st->masks + (size_t)i * (size_t)st->cap;
        if (!refresh_mask(b, mask, i)) continue;
        if ((rc = call_hooks(st, b, BMD_HOOK_BEFORE_POST_UPDATE, i, mask))) return rc;
        if (!refresh_mask(b, mask, i)) continue;
        double *steps = bmd_batch_column_data(b, sub->c_steps);
        bmd_step_info si = {&st->units, st->seed, st->index_offset + i, steps, sub->dof};
        if (sub->dyn->ops->post_update && (rc = update(st, b, sub, mask, &si, sub->dyn->ops->post_update))) return rc;
        for (int s = 0; s < ns; s++)
            if (mask[s]) steps[s] += 1;
        if (!refresh_mask(b, mask, i)) continue;
        if ((rc = call_hooks(st, b, BMD_HOOK_AFTER_POST_UPDATE, i, mask))) return rc;
    }

    if (!refresh_live(st, b)) return BMD_OK;
    if ((rc = call_hooks(st, b, BMD_HOOK_AFTER_STEP, -1, st->live))) return rc;

    /* convergence, then the move to the next sub-stage and its enter() */
    refresh_live(st, b);
    for (int s = 0; s < ns; s++) st->leave[s] = -1;
    if ((rc = force_rows(st, b, st->live))) return rc;
    check_convergence(st, b, st->live);
    for (int i = 0; i < st->k; i++)
        if ((rc = leave_substage(st, b, i, st->live))) return rc;
    return enter_pass(st, b);
}

bmd_status bmd_stage_run(bmd_stage *st, bmd_batch *b, bmd_model *m, long max_loop_steps) {
    bmd_status rc = bmd_stage_open(st, b);
    for (long n = 0; !rc && (max_loop_steps <= 0 || n < max_loop_steps); n++) {
        if (!bmd_stage_live(st, b)) break;
        rc = bmd_stage_step(st, b, m);
    }
    bmd_status rc2 = bmd_stage_close(st);
    return rc ? rc : rc2;
}
