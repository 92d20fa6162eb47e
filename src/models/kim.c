/* kim.c — owns everything that talks to the KIM API (the only file that
 * includes its headers): loading a portable model with metal units, its
 * species, neighbor-list cutoffs and compute-argument support; the compute
 * driver (per system: padded set with ghosts and full lists from
 * neighbor/padded.h, KIM compute arguments, ghost forces folded back, virial
 * and per-atom energies); the KIM log captured into our error messages; and
 * the listing of installed portable and simulator models.
 *
 * Threads: one KIM model object + compute-arguments object per OpenMP
 * thread (model drivers keep scratch state in the model object); systems
 * are spread over threads (schedule dynamic), each system computed whole by
 * one thread, so its numbers do not depend on the batch or the thread.
 *
 * KIM conventions used: partialVirial is V_ab = Σ (dE/dr) r_a r_b / r over
 * the model's terms, i.e. dE/dε_ab — the W of model.h, same sign, same Voigt
 * order (xx yy zz yz xz xy); checked by finite strain differences in
 * tests/physics/kim_lammps_test.py. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <KIM_Log.h>
#include <KIM_SimulatorHeaders.h>

#include "models/model_internal.h"
#include "batchmd/elements.h"
#include "batchmd/model_kim.h"
#include "neighbor/padded.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* ---------------------------------------------------------------- log ---- */
static _Thread_local char kim_msg[768];
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

/* the KIM log's entries (errors only) land here instead of kim.log */
static int log_print(char const *const entry) {
    /* keep the last non-empty line that is not a separator: the message */
    char buf[sizeof kim_msg] = "";
    const char *s = entry;
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        int useful = 0;
        for (size_t k = 0; k < len; k++)
            if (s[k] != '=' && s[k] != '*' && s[k] != ' ' && s[k] != '\t' && s[k] != '-') useful = 1;
        if (useful && len > 0) {
            if (len >= sizeof buf) len = sizeof buf - 1;
            memcpy(buf, s, len);
            buf[len] = '\0';
        }
        if (!e) break;
        s = e + 1;
    }
    /* "time * 0 * error * 0x.. * file.cpp:123 * message": keep the message (and where) */
    char *msg = buf, *star = strstr(buf, " * ");
    int fields = 0;
    while (star && fields < 4) {
        msg = star + 3;
        star = strstr(msg, " * ");
        fields++;
    }
    if (fields < 4) msg = buf;
    if (msg[0]) snprintf(kim_msg, sizeof kim_msg, "%s", msg);
    return 0;
}

static void log_setup(void) {
    KIM_Log_PushDefaultVerbosity(KIM_LOG_VERBOSITY_error);
    KIM_Log_PushDefaultPrintFunction(KIM_LANGUAGE_NAME_c, (KIM_Function *)log_print);
}

static void kim_begin(void) {
    pthread_once(&log_once, log_setup);
    kim_msg[0] = '\0';
}

static const char *kim_last(void) { return kim_msg[0] ? kim_msg : "no message from the KIM API"; }

/* -------------------------------------------------------------- units ---- */
static double length_in_A(KIM_LengthUnit u) {
    if (KIM_LengthUnit_Equal(u, KIM_LENGTH_UNIT_A)) return 1.0;
    if (KIM_LengthUnit_Equal(u, KIM_LENGTH_UNIT_Bohr)) return 0.52917721067;
    if (KIM_LengthUnit_Equal(u, KIM_LENGTH_UNIT_nm)) return 10.0;
    if (KIM_LengthUnit_Equal(u, KIM_LENGTH_UNIT_cm)) return 1e8;
    if (KIM_LengthUnit_Equal(u, KIM_LENGTH_UNIT_m)) return 1e10;
    return 0.0;
}

static double energy_in_eV(KIM_EnergyUnit u) {
    const double eV = 1.602176634e-19; /* J */
    if (KIM_EnergyUnit_Equal(u, KIM_ENERGY_UNIT_eV)) return 1.0;
    if (KIM_EnergyUnit_Equal(u, KIM_ENERGY_UNIT_Hartree)) return 27.211386245988;
    if (KIM_EnergyUnit_Equal(u, KIM_ENERGY_UNIT_J)) return 1.0 / eV;
    if (KIM_EnergyUnit_Equal(u, KIM_ENERGY_UNIT_erg)) return 1e-7 / eV;
    if (KIM_EnergyUnit_Equal(u, KIM_ENERGY_UNIT_kcal_mol)) return 4184.0 / 6.02214076e23 / eV;
    if (KIM_EnergyUnit_Equal(u, KIM_ENERGY_UNIT_amu_A2_per_ps2)) return 1.66053906660e-27 * 1e-20 / 1e-24 / eV;
    return 0.0;
}

/* Creates a KIM model object asking for metal units; *L, *E: Å and eV per
 * model unit (1 when accepted). Message in err on failure. */
