#!/usr/bin/python3
"""Makes structures.extxyz for the lattice example: six copper crystals
(3x3x3 cubic fcc cells, 108 atoms; one with a vacancy, 107) built with the
wrong lattice constant (3.50 to 3.75 Å; Cu_u3.eam's is 3.615 Å), strained
and rattled differently (fixed seed), so that the variable-cell relaxation
has a lattice to find. The last two run their NPT stage at their own state
point (temperature= and pressure= on their info lines). Run once; the
output is committed beside it."""
import numpy as np
from ase.build import bulk
import ase.io

rng = np.random.default_rng(16)
frames = []
for i, a0 in enumerate([3.50, 3.55, 3.60, 3.65, 3.70, 3.75]):
    atoms = bulk("Cu", "fcc", a=a0, cubic=True).repeat((3, 3, 3))
    if i == 2:
        del atoms[0]  # a vacancy
    strain = np.eye(3) + 0.02 * rng.normal(size=(3, 3))
    atoms.set_cell(atoms.cell[:] @ strain, scale_atoms=True)
    atoms.positions += rng.normal(0, 0.03, atoms.positions.shape)
    atoms.info["name"] = "Cu-%d" % i
    if i == 4:
        atoms.info["temperature"] = 600.0  # npt and md stages
    if i == 5:
        atoms.info["pressure"] = 50000.0  # bar: the relaxation and npt stages
    frames.append(atoms)
ase.io.write("structures.extxyz", frames)
