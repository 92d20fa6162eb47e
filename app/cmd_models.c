/* cmd_models.c — `batchmd models`: the built-in models and dynamics with
 * their parameters and units. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app.h"

int cmd_models(int argc, char **argv) {
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: batchmd models\n\nLists the built-in models and dynamics with their parameters and units.\n");
        return APP_OK;
    }
    printf("models (model: {type: ...}), metal units:\n"
           "  lj      Lennard-Jones 4ε[(σ/r)^12 − (σ/r)^6]\n"
           "          epsilon (eV), sigma (Å), cutoff (Å, default 2.5σ), shift (bool), skin (Å, 0.5),\n"
           "          pairs: [{species: [A, B], epsilon, sigma, cutoff}, ...]\n"
           "  morse   Morse D0[e^(−2α(r−r0)) − 2e^(−α(r−r0))]\n"
           "          D0 (eV), alpha (1/Å), r0 (Å), cutoff (Å), shift (bool), skin (Å, 0.5),\n"
           "          pairs: [{species: [A, B], D0, alpha, r0, cutoff}, ...]\n"
           "\ndynamics (stages: {NAME: {type: ...}}):\n");
    int n = 0;
    const bmd_dynamics_type *const *types = bmd_dynamics_types(&n);
    for (int i = 0; i < n; i++) {
        const bmd_dynamics_type *t = types[i];
        printf("  %-16s %s\n", t->type, t->doc);
        for (int k = 0; k < t->n_params; k++) {
            const bmd_param_desc *p = &t->params[k];
            if (isnan(p->def)) printf("      %-16s %-6s required   %s\n", p->name, p->unit, p->doc);
            else printf("      %-16s %-6s %-10.6g %s\n", p->name, p->unit, p->def, p->doc);
        }
        if (t->is_optimizer)
            printf("      %-16s %-6s %-10s %s\n      %-16s %-6s %-10s %s\n      %-16s %-6s %-10s %s\n", "fmax", "eV/Å",
                   "0.05", "converged when max |F| < fmax", "etol", "eV", "off", "and |ΔE| per step < etol",
                   "max_steps", "", "1000", "step budget");
        else
            printf("      %-16s %-6s %-10s %s\n", "steps", "", "required", "steps a system spends in the stage");
    }
    return APP_OK;
}
