#!/usr/bin/python3
"""`batchmd eval` against ASE's own Lennard-Jones calculator (an independent
implementation): energies, forces and stresses of a periodic triclinic cell,
a cell smaller than the cutoff, a slab and an open cluster, read back with
ase.io.read. ASE 3.22's LennardJones shifts the pair energy to zero at rc,
as `shift: true` does."""
import os
import tempfile

import numpy as np
import ase.io
from ase import Atoms
from ase.build import bulk
from ase.calculators.lj import LennardJones

from testlib import Checks, run

EPS, SIG, RC = 0.0104, 3.40, 8.5
rng = np.random.default_rng(3)
frames = []
a = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 2, 2))
a.set_cell(a.cell.array + [[0, 0, 0], [0.9, 0, 0], [0.4, -0.7, 0]], scale_atoms=True)
a.positions += rng.normal(0, 0.1, a.positions.shape)
frames.append(a)
small = bulk("Ar", "fcc", a=5.4)  # one atom in a primitive cell: it meets its own images
small.positions += 0.05
frames.append(small)
small2 = Atoms("Ar3", positions=[[0, 0, 0], [3.1, 0.4, 0.2], [1.2, 2.9, 0.3]],
               cell=[[5.0, 0, 0], [1.0, 5.2, 0], [0.5, 0.8, 4.9]], pbc=True)
frames.append(small2)
slab = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 2, 1))
slab.center(vacuum=6.0, axis=2)
slab.pbc = [True, True, False]
slab.positions += rng.normal(0, 0.1, slab.positions.shape)
frames.append(slab)
cl = Atoms("Ar13", positions=rng.normal(0, 1, (13, 3)) * 3.0)
cl.positions = np.array([p * 1.0 for p in cl.positions])
frames.append(cl)

c = Checks()
with tempfile.TemporaryDirectory() as d:
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    frames = ase.io.read(os.path.join(d, "in.extxyz"), ":")  # what batchmd reads (ASE writes 8 decimals)
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write("model: {type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}\n"
                "input: in.extxyz\nstages: {relax: {type: fire}}\noutput: {final: out.extxyz}\n" % (EPS, SIG, RC))
    r = run("eval", "--quiet", os.path.join(d, "c.yaml"))
    c.check(r.returncode == 0, "eval exit status 0 (stderr: %s)" % r.stderr)
    got = ase.io.read(os.path.join(d, "out.extxyz"), ":") if r.returncode == 0 else []
    c.check(len(got) == len(frames), "one frame out per frame in")
    for i, (ref, out) in enumerate(zip(frames, got)):
        calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
        ref.calc = calc
        e, f = ref.get_potential_energy(), ref.get_forces()
        c.check(out.info.get("system_id") == i, "system %d: system_id" % i)
        c.check(np.array_equal(out.positions, ref.positions), "system %d: positions round trip bitwise" % i)
        e_out = out.get_potential_energy()
        c.check(abs(e_out - e) <= 1e-10 * max(1.0, abs(e)), "system %d: energy %r vs ASE %r" % (i, e_out, e))
        df = np.abs(out.get_forces() - f).max()
        c.check(df <= 1e-10 * max(1.0, np.abs(f).max()), "system %d: forces differ from ASE by %g" % (i, df))
        if all(ref.pbc):
            s = ref.get_stress()
            ds = np.abs(out.get_stress() - s).max()
            c.check(ds <= 1e-10 * max(1e-3, np.abs(s).max()), "system %d: stress differs from ASE by %g" % (i, ds))
c.finish()
