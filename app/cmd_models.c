/* cmd_models.c — `batchmd models`: the built-in models and dynamics with
 * their parameters and units. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

/* The listing's state: the species every listed model must support (none:
 * list all), and counts for the closing line of a filtered listing. */
typedef struct kim_listing {
    char *const *species;
    int n_species;
    int listed, unloaded;
} kim_listing;

/* 1 when the space-separated symbols of list hold sym. */
static int has_species(const char *list, const char *sym) {
    size_t n = strlen(sym);
    for (const char *p = list; *p;) {
        while (*p == ' ') p++;
        size_t k = strcspn(p, " ");
        if (k == n && !strncmp(p, sym, n)) return 1;
        p += k;
    }
    return 0;
}

static int print_kim_model(const bmd_kim_model_info *m, void *ctx) {
    kim_listing *l = ctx;
    if (l->n_species) { /* filtered: portable models that loaded and support every species asked for */
        if (m->simulator) return 0;
        if (!m->loaded) {
            l->unloaded++;
            return 0;
        }
        for (int i = 0; i < l->n_species; i++)
            if (!has_species(m->species, l->species[i])) return 0;
    }
    l->listed++;
    if (m->simulator) {
        printf("  %-72s simulator model (%s): batchmd cannot run it\n", m->name, m->simulator_name);
        return 0;
    }
    if (!m->loaded) {
        printf("  %-72s %s\n", m->name, m->error[0] ? m->error : "");
        return 0;
    }
    printf("  %-72s species %-12s forces %s, virial %s, cutoff %.3g Å\n", m->name, m->species,
           m->forces == 1 ? "yes" : "no", m->virial == 1 ? "yes" : "no", m->influence_distance);
    return 0;
}

/* The installed OpenKIM models; details (species, forces, virial) with
 * --kim, only those supporting every one of species[n_species] when n_species > 0. */
static void print_kim(int details, char *const *species, int n_species) {
    if (!bmd_kim_available()) {
        printf("\nOpenKIM models: batchmd was built without the KIM API (install libkim-api-dev and rebuild)\n");
        return;
    }
    char wanted[256] = "";
    for (int i = 0; i < n_species; i++)
        snprintf(wanted + strlen(wanted), sizeof wanted - strlen(wanted), "%s%s", i ? " " : "", species[i]);
    if (n_species) printf("\nOpenKIM models (model: {type: kim, name: ...}) supporting %s:\n", wanted);
    else
        printf("\nOpenKIM models (model: {type: kim, name: ...})%s:\n",
               details ? "" : "; `batchmd models --kim` adds their species and what they compute");
    kim_listing l = {species, n_species, 0, 0};
    if (bmd_kim_list_models(details, print_kim_model, &l)) printf("  (cannot list them: %s)\n", bmd_last_error());
    else if (n_species) {
        if (l.listed == 0) printf("  none of the installed models supports %s\n", wanted);
        printf("  (%d model%s; simulator models, which batchmd cannot run, are left out", l.listed,
               app_plural(l.listed));
        if (l.unloaded) printf(", and %d that could not be loaded", l.unloaded);
        printf(")\n");
    } else if (l.listed == 0) printf("  none installed (Debian: apt-get install openkim-models)\n");
}

/* The default of a word parameter: the chosen word, or the mask's words in
 * a list. */
