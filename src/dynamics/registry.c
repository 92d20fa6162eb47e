/* registry.c — the catalogue of dynamics types: the one list of them, and
 * lookup. Each dynamics file owns its entry (const bmd_dynamics_type
 * bmd__<name>_type: name, one-line doc, optimizer or MD, degrees-of-freedom
 * rule, parameter descriptors with units, defaults and ranges, constructor,
 * Python class name); the campaign reader, `batchmd models`, the Python
 * package and the docs test read it from here. A new dynamics is one new
 * file and one line in BMD__DYNAMICS below. Every parameter but the
 * stage_only ones may be overridden per structure by an info-line key of
 * the same name. */
#include "dynamics/dynamics_internal.h"

#include <string.h>

/* The catalogue, in listing order. */
#define BMD__DYNAMICS(X)                                                                                            \
    X(fire)                                                                                                         \
    X(fire2)                                                                                                        \
    X(lbfgs)                                                                                                        \
    X(bfgs)                                                                                                         \
    X(nve)                                                                                                          \
    X(nvt_langevin)                                                                                                 \
    X(nvt_nose_hoover)                                                                                              \
    X(npt_mtk)                                                                                                      \
    X(nph)                                                                                                          \
    X(nvt_csvr)                                                                                                     \
    X(nvt_berendsen)                                                                                                \
    X(npt_crescale)

#define DECLARE(name) extern const bmd_dynamics_type bmd__##name##_type;
BMD__DYNAMICS(DECLARE)
#undef DECLARE

#define ENTRY(name) &bmd__##name##_type,
static const bmd_dynamics_type *const type_list[] = {BMD__DYNAMICS(ENTRY)};
#undef ENTRY

#define N_TYPES ((int)(sizeof type_list / sizeof type_list[0]))

const bmd_dynamics_type *bmd_dynamics_find(const char *type) {
    for (int i = 0; type && i < N_TYPES; i++)
        if (strcmp(type_list[i]->type, type) == 0) return type_list[i];
    return NULL;
}

const bmd_dynamics_type *const *bmd_dynamics_types(int *n) {
    if (n) *n = N_TYPES;
    return type_list;
}
