/* elements.h — the periodic table: symbols and ASE's standard masses. */
#ifndef BATCHMD_ELEMENTS_H
#define BATCHMD_ELEMENTS_H

#ifdef __cplusplus
extern "C" {
#endif

#define BMD_N_ELEMENTS 119 /* Z = 0 ('X') .. 118 ('Og') */

/* Chemical symbol of atomic number z ("X" for 0), NULL when out of range. */
const char *bmd_element_symbol(int z);
/* Standard atomic mass of z in amu (ASE's ase.data.atomic_masses); 0 when out of range. */
double bmd_element_mass(int z);
/* Atomic number of a symbol (case-sensitive, "Cu"), -1 when unknown. */
int bmd_element_from_symbol(const char *symbol);

#ifdef __cplusplus
}
#endif

#endif
