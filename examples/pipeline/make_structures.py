#!/usr/bin/python3
"""Makes structures.extxyz for the pipeline example (metal units): 32 argon
structures — icosahedral and cuboctahedral clusters of 13 to 147 atoms and
small periodic fcc crystals with a vacancy — each with a small random
displacement (fixed seed), so that the relaxation has work to do. Run once;
the output is committed beside this script."""
import numpy as np
import ase.io
from ase.build import bulk
from ase.cluster import Icosahedron, Octahedron

A0 = 5.26  # fcc argon lattice constant, Å
rng = np.random.default_rng(2024)
frames = []
for i in range(32):
    kind = i % 4
    if kind == 0:
        atoms = Icosahedron("Ar", noshells=2 + i % 3, latticeconstant=A0)
    elif kind == 1:
        atoms = Octahedron("Ar", length=4, cutoff=1, latticeconstant=A0)
    else:
        atoms = bulk("Ar", "fcc", a=A0 * rng.uniform(0.99, 1.02), cubic=True).repeat((2, 2, 2 + i % 2))
        del atoms[int(rng.integers(0, len(atoms)))]
    atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
    if not atoms.pbc.any():
        atoms.center(vacuum=6.0)
    atoms.info["name"] = "ar-%02d" % i
    frames.append(atoms)
ase.io.write("structures.extxyz", frames)
