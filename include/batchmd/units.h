/* units.h — the two unit systems of docs/campaign.md, in one place.
 *
 * metal: length Å, energy eV, mass amu, time fs, temperature K,
 *        velocity Å/fs, force eV/Å, stress eV/Å³ (ASE's sign: tensile
 *        positive), friction 1/fs; pressures in a campaign file and the log
 *        in bar (as LAMMPS's metal units), compressibility 1/bar.
 * lj:    length σ, energy ε, mass m, time τ, temperature ε/k_B,
 *        pressure ε/σ³.
 *
 * Pressure and stress: the batch's stress is eV/Å³ (ε/σ³); a pressure
 * P = −tr(σ)/3 (+ the kinetic 2K/3V where stated) is compressive
 * positive.
 *
 * The physical constants are CODATA 2014, the set ASE 3.22 uses, so that
 * momenta and temperatures round-trip through ASE exactly. */
#ifndef BATCHMD_UNITS_H
#define BATCHMD_UNITS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bmd_units_kind { BMD_UNITS_METAL = 0, BMD_UNITS_LJ = 1 } bmd_units_kind;

typedef struct bmd_units {
    bmd_units_kind kind;
    /* k_B in energy/temperature: 8.617330337217213e-5 eV/K (metal), 1 (lj). */
    double boltzmann;
    /* force/mass -> acceleration: (eV/Å)/amu in Å/fs² = 9.648533...e-3 (metal), 1 (lj).
     * a = ftm2v * F / m. */
    double ftm2v;
    /* mass*velocity² -> energy: amu·Å²/fs² in eV = 1/ftm2v (metal), 1 (lj).
     * KE = 0.5 * mvv2e * m v². */
    double mvv2e;
    /* ASE's fs (ase.units.fs = 0.09822694788464063) for metal, 1 for lj:
     * ASE momenta p = m * v / ase_time, with v in Å/fs. */
    double ase_time;
    /* One energy unit in kJ/mol: e·N_A/1000 = 96.4853328825 (metal; ASE's
     * 1 / (units.kJ / units.mol)), 1 for lj (reduced units are not converted). */
    double kjmol;
    /* One pressure unit of the campaign file and the log in energy/volume:
     * 1 bar = 6.241509125883258e-7 eV/Å³ (ASE 3.22's units.bar) for
     * metal, 1 for lj. */
    double pressure;
} bmd_units;

/* 1 bar and 1 GPa in eV/Å³ (CODATA 2014, ASE 3.22's units.bar and units.GPa). */
#define BMD_BAR_IN_EV_PER_A3 6.241509125883258e-07
#define BMD_GPA_IN_EV_PER_A3 6.241509125883258e-03

/* The constants of a unit system. */
bmd_units bmd_units_get(bmd_units_kind kind);
/* "metal" / "lj" -> kind; returns -1 for an unknown name. */
int bmd_units_parse(const char *name);

#ifdef __cplusplus
}
#endif

#endif
