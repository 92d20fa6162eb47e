#!/usr/bin/python3
"""morse_lammps_test.py — batchmd's Morse model against LAMMPS (pair_style
morse, units metal, pair_modify shift yes) on the structures of
lj_lammps_test.py (triclinic periodic box with unwrapped atoms, a cell
smaller than twice the cutoff, a slab): energy, forces and virial to 1e-8
relative. The driver is shared with lj_lammps_test.py. Prints
"N passed, 0 failed" and exits nonzero on any failure."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lj_lammps_test as common  # noqa: E402

# type pair -> (D0 eV, alpha 1/Å, r0 Å, cutoff Å); Ar = 1, Kr = 2
MORSE_PARAMS = {(1, 1): (0.0120, 1.20, 3.80, 8.0), (2, 2): (0.0160, 1.10, 4.00, 8.5),
                (1, 2): (0.0140, 1.15, 3.90, 7.0)}


def main():
    passed, failed = common.run_all("morse", "morse", MORSE_PARAMS, seed=7771)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
