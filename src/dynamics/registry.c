/* registry.c — owns the catalogue of dynamics types: names, one-line docs,
 * degrees-of-freedom rules (dynamics_internal.h's BMD__*_DOF), parameter
 * descriptors (name, unit, default, doc) in the order their
 * constructors read them (the enums of dynamics_internal.h), and lookup.
 * A new dynamics is one new file and one entry here. Every parameter may be
 * overridden per structure by an info-line key of the same name. */
#include "dynamics/dynamics_internal.h"

#include <math.h>
#include <string.h>

#define INIT_T_DESC                                                                                                 \
    { "init_temperature", "K", NAN, "Maxwell-Boltzmann velocities at this temperature on entry (absent: keep velocities)", 1 }

static const bmd_param_desc fire_params[BMD__FIRE_NPAR] = {
    [BMD__FIRE_DT] = {"dt", "Å/√eV", 0.1, "initial time step (ASE's mass-free unit)"},
    [BMD__FIRE_MAXSTEP] = {"maxstep", "Å", 0.2, "largest step length per system (whole-system norm)"},
    [BMD__FIRE_DTMAX] = {"dtmax", "Å/√eV", 1.0, "largest time step"},
    [BMD__FIRE_NMIN] = {"Nmin", "", 5, "downhill steps before dt may grow"},
    [BMD__FIRE_FINC] = {"finc", "", 1.1, "dt growth factor"},
    [BMD__FIRE_FDEC] = {"fdec", "", 0.5, "dt shrink factor on an uphill step"},
    [BMD__FIRE_ASTART] = {"astart", "", 0.1, "mixing parameter after an uphill step"},
    [BMD__FIRE_FA] = {"fa", "", 0.99, "mixing decay factor"},
    [BMD__FIRE_A] = {"a", "", 0.1, "initial mixing parameter"},
};

static const bmd_param_desc fire2_params[BMD__FIRE2_NPAR] = {
    [BMD__FIRE2_DT] = {"dt", "Å/√eV", 0.1, "initial time step (ASE's mass-free unit)"},
    [BMD__FIRE2_MAXSTEP] = {"maxstep", "Å", 0.2, "largest step length per system (whole-system norm)"},
    [BMD__FIRE2_DTMAX] = {"dtmax", "Å/√eV", 1.0, "largest time step (10 dt)"},
    [BMD__FIRE2_DTMIN] = {"dtmin", "Å/√eV", 0.002, "smallest time step (0.02 dt)"},
    [BMD__FIRE2_NDELAY] = {"Ndelay", "", 20, "N_delay: downhill steps before dt may grow"},
    [BMD__FIRE2_NNEGMAX] = {"Nnegmax", "", 2000, "consecutive uphill steps that stop the relaxation"},
    [BMD__FIRE2_FINC] = {"finc", "", 1.1, "dt growth factor"},
    [BMD__FIRE2_FDEC] = {"fdec", "", 0.5, "dt shrink factor on an uphill step"},
    [BMD__FIRE2_ASTART] = {"astart", "", 0.25, "mixing parameter at start and after an uphill step"},
    [BMD__FIRE2_FA] = {"fa", "", 0.99, "mixing decay factor"},
    [BMD__FIRE2_INITIALDELAY] = {"initialdelay", "", 1, "1: no dt/alpha change on uphill steps before N_delay steps"},
};

static const bmd_param_desc nve_params[BMD__NVE_NPAR] = {
    [BMD__NVE_DT] = {"dt", "fs", NAN, "time step"},
    [BMD__NVE_INIT_T] = INIT_T_DESC,
};

static const bmd_param_desc lgv_params[BMD__LGV_NPAR] = {
    [BMD__LGV_DT] = {"dt", "fs", NAN, "time step"},
    [BMD__LGV_T] = {"temperature", "K", NAN, "bath temperature"},
    [BMD__LGV_FRICTION] = {"friction", "1/fs", NAN, "friction coefficient gamma"},
    [BMD__LGV_INIT_T] = INIT_T_DESC,
};

static const bmd_param_desc nh_params[BMD__NH_NPAR] = {
    [BMD__NH_DT] = {"dt", "fs", NAN, "time step"},
    [BMD__NH_T] = {"temperature", "K", NAN, "bath temperature"},
    [BMD__NH_TDAMP] = {"tdamp", "fs", 0, "thermostat damping time (0: 100 dt)"},
    [BMD__NH_CHAIN] = {"chain", "", 3, "Nose-Hoover chain length (1 to 10)"},
    [BMD__NH_INIT_T] = INIT_T_DESC,
};

static const bmd_dynamics_type types[] = {
    {"fire", "FIRE optimizer, exactly ASE 3.22's ase.optimize.FIRE (Bitzek et al. 2006)", 1, BMD__OPT_DOF,
     fire_params, BMD__FIRE_NPAR, bmd__fire_create},
    {"fire2", "FIRE 2.0 optimizer (Guenole et al. 2020), mass-free", 1, BMD__OPT_DOF, fire2_params,
     BMD__FIRE2_NPAR, bmd__fire2_create},
    {"nve", "velocity Verlet, constant energy", 0, BMD__NVE_DOF, nve_params, BMD__NVE_NPAR, bmd__nve_create},
    {"nvt_langevin", "Langevin thermostat, BAOAB (Leimkuhler & Matthews 2013)", 0, BMD__LGV_DOF, lgv_params,
     BMD__LGV_NPAR, bmd__langevin_create},
    {"nvt_nose_hoover", "Nose-Hoover chain thermostat (Martyna, Tuckerman, Klein 1996), as LAMMPS fix nvt", 0,
     BMD__NH_DOF, nh_params, BMD__NH_NPAR, bmd__nose_hoover_create},
};

#define N_TYPES ((int)(sizeof types / sizeof types[0]))

static const bmd_dynamics_type *const type_list[N_TYPES] = {&types[0], &types[1], &types[2], &types[3], &types[4]};

const bmd_dynamics_type *bmd_dynamics_find(const char *type) {
    for (int i = 0; type && i < N_TYPES; i++)
        if (strcmp(types[i].type, type) == 0) return &types[i];
    return NULL;
}

const bmd_dynamics_type *const *bmd_dynamics_types(int *n) {
    if (n) *n = N_TYPES;
    return type_list;
}
