#!/usr/bin/python3
"""Makes structures.extxyz for the C API example (relax_md.c reads it when
given as its argument): four argon structures, two icosahedral clusters and
two periodic fcc crystals, shaken with a fixed seed so FIRE has work to do.
Run once; the output is committed beside this script."""
import numpy as np
from ase.build import bulk
from ase.cluster import Icosahedron
import ase.io

rng = np.random.default_rng(11)
frames = [Icosahedron("Ar", noshells=2, latticeconstant=5.26),
          Icosahedron("Ar", noshells=3, latticeconstant=5.26),
          bulk("Ar", "fcc", a=5.26, cubic=True).repeat((3, 3, 3)),
          bulk("Ar", "fcc", a=5.30, cubic=True).repeat((2, 3, 3))]
for i, atoms in enumerate(frames):
    atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
    atoms.info["name"] = "argon-%d" % i
ase.io.write("structures.extxyz", frames)