static void param_words(const bmd_param_desc *p, char *out, size_t cap) {
    size_t len = 0;
    int bits = (int)p->def, i = 0;
    out[0] = '\0';
    if (p->kind == BMD_PARAM_MASK && cap > 1) out[len++] = '[', out[len] = '\0';
    for (const char *c = p->choices; c && *c; i++) {
        const char *e = strchr(c, '|');
        int n = e ? (int)(e - c) : (int)strlen(c);
        int on = p->kind == BMD_PARAM_MASK ? (bits >> i) & 1 : i == bits;
        if (on && len + (size_t)n + 3 < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s%.*s", len > 1 ? "," : "", n, c);
        if (!e) break;
        c = e + 1;
    }
    if (p->kind == BMD_PARAM_MASK && len + 2 < cap) snprintf(out + len, cap - len, "]");
}

int cmd_models(int argc, char **argv) {
    int kim = 0, n_species = 0;
    char **species = argv + 1; /* the positional arguments, gathered in place */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: batchmd models [--kim [SPECIES ...]]\n\n"
                   "Lists the built-in models and dynamics with their parameters and units,\n"
                   "and the installed OpenKIM models (--kim: with their species, whether they\n"
                   "give forces and virial, and their cutoff; loads every model, a few seconds).\n"
                   "--kim Cu Ni: only the portable models that support every species named.\n");
            return APP_OK;
        } else if (!strcmp(argv[i], "--kim")) {
            kim = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "batchmd models: unknown option '%s' (see batchmd models --help)\n", argv[i]);
            return APP_INVALID;
        } else {
            species[n_species++] = argv[i];
        }
    }
    if (n_species && !kim) {
        fprintf(stderr, "batchmd models: unexpected argument '%s' (species go after --kim, e.g. batchmd models "
                        "--kim Cu; see batchmd models --help)\n", species[0]);
        return APP_INVALID;
    }
    printf("models (model: {type: ...}), metal units:\n"
           "  lj      Lennard-Jones 4ε[(σ/r)^12 − (σ/r)^6]\n"
           "          epsilon (eV), sigma (Å), cutoff (Å, default 2.5σ), shift (bool), skin (Å, 0.5),\n"
           "          pairs: [{species: [A, B], epsilon, sigma, cutoff}, ...]\n"
           "  morse   Morse D0[e^(−2α(r−r0)) − 2e^(−α(r−r0))]\n"
           "          D0 (eV), alpha (1/Å), r0 (Å), cutoff (Å), shift (bool), skin (Å, 0.5),\n"
           "          pairs: [{species: [A, B], D0, alpha, r0, cutoff}, ...]\n"
           "  eam     embedded-atom method from LAMMPS potential files\n"
           "          file (a .eam funcfl, or a list of them one per element; .eam.alloy setfl; .eam.fs),\n"
           "          style (eam | eam/alloy | eam/fs; default from the file name), skin (Å, 0.5)\n"
           "  kim     any installed OpenKIM portable model, by name: name, skin (Å, 0.5)\n"
           "  plugin  a shared library implementing include/batchmd/model_plugin.h: path, params: {...}\n"
           "  python  a Python class or function that makes the model (loads libpython): module (a .py\n"
           "          file or a module name), object (its name in the module), params: {...} (its arguments)\n"
           "\ndynamics (stages: {NAME: {type: ...}}):\n");
    int n = 0;
    const bmd_dynamics_type *const *types = bmd_dynamics_types(&n);
    for (int i = 0; i < n; i++) {
        const bmd_dynamics_type *t = types[i];
        printf("  %-16s %s\n", t->type, t->doc);
        for (int k = 0; k < t->n_params; k++) {
            const bmd_param_desc *p = &t->params[k];
            char name[64], def[64];
            if (p->kind == BMD_PARAM_ITEM) { /* a list's items: one line, the campaign's key */
                if (k > 0 && t->params[k - 1].kind == BMD_PARAM_ITEM) continue;
                const char *us = strrchr(p->name, '_');
                int len = us ? (int)(us - p->name) : (int)strlen(p->name);
                snprintf(name, sizeof name, "%s%s%.*s", p->group ? p->group : "", p->group ? "." : "", len, p->name);
                printf("      %-16s %-6s %-10s %s ([%s]; per structure %s= ...)\n", name, p->unit, "0 each", p->doc,
                       p->choices, p->name);
                continue;
            }
            snprintf(name, sizeof name, "%s%s%s", p->group ? p->group : "", p->group ? "." : "", p->name);
            if (isnan(p->def)) snprintf(def, sizeof def, "%s", p->optional ? "optional" : "required");
            else if (p->kind == BMD_PARAM_BOOL) snprintf(def, sizeof def, "%s", p->def != 0 ? "true" : "false");
            else if (p->kind == BMD_PARAM_CHOICE || p->kind == BMD_PARAM_MASK) param_words(p, def, sizeof def);
            else snprintf(def, sizeof def, "%.6g", p->def);
            printf("      %-16s %-6s %-10s %s", name, p->unit, def, p->doc);
            if (p->kind == BMD_PARAM_CHOICE || p->kind == BMD_PARAM_MASK) printf(" (%s)", p->choices);
            else if (p->expected) printf(" (%s)", p->expected);
            printf("\n");
        }
        if (t->is_optimizer)
            printf("      %-16s %-6s %-10s %s\n      %-16s %-6s %-10s %s\n      %-16s %-6s %-10s %s\n", "fmax", "eV/Å",
                   "0.05", "converged when max |F| < fmax", "etol", "eV", "off", "and |ΔE| per step < etol",
                   "max_steps", "", "1000", "step budget");
        else
            printf("      %-16s %-6s %-10s %s\n      %-16s %-6s %-10s %s\n", "steps", "", "required",
                   "steps a system spends in the stage", "fix_com", "", "false",
                   "hold the centre-of-mass momentum at zero (N_f - 3)");
    }
    print_kim(kim, species, n_species);
    return APP_OK;
}
