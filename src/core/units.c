/* units.c — owns the constants of the metal and lj unit systems.
 * CODATA 2014, as ASE 3.22's ase.units, so values round-trip through ASE. */
#include "batchmd/units.h"

#include <math.h>
#include <string.h>

#define CODATA2014_E 1.6021766208e-19   /* elementary charge, C (eV in J) */
#define CODATA2014_AMU 1.660539040e-27  /* atomic mass unit, kg */
#define CODATA2014_K 1.38064852e-23     /* Boltzmann constant, J/K */
#define CODATA2014_NA 6.022140857e23    /* Avogadro constant, 1/mol */

bmd_units bmd_units_get(bmd_units_kind kind) {
    bmd_units u;
    u.kind = kind;
    if (kind == BMD_UNITS_LJ) {
        u.boltzmann = 1.0;
        u.ftm2v = 1.0;
        u.mvv2e = 1.0;
        u.ase_time = 1.0;
        u.kjmol = 1.0;
        u.pressure = 1.0;
        return u;
    }
    u.boltzmann = CODATA2014_K / CODATA2014_E;
    /* ASE: s = 1e10 * sqrt(e / amu); fs = 1e-15 * s (in ASE's time unit). */
    u.ase_time = 1e-15 * (1e10 * sqrt(CODATA2014_E / CODATA2014_AMU));
    /* (eV/Å)/amu in Å/fs²: e/(1e-10 amu) m/s² * 1e10 Å/m * 1e-30 s²/fs². */
    u.ftm2v = CODATA2014_E / CODATA2014_AMU * 1e-10;
    u.mvv2e = 1.0 / u.ftm2v;
    /* eV in kJ/mol: e N_A / 1000 J/kJ (ASE: 1 / (units.kJ / units.mol)). */
    u.kjmol = CODATA2014_E * CODATA2014_NA / 1000.0;
    /* 1 bar = 1e5 Pa, 1 Pa = (1/e) eV / 1e30 Å³, as ASE computes units.bar */
    u.pressure = 1e5 * ((1.0 / CODATA2014_E) / 1e30);
    return u;
}

int bmd_units_parse(const char *name) {
    if (name && strcmp(name, "metal") == 0) return BMD_UNITS_METAL;
    if (name && strcmp(name, "lj") == 0) return BMD_UNITS_LJ;
    return -1;
}
