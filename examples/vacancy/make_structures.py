#!/usr/bin/python3
"""Makes structures.extxyz for the vacancy example: six copies of a
copper-like fcc crystal (3x3x3 cubic cells, a = 3.65 Å, the lattice constant
of the campaign's Morse potential) with one vacancy (107 atoms), each rattled
differently (fixed seed) so that FIRE has work to do. Two copies each are
equilibrated at 300 K (the stage's value), 600 K and 900 K (per-structure
overrides on the info line). Run once; the output is committed beside it."""
import numpy as np
from ase.build import bulk
import ase.io

rng = np.random.default_rng(2024)
frames = []
for i, temperature in enumerate([300, 300, 600, 600, 900, 900]):
    atoms = bulk("Cu", "fcc", a=3.65, cubic=True).repeat((3, 3, 3))
    del atoms[0]  # the vacancy
    atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
    atoms.info["name"] = "vacancy-%d" % i
    if temperature != 300:
        atoms.info["temperature"] = float(temperature)       # heat and sample stages
        atoms.info["init_temperature"] = float(temperature)  # velocities on entering heat
    frames.append(atoms)
ase.io.write("structures.extxyz", frames)
