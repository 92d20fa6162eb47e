#!/usr/bin/python3
"""Makes structures.extxyz for the LJ liquid example (lj units): three
independent replicas of 256 atoms on an fcc lattice at the reduced density
rho* = 0.8442 of the classic LJ benchmarks (LAMMPS bench/in.lj, in.melt),
each with a small random displacement (fixed seed). The campaign gives each
its own Maxwell-Boltzmann velocities (keyed by seed and system_id) and melts
it. Positions are in sigma; the species only names the atoms (masses are 1
in lj units). Run once; the output is committed beside this script."""
import numpy as np
from ase.build import bulk
import ase.io

rho = 0.8442                        # atoms per sigma^3
a = (4.0 / rho) ** (1.0 / 3.0)      # fcc: 4 atoms per cubic cell
rng = np.random.default_rng(8442)
frames = []
for i in range(3):
    atoms = bulk("Ar", "fcc", a=a, cubic=True).repeat((4, 4, 4))
    atoms.positions += rng.normal(0, 0.01, atoms.positions.shape)
    atoms.info["name"] = "lj-liquid-%d" % i
    frames.append(atoms)
ase.io.write("structures.extxyz", frames)