static int open_model(const char *name, KIM_Model **m, double *L, double *E, char *err, size_t errlen) {
    int accepted = 0;
    kim_begin();
    if (KIM_Model_Create(KIM_NUMBERING_zeroBased, KIM_LENGTH_UNIT_A, KIM_ENERGY_UNIT_eV, KIM_CHARGE_UNIT_e,
                         KIM_TEMPERATURE_UNIT_K, KIM_TIME_UNIT_ps, name, &accepted, m)) {
        *m = NULL;
        snprintf(err, errlen, "the KIM API could not load model %s: %s", name, kim_last());
        return 1;
    }
    *L = *E = 1.0;
    if (!accepted) {
        KIM_LengthUnit lu;
        KIM_EnergyUnit eu;
        KIM_ChargeUnit cu;
        KIM_TemperatureUnit tu;
        KIM_TimeUnit su;
        KIM_Model_GetUnits(*m, &lu, &eu, &cu, &tu, &su);
        *L = length_in_A(lu);
        *E = energy_in_eV(eu);
        if (*L == 0.0 || *E == 0.0) {
            snprintf(err, errlen, "KIM model %s uses units %s/%s that batchmd cannot convert", name,
                     KIM_LengthUnit_ToString(lu), KIM_EnergyUnit_ToString(eu));
            KIM_Model_Destroy(m);
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------- model object ---- */
enum { A_ENERGY, A_FORCES, A_PPE, A_VIRIAL, A_PPV, N_OUT };

typedef struct kim_thread {
    KIM_Model *model;
    KIM_ComputeArguments *args;
    bmd__padded_scratch scr;
    int cap;
    int np;            /* numberOfParticles handed to KIM */
    int *codes, *contrib;
    double *fp, *ep, *vp, *xs; /* padded forces, particle energies, particle virials, scaled coordinates */
    double e, w[6];
} kim_thread;

typedef struct kim_model {
    char name[BMD_KIM_NAME_MAX];
    double skin, L, E, influence; /* influence in Å */
    bmd__padded_spec spec;        /* in Å */
    double kim_cutoffs[BMD__PADDED_MAX_LISTS]; /* model units, as the model gave them */
    int code_of_z[BMD_N_ELEMENTS]; /* -1: unsupported */
    char supported[BMD_KIM_SPECIES_MAX];
    int support[N_OUT];  /* 0 not supported, 1 optional, 2 required */
    int n_threads;
    kim_thread *th;
    bmd__slot_cache cache;
    int cap_err;
    unsigned char *err;
    char errmsg[1024];
    long n_builds;
} kim_model;

static const char *sym(int z) {
    const char *s = bmd_element_symbol(z);
    return s ? s : "?";
}

static int support_of(KIM_ComputeArguments *a, KIM_ComputeArgumentName n) {
    KIM_SupportStatus s;
    if (KIM_ComputeArguments_GetArgumentSupportStatus(a, n, &s)) return 0;
    if (KIM_SupportStatus_Equal(s, KIM_SUPPORT_STATUS_required) ||
        KIM_SupportStatus_Equal(s, KIM_SUPPORT_STATUS_requiredByAPI))
        return 2;
    return KIM_SupportStatus_Equal(s, KIM_SUPPORT_STATUS_optional) ? 1 : 0;
}

static KIM_ComputeArgumentName out_name(int k) {
    switch (k) {
    case A_ENERGY: return KIM_COMPUTE_ARGUMENT_NAME_partialEnergy;
    case A_FORCES: return KIM_COMPUTE_ARGUMENT_NAME_partialForces;
    case A_PPE: return KIM_COMPUTE_ARGUMENT_NAME_partialParticleEnergy;
    case A_VIRIAL: return KIM_COMPUTE_ARGUMENT_NAME_partialVirial;
    default: return KIM_COMPUTE_ARGUMENT_NAME_partialParticleVirial;
    }
}

/* arguments and callbacks the model requires that batchmd does not give */
static int unknown_requirements(KIM_ComputeArguments *a, char *what, size_t len) {
    int n, bad = 0;
    KIM_COMPUTE_ARGUMENT_NAME_GetNumberOfComputeArgumentNames(&n);
    for (int i = 0; i < n; i++) {
        KIM_ComputeArgumentName an;
        if (KIM_COMPUTE_ARGUMENT_NAME_GetComputeArgumentName(i, &an)) continue;
        KIM_SupportStatus s;
        if (KIM_ComputeArguments_GetArgumentSupportStatus(a, an, &s)) continue;
        if (!KIM_SupportStatus_Equal(s, KIM_SUPPORT_STATUS_required)) continue;
        int known = KIM_ComputeArgumentName_Equal(an, KIM_COMPUTE_ARGUMENT_NAME_numberOfParticles) ||
                    KIM_ComputeArgumentName_Equal(an, KIM_COMPUTE_ARGUMENT_NAME_particleSpeciesCodes) ||
                    KIM_ComputeArgumentName_Equal(an, KIM_COMPUTE_ARGUMENT_NAME_particleContributing) ||
                    KIM_ComputeArgumentName_Equal(an, KIM_COMPUTE_ARGUMENT_NAME_coordinates);
        for (int k = 0; k < N_OUT; k++) known |= KIM_ComputeArgumentName_Equal(an, out_name(k));
        if (!known && !bad++) snprintf(what, len, "argument %s", KIM_ComputeArgumentName_ToString(an));
    }
    KIM_COMPUTE_CALLBACK_NAME_GetNumberOfComputeCallbackNames(&n);
    for (int i = 0; i < n; i++) {
        KIM_ComputeCallbackName cn;
        if (KIM_COMPUTE_CALLBACK_NAME_GetComputeCallbackName(i, &cn)) continue;
        KIM_SupportStatus s;
        if (KIM_ComputeArguments_GetCallbackSupportStatus(a, cn, &s)) continue;
        if (KIM_ComputeCallbackName_Equal(cn, KIM_COMPUTE_CALLBACK_NAME_GetNeighborList)) continue;
        if (KIM_SupportStatus_Equal(s, KIM_SUPPORT_STATUS_required) && !bad++)
            snprintf(what, len, "callback %s", KIM_ComputeCallbackName_ToString(cn));
    }
    return bad;
}

static int get_neigh(void *const data, int const n_lists, double const *const cutoffs, int const list,
                     int const particle, int *const n_nb, int const **const nb) {
    (void)cutoffs;
    const bmd__padded *p = data;
    if (list < 0 || list >= n_lists || list >= p->n_lists) return 1;
    const bmd__padded_list *L = &p->lists[list];
    if (particle < 0 || particle >= L->n_rows) return 1;
    *n_nb = L->start[particle + 1] - L->start[particle];
    *nb = L->nbr + L->start[particle];
    return 0;
}

static void thread_free(kim_thread *t) {
    if (t->model) {
        if (t->args) KIM_Model_ComputeArgumentsDestroy(t->model, &t->args);
        KIM_Model_Destroy(&t->model);
    }
    bmd__padded_scratch_free(&t->scr);
    free(t->codes);
    free(t->contrib);
    free(t->fp);
    free(t->ep);
    free(t->vp);
    free(t->xs);
    memset(t, 0, sizeof *t);
}

static int thread_open(const kim_model *km, kim_thread *t, char *err, size_t len) {
    double L, E;
    if (open_model(km->name, &t->model, &L, &E, err, len)) return 1;
    kim_begin();
    if (KIM_Model_ComputeArgumentsCreate(t->model, &t->args)) {
        snprintf(err, len, "KIM model %s: cannot create its compute arguments: %s", km->name, kim_last());
        KIM_Model_Destroy(&t->model);
        return 1;
    }
    if (KIM_ComputeArguments_SetCallbackPointer(t->args, KIM_COMPUTE_CALLBACK_NAME_GetNeighborList,
                                                KIM_LANGUAGE_NAME_c, (KIM_Function *)get_neigh, NULL)) {
        snprintf(err, len, "KIM model %s: cannot set the neighbor-list callback: %s", km->name, kim_last());
        return 1;
    }
    return 0;
}

static void sys_destroy(void *o) {
    bmd__padded_free(o);
    free(o);
}

static void kim_destroy(void *self) {
    kim_model *km = self;
    if (!km) return;
    for (int t = 0; t < km->n_threads; t++) thread_free(&km->th[t]);
    free(km->th);
    bmd__slot_cache_free(&km->cache);
    free(km->err);
    free(km);
}

static double kim_cutoff(void *self) { return ((kim_model *)self)->influence; }

static bmd_status kim_check_system(void *self, const bmd_system *sys) {
    kim_model *km = self;
    if (!sys) return bmd__fail(BMD_ERR_INVALID, "kim model: system is NULL");
    unsigned char bad[BMD_N_ELEMENTS] = {0};
    int nbad = 0;
    for (int i = 0; i < sys->n_atoms; i++) {
        int z = sys->Z[i];
        if (z < 0 || z >= BMD_N_ELEMENTS)
            return bmd__fail(BMD_ERR_INVALID, "kim model %s: atom %d has an invalid atomic number %d", km->name, i, z);
        if (km->code_of_z[z] < 0 && !bad[z]) {
            bad[z] = 1;
            nbad++;
        }
        for (int c = 0; c < 3; c++)
            if (!isfinite(sys->pos[3 * i + c]))
                return bmd__fail(BMD_ERR_NUMERIC, "kim model %s: atom %d has a non-finite position", km->name, i);
    }
    if (nbad) {
        char list[256] = "";
        size_t len = 0;
        for (int z = 0; z < BMD_N_ELEMENTS && len < sizeof list - 8; z++)
            if (bad[z]) len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", sym(z));
        return bmd__fail(BMD_ERR_NOT_FOUND, "model %s does not support species %s (it supports %s)", km->name, list,
                         km->supported);
    }
    if (bmd__cell_degenerate(sys->cell, sys->pbc))
        return bmd__fail(BMD_ERR_INVALID, "kim model %s: the cell is degenerate along its periodic axes (pbc %c%c%c)",
                         km->name, sys->pbc[0] ? 'T' : 'F', sys->pbc[1] ? 'T' : 'F', sys->pbc[2] ? 'T' : 'F');
    return BMD_OK;
}

/* ------------------------------------------------------------ compute ---- */
enum { E_OK = 0, E_NOMEM, E_CELL, E_SPECIES, E_KIM };

static int grow_thread(kim_thread *t, int nt) {
    if (nt <= t->cap) return 0;
    long c = t->cap ? t->cap : 256;
    while (c < nt) c *= 2;
    void *a = realloc(t->codes, (size_t)c * sizeof(int));
    if (!a) return 1;
    t->codes = a;
    if (!(a = realloc(t->contrib, (size_t)c * sizeof(int)))) return 1;
    t->contrib = a;
    if (!(a = realloc(t->fp, 3 * (size_t)c * sizeof(double)))) return 1;
    t->fp = a;
    if (!(a = realloc(t->ep, (size_t)c * sizeof(double)))) return 1;
    t->ep = a;
    if (!(a = realloc(t->vp, 6 * (size_t)c * sizeof(double)))) return 1;
    t->vp = a;
    if (!(a = realloc(t->xs, 3 * (size_t)c * sizeof(double)))) return 1;
    t->xs = a;
    t->cap = (int)c;
    return 0;
}

static int set_d(KIM_ComputeArguments *a, int k, double *ptr) {
    return KIM_ComputeArguments_SetArgumentPointerDouble(a, out_name(k), ptr);
}

static int compute_one(kim_model *km, kim_thread *t, const bmd_batch *b, int s, const bmd_compute_request *req,
                       char *msg, size_t msglen) {
    const int a0 = b->atom_start[s], n = b->atom_count[s];
    const double *pos = b->pos + 3 * (size_t)a0;
    bmd__padded *p = km->cache.obj[s];
    int rb = 0;
    double t_nl = bmd__neighbor_tic(n); /* timers.h: the calling thread's share, sampled */
    bmd__nl_result r = bmd__padded_update(p, &t->scr, n, pos, b->cell + 9 * (size_t)s, b->pbc + 3 * (size_t)s,
                                          &km->spec, &rb);
    bmd__neighbor_toc(t_nl, n);
    if (rb) {
#ifdef _OPENMP
#pragma omp atomic
#endif
        km->n_builds++;
    }
    if (r == BMD__NL_BAD_POS) {
        bmd__compute_write_nan(b, s, req);
        return E_OK;
    }
    if (r) {
        bmd__compute_write_nan(b, s, req);
        return r == BMD__NL_NOMEM ? E_NOMEM : E_CELL;
    }
    const int nt = p->n_total;
    if (grow_thread(t, nt)) return E_NOMEM;
    const int *Z = b->Z + a0;
    for (int q = 0; q < nt; q++) {
        int z = Z[p->owner[q]];
        int c = (z >= 0 && z < BMD_N_ELEMENTS) ? km->code_of_z[z] : -1;
        if (c < 0) {
            snprintf(msg, msglen, "model %s does not support species %s (it supports %s)", km->name,
                     (z >= 0 && z < BMD_N_ELEMENTS) ? sym(z) : "?", km->supported);
            bmd__compute_write_nan(b, s, req);
            return E_SPECIES;
        }
        t->codes[q] = c;
        t->contrib[q] = q < n;
    }
    double *x = p->x;
    if (km->L != 1.0) {
        for (long k = 0; k < 3L * nt; k++) t->xs[k] = p->x[k] / km->L;
        x = t->xs;
    }
    const int want_w = req->virial != NULL, want_f = req->forces != NULL;
    const int w_fallback = want_w && !km->support[A_VIRIAL];
    /* forces whenever the virial is wanted, into our padded scratch: some
     * drivers (EAM_Dynamo) accumulate partialVirial only in their force
     * loop and leave it zero when forces are not requested */
    const int use[N_OUT] = {
        req->energy != NULL || km->support[A_ENERGY] == 2,
        want_f || want_w || km->support[A_FORCES] == 2,
        (req->energy_per_atom != NULL && km->support[A_PPE]) || km->support[A_PPE] == 2,
        (want_w && km->support[A_VIRIAL]) || km->support[A_VIRIAL] == 2,
        km->support[A_PPV] == 2,
    };
    double *outp[N_OUT] = {&t->e, t->fp, t->ep, t->w, t->vp};
    /* models initialise their outputs, but some only over the contributing
     * particles: zeroed here, the ghosts' entries fold back to nothing */
    if (use[A_FORCES]) memset(t->fp, 0, 3 * (size_t)nt * sizeof(double));
    if (use[A_PPE]) memset(t->ep, 0, (size_t)nt * sizeof(double));
    KIM_ComputeArguments *a = t->args;
    t->np = nt;
    int bad = KIM_ComputeArguments_SetArgumentPointerInteger(a, KIM_COMPUTE_ARGUMENT_NAME_numberOfParticles, &t->np) ||
              KIM_ComputeArguments_SetArgumentPointerInteger(a, KIM_COMPUTE_ARGUMENT_NAME_particleSpeciesCodes,
                                                             t->codes) ||
              KIM_ComputeArguments_SetArgumentPointerInteger(a, KIM_COMPUTE_ARGUMENT_NAME_particleContributing,
                                                             t->contrib) ||
              KIM_ComputeArguments_SetArgumentPointerDouble(a, KIM_COMPUTE_ARGUMENT_NAME_coordinates, x);
    for (int k = 0; k < N_OUT && !bad; k++)
        if (km->support[k]) bad = set_d(a, k, use[k] ? outp[k] : NULL);
    bad = bad || KIM_ComputeArguments_SetCallbackPointer(a, KIM_COMPUTE_CALLBACK_NAME_GetNeighborList,
                                                         KIM_LANGUAGE_NAME_c, (KIM_Function *)get_neigh, p);
    kim_begin();
    if (bad || KIM_Model_Compute(t->model, a)) {
        snprintf(msg, msglen, "KIM model %s failed on system %lld (slot %d, %d atoms + %d ghosts): %s", km->name,
                 (long long)b->system_id[s], s, n, nt - n, kim_last());
        bmd__compute_write_nan(b, s, req);
        return E_KIM;
    }
    const double E = km->E, FL = km->E / km->L;
    if (req->energy) req->energy[s] = E * t->e;
    if (want_f) {
        double *f = req->forces + 3 * (size_t)a0;
        bmd__padded_fold(p, t->fp, f);
        if (FL != 1.0)
            for (int k = 0; k < 3 * n; k++) f[k] *= FL;
    }
    if (want_w) {
        double *w = req->virial + 6 * (size_t)s;
        if (!w_fallback) {
            for (int c = 0; c < 6; c++) w[c] = E * t->w[c];
        } else { /* W_ab = dE/dε_ab = -Σ_p x_pa F_pb over the padded set */
            double v[6] = {0, 0, 0, 0, 0, 0};
            for (int q = 0; q < nt; q++) {
                const double *xq = x + 3 * (size_t)q, *fq = t->fp + 3 * (size_t)q;
                v[0] -= xq[0] * fq[0];
                v[1] -= xq[1] * fq[1];
                v[2] -= xq[2] * fq[2];
                v[3] -= xq[1] * fq[2];
                v[4] -= xq[0] * fq[2];
                v[5] -= xq[0] * fq[1];
            }
            for (int c = 0; c < 6; c++) w[c] = E * v[c];
        }
    }
    if (req->energy_per_atom) {
        double *epa = req->energy_per_atom + a0;
        if (km->support[A_PPE]) { /* a model may give ghosts a share (Tersoff): folded onto their atoms */
            bmd__padded_fold_scalar(p, t->ep, epa);
            if (E != 1.0)
                for (int i = 0; i < n; i++) epa[i] *= E;
        } else {
            for (int i = 0; i < n; i++) epa[i] = NAN;
        }
    }
    return E_OK;
}

static bmd_status ensure_threads(kim_model *km, int nt) {
    if (nt <= km->n_threads) return BMD_OK;
    kim_thread *th = realloc(km->th, (size_t)nt * sizeof *th);
    if (!th) return bmd__fail(BMD_ERR_NOMEM, "out of memory for %d KIM model objects", nt);
    km->th = th;
    while (km->n_threads < nt) {
        kim_thread *t = &km->th[km->n_threads];
        memset(t, 0, sizeof *t);
        char err[1024];
        if (thread_open(km, t, err, sizeof err)) {
            thread_free(t);
            return bmd__fail(BMD_ERR_RUNTIME, "%s", err);
        }
        km->n_threads++;
    }
    return BMD_OK;
}

static bmd_status kim_compute(void *self, const bmd_batch *b, const bmd_compute_request *req) {
    kim_model *km = self;
    if (!b || !req) return bmd__fail(BMD_ERR_INVALID, "kim model: batch or request is NULL");
    bmd_status st = bmd__slot_cache_sync(&km->cache, b);
    if (st) return st;
    const int ns = b->n_systems;
    for (int s = 0; s < ns; s++) {
        if (km->cache.obj[s]) continue;
        bmd__padded *p = malloc(sizeof *p);
        if (!p) return bmd__fail(BMD_ERR_NOMEM, "out of memory for the padded set of slot %d", s);
        bmd__padded_init(p);
        km->cache.obj[s] = p;
    }
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    int active = 0;
    for (int s = 0; s < ns; s++) active += !req->mask || req->mask[s];
    const int parallel = nt > 1 && active > 1 && b->n_atoms >= 256;
    if ((st = ensure_threads(km, parallel ? nt : 1))) return st;
    if (ns + 1 > km->cap_err) {
        int cap = km->cap_err ? km->cap_err : 64;
        while (cap < ns + 1) cap *= 2;
        unsigned char *e = realloc(km->err, (size_t)cap);
        if (!e) return bmd__fail(BMD_ERR_NOMEM, "out of memory computing %d systems", ns);
        km->err = e;
        km->cap_err = cap;
    }
    unsigned char *err = km->err;
    const unsigned char *mask = req->mask;
    int first_bad = ns;
    km->errmsg[0] = '\0';
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
#else
    (void)parallel;
#endif
    for (int s = 0; s < ns; s++) {
        err[s] = 0;
        if (mask && !mask[s]) continue;
        int tid = 0;
#ifdef _OPENMP
        tid = parallel ? omp_get_thread_num() : 0;
#endif
        char msg[1024] = "";
        err[s] = (unsigned char)compute_one(km, &km->th[tid], b, s, req, msg, sizeof msg);
        if (err[s]) {
#ifdef _OPENMP
#pragma omp critical(bmd_kim_err)
#endif
            if (s < first_bad) {
                first_bad = s;
                snprintf(km->errmsg, sizeof km->errmsg, "%s", msg);
            }
        }
    }
    if (first_bad == ns) return BMD_OK;
    const int s = first_bad;
    const long long id = (long long)b->system_id[s];
    switch (err[s]) {
    case E_NOMEM:
        return bmd__fail(BMD_ERR_NOMEM, "kim model %s: system %lld (slot %d): out of memory building its ghosts and "
                         "neighbor lists", km->name, id, s);
    case E_CELL:
        return bmd__fail(BMD_ERR_INVALID, "kim model %s: system %lld (slot %d): its cell is degenerate along a "
                         "periodic axis, or far thinner than the influence distance %g Å", km->name, id, s,
                         km->influence);
    case E_SPECIES: return bmd__fail(BMD_ERR_NOT_FOUND, "%s", km->errmsg);
    default: return bmd__fail(BMD_ERR_RUNTIME, "%s", km->errmsg);
    }
}

static const bmd_model_ops kim_ops = {
    .type = "kim",
    .compute = kim_compute,
    .check_system = kim_check_system,
    .cutoff = kim_cutoff,
    .destroy = kim_destroy,
};

/* ------------------------------------------------------ model queries ---- */
/* species (code_of_z, "A B" list) of a model object */
static void model_species(KIM_Model *m, int *code_of_z, char *list, size_t len, const char *sep) {
    size_t at = 0;
    list[0] = '\0';
    for (int z = 0; z < BMD_N_ELEMENTS; z++) code_of_z[z] = -1;
    for (int z = 1; z < BMD_N_ELEMENTS; z++) {
        KIM_SpeciesName sn = KIM_SpeciesName_FromString(sym(z));
        if (!KIM_SpeciesName_Known(sn)) continue;
        int ok = 0, code = -1;
        if (KIM_Model_GetSpeciesSupportAndCode(m, sn, &ok, &code) || !ok) continue;
        code_of_z[z] = code;
        if (at < len - 8) at += (size_t)snprintf(list + at, len - at, "%s%s", at ? sep : "", sym(z));
    }
}

/* what the collections hold under name: 0 nothing, 1 portable model, 2
 * simulator model, 3 model driver */
static int item_kind(const char *name) {
    KIM_Collections *col = NULL;
    if (KIM_Collections_Create(&col)) return 0;
    KIM_CollectionItemType type;
    int kind = 0;
    if (!KIM_Collections_GetItemType(col, name, &type)) {
        if (KIM_CollectionItemType_Equal(type, KIM_COLLECTION_ITEM_TYPE_portableModel)) kind = 1;
        else if (KIM_CollectionItemType_Equal(type, KIM_COLLECTION_ITEM_TYPE_simulatorModel)) kind = 2;
        else kind = 3;
    }
    KIM_Collections_Destroy(&col);
    return kind;
}

int bmd_kim_available(void) { return 1; }

bmd_status bmd_model_kim_create(const char *name, double skin, bmd_model **out) {
    if (!out) return bmd__fail(BMD_ERR_INVALID, "kim model: out is NULL");
    *out = NULL;
    if (!name || !*name) return bmd__fail(BMD_ERR_INVALID, "kim model: no model name given");
    if (strlen(name) >= BMD_KIM_NAME_MAX) return bmd__fail(BMD_ERR_INVALID, "kim model: name too long");
    if (!isfinite(skin) || skin < 0)
        return bmd__fail(BMD_ERR_INVALID, "kim model %s: skin must be a finite number >= 0 (got %g)", name, skin);
    kim_begin();
    const int kind = item_kind(name);
    if (kind == 0)
        return bmd__fail(BMD_ERR_NOT_FOUND, "no KIM model named %s is installed (see `batchmd models`)", name);
    if (kind == 2)
        return bmd__fail(BMD_ERR_NOT_FOUND, "%s is a KIM simulator model (it runs inside one simulator only); "
                         "batchmd runs KIM portable models", name);
    if (kind == 3)
        return bmd__fail(BMD_ERR_NOT_FOUND, "%s is a KIM model driver, not a model: name a model that uses it "
                         "(see `batchmd models`)", name);
    kim_model *km = calloc(1, sizeof *km);
    if (!km) return bmd__fail(BMD_ERR_NOMEM, "out of memory creating KIM model %s", name);
    snprintf(km->name, sizeof km->name, "%s", name);
    km->skin = skin;
    km->cache.destroy = sys_destroy;
    char err[1024];
    bmd_status st = BMD_OK;
    km->th = calloc(1, sizeof *km->th);
    if (!km->th) {
        st = bmd__fail(BMD_ERR_NOMEM, "out of memory creating KIM model %s", name);
        goto fail;
    }
    if (open_model(name, &km->th[0].model, &km->L, &km->E, err, sizeof err)) {
        st = bmd__fail(BMD_ERR_RUNTIME, "%s", err);
        goto fail;
    }
    km->n_threads = 1;
    kim_thread *t = &km->th[0];
    KIM_Model *m = t->model;
    /* every routine the model has must be one this KIM API knows */
    int nr;
    KIM_MODEL_ROUTINE_NAME_GetNumberOfModelRoutineNames(&nr);
    for (int i = 0; i < nr; i++) {
        KIM_ModelRoutineName rn;
        int present = 0, required = 0;
        if (KIM_MODEL_ROUTINE_NAME_GetModelRoutineName(i, &rn) ||
            KIM_Model_IsRoutinePresent(m, rn, &present, &required)) {
            st = bmd__fail(BMD_ERR_RUNTIME, "KIM model %s: cannot query its routines: %s", name, kim_last());
            goto fail;
        }
    }
    double inf;
    KIM_Model_GetInfluenceDistance(m, &inf);
    int nl;
    const double *cut;
    const int *hint;
    KIM_Model_GetNeighborListPointers(m, &nl, &cut, &hint);
    if (nl < 0 || nl > BMD__PADDED_MAX_LISTS) {
        st = bmd__fail(BMD_ERR_UNSUPPORTED, "KIM model %s asks for %d neighbor lists (batchmd gives at most %d)", name,
                       nl, BMD__PADDED_MAX_LISTS);
        goto fail;
    }
    km->influence = inf * km->L;
    km->spec.pad = km->influence;
    km->spec.skin = skin;
    km->spec.n_lists = nl;
    for (int k = 0; k < nl; k++) {
        km->kim_cutoffs[k] = cut[k];
        km->spec.cutoff[k] = cut[k] * km->L;
        km->spec.ghost_rows[k] = !hint[k];
    }
    model_species(m, km->code_of_z, km->supported, sizeof km->supported, ", ");
    if (!km->supported[0]) {
        st = bmd__fail(BMD_ERR_UNSUPPORTED, "KIM model %s supports no chemical element", name);
        goto fail;
    }
    kim_begin();
    if (KIM_Model_ComputeArgumentsCreate(m, &t->args)) {
        st = bmd__fail(BMD_ERR_RUNTIME, "KIM model %s: cannot create its compute arguments: %s", name, kim_last());
        goto fail;
    }
    for (int k = 0; k < N_OUT; k++) km->support[k] = support_of(t->args, out_name(k));
    if (!km->support[A_ENERGY] || !km->support[A_FORCES]) {
        st = bmd__fail(BMD_ERR_UNSUPPORTED, "KIM model %s does not compute %s", name,
                       !km->support[A_ENERGY] ? "the energy" : "forces");
        goto fail;
    }
    if (unknown_requirements(t->args, err, sizeof err)) {
        st = bmd__fail(BMD_ERR_UNSUPPORTED, "KIM model %s requires the compute %s, which batchmd does not provide",
                       name, err);
        goto fail;
    }
    bmd_model *bm = calloc(1, sizeof *bm);
    if (!bm) {
        st = bmd__fail(BMD_ERR_NOMEM, "out of memory creating KIM model %s", name);
        goto fail;
    }
    bm->ops = &kim_ops;
    bm->self = km;
    bm->isolate_failures = 1; /* Compute() refuses one structure at a time (model.h) */
    *out = bm;
    return BMD_OK;
fail:
    kim_destroy(km);
    return st;
}

double bmd_model_kim_influence_distance(const bmd_model *m) {
    if (!m || m->ops != &kim_ops) return -1.0;
    return ((const kim_model *)m->self)->influence;
}

long bmd_model_kim_list_builds(const bmd_model *m) {
    if (!m || m->ops != &kim_ops) return -1;
    return ((const kim_model *)m->self)->n_builds;
}

/* ------------------------------------------------------------ listing ---- */
static void info_portable(const char *name, bmd_kim_model_info *info) {
    KIM_Model *m = NULL;
    double L, E;
    if (open_model(name, &m, &L, &E, info->error, sizeof info->error)) return;
    int codes[BMD_N_ELEMENTS];
    model_species(m, codes, info->species, sizeof info->species, " ");
    double inf;
    KIM_Model_GetInfluenceDistance(m, &inf);
    info->influence_distance = inf * L;
    KIM_ComputeArguments *a = NULL;
    kim_begin();
    if (KIM_Model_ComputeArgumentsCreate(m, &a)) {
        snprintf(info->error, sizeof info->error, "cannot create its compute arguments: %s", kim_last());
    } else {
        info->energy = support_of(a, KIM_COMPUTE_ARGUMENT_NAME_partialEnergy) > 0;
        info->forces = support_of(a, KIM_COMPUTE_ARGUMENT_NAME_partialForces) > 0;
        /* without partialVirial, batchmd computes the virial from the padded forces */
        info->virial = info->forces;
        info->kim_virial = support_of(a, KIM_COMPUTE_ARGUMENT_NAME_partialVirial) > 0;
        info->energy_per_atom = support_of(a, KIM_COMPUTE_ARGUMENT_NAME_partialParticleEnergy) > 0;
        info->loaded = 1;
        KIM_Model_ComputeArgumentsDestroy(m, &a);
    }
    KIM_Model_Destroy(&m);
}

static void info_simulator(const char *name, bmd_kim_model_info *info) {
    KIM_SimulatorModel *sm = NULL;
    kim_begin();
    if (KIM_SimulatorModel_Create(name, &sm)) {
        snprintf(info->error, sizeof info->error, "cannot read simulator model: %s", kim_last());
        return;
    }
    const char *sn = NULL, *sv = NULL;
    KIM_SimulatorModel_GetSimulatorNameAndVersion(sm, &sn, &sv);
    snprintf(info->simulator_name, sizeof info->simulator_name, "%s %s", sn ? sn : "?", sv ? sv : "");
    int ns = 0;
    KIM_SimulatorModel_GetNumberOfSupportedSpecies(sm, &ns);
    size_t at = 0;
    for (int i = 0; i < ns && at < sizeof info->species - 8; i++) {
        const char *sp = NULL;
        if (KIM_SimulatorModel_GetSupportedSpecies(sm, i, &sp) || !sp) continue;
        at += (size_t)snprintf(info->species + at, sizeof info->species - at, "%s%s", at ? " " : "", sp);
    }
    KIM_SimulatorModel_Destroy(&sm);
}

static void info_init(bmd_kim_model_info *info, const char *name, int simulator) {
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s", name);
    info->simulator = simulator;
    info->energy = info->forces = info->virial = info->energy_per_atom = info->kim_virial = -1;
    info->influence_distance = -1.0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* the sorted names of one item type (malloc'd array of malloc'd strings) */
static bmd_status item_names(KIM_Collections *col, KIM_CollectionItemType type, char ***names, int *n) {
    int extent = 0;
    *names = NULL;
    *n = 0;
    if (KIM_Collections_CacheListOfItemNamesByType(col, type, &extent))
        return bmd__fail(BMD_ERR_RUNTIME, "cannot list the installed KIM models: %s", kim_last());
    char **v = calloc((size_t)extent + 1, sizeof *v);
    if (!v) return bmd__fail(BMD_ERR_NOMEM, "out of memory listing KIM models");
    for (int i = 0; i < extent; i++) {
        const char *s = NULL;
        if (KIM_Collections_GetItemNameByType(col, i, &s) || !s) continue;
        if (!(v[*n] = malloc(strlen(s) + 1))) {
            for (int k = 0; k < *n; k++) free(v[k]);
            free(v);
            return bmd__fail(BMD_ERR_NOMEM, "out of memory listing KIM models");
        }
        strcpy(v[(*n)++], s);
    }
    qsort(v, (size_t)*n, sizeof *v, cmp_str);
    *names = v;
    return BMD_OK;
}

bmd_status bmd_kim_list_models(int details, int (*fn)(const bmd_kim_model_info *info, void *ctx), void *ctx) {
    if (!fn) return bmd__fail(BMD_ERR_INVALID, "kim list: no callback");
    kim_begin();
    KIM_Collections *col = NULL;
    if (KIM_Collections_Create(&col))
        return bmd__fail(BMD_ERR_RUNTIME, "cannot open the KIM model collections: %s", kim_last());
    bmd_status st = BMD_OK;
    int stop = 0;
    for (int sim = 0; sim < 2 && !st && !stop; sim++) {
        char **names;
        int n;
        st = item_names(col, sim ? KIM_COLLECTION_ITEM_TYPE_simulatorModel : KIM_COLLECTION_ITEM_TYPE_portableModel,
                        &names, &n);
        if (st) break;
        bmd_kim_model_info info;
        for (int i = 0; i < n; i++) {
            if (!stop) {
                info_init(&info, names[i], sim);
                if (sim) info_simulator(names[i], &info);
                else if (details) info_portable(names[i], &info);
                stop = fn(&info, ctx) != 0;
            }
            free(names[i]);
        }
        free(names);
    }
    KIM_Collections_Destroy(&col);
    return st;
}

bmd_status bmd_kim_model_info_get(const char *name, bmd_kim_model_info *info) {
    if (!name || !info) return bmd__fail(BMD_ERR_INVALID, "kim model info: name or info is NULL");
    kim_begin();
    KIM_Collections *col = NULL;
    if (KIM_Collections_Create(&col))
        return bmd__fail(BMD_ERR_RUNTIME, "cannot open the KIM model collections: %s", kim_last());
    KIM_CollectionItemType type;
    int found = !KIM_Collections_GetItemType(col, name, &type);
    KIM_Collections_Destroy(&col);
    if (!found) return bmd__fail(BMD_ERR_NOT_FOUND, "no KIM model named %s is installed (see `batchmd models`)", name);
    int sim = KIM_CollectionItemType_Equal(type, KIM_COLLECTION_ITEM_TYPE_simulatorModel);
    if (!sim && !KIM_CollectionItemType_Equal(type, KIM_COLLECTION_ITEM_TYPE_portableModel))
        return bmd__fail(BMD_ERR_NOT_FOUND, "%s is a KIM model driver, not a model", name);
    info_init(info, name, sim);
    if (sim) info_simulator(name, info);
    else info_portable(name, info);
    return BMD_OK;
}
