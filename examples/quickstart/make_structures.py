#!/usr/bin/python3
"""Makes structures.extxyz for the quickstart: 24 argon clusters (icosahedra
of 13, 55 and 147 atoms and random-ish blobs), each perturbed so that FIRE
has work to do. Run once; the output is committed beside this script."""
import numpy as np
from ase.cluster import Icosahedron
from ase import Atoms
import ase.io

rng = np.random.default_rng(7)
frames = []
for i in range(24):
    kind = i % 4
    if kind < 3:
        atoms = Icosahedron("Ar", noshells=kind + 2, latticeconstant=5.26)
    else:
        n = int(rng.integers(8, 40))
        pos = []
        while len(pos) < n:  # random close packing with a minimum distance
            p = rng.uniform(-6, 6, 3)
            if all(np.linalg.norm(p - q) > 3.3 for q in pos):
                pos.append(p)
        atoms = Atoms("Ar%d" % n, positions=pos)
    atoms.positions += rng.normal(0, 0.15, atoms.positions.shape)
    atoms.info["name"] = "cluster-%02d" % i
    if i == 5:
        atoms.info["temperature"] = 60.0  # per-structure override of the anneal stage
    frames.append(atoms)
ase.io.write("structures.extxyz", frames)
