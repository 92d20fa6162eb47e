#!/usr/bin/python3
"""`batchmd run` with a FIRE stage against ase.optimize.FIRE (ASE 3.22) on
perturbed LJ clusters and periodic cells relaxed together in one batch:
each structure takes the same number of steps (steps_relax = ASE's nsteps),
reaches the same energy, and converged_relax agrees. A second run with a
tight batch budget refilled every step gives bitwise the same frames."""
import os
import tempfile

import numpy as np
import ase.io
from ase import Atoms
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.optimize import FIRE

from testlib import Checks, run

EPS, SIG, RC, FMAX, MAXSTEPS = 0.0104, 3.40, 8.5, 0.001, 1000
rng = np.random.default_rng(11)
frames = []
for n in (4, 7, 13, 20, 38):
    pos = []
    while len(pos) < n:
        p = rng.uniform(-1, 1, 3) * 2.6 * n ** (1 / 3)
        if all(np.linalg.norm(p - q) > 3.4 for q in pos):
            pos.append(p)
    frames.append(Atoms("Ar%d" % n, positions=pos))
for k in range(3):
    a = bulk("Ar", "fcc", a=5.3 + 0.05 * k, cubic=True).repeat((2, 2, 2))
    del a[k * 5]
    a.positions += rng.normal(0, 0.08, a.positions.shape)
    frames.append(a)

CAMPAIGN = """model: {type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}
input: in.extxyz
stages: {relax: {type: fire, fmax: %r, max_steps: %d}}
batch: {max_atoms: %d, refill_every: %d}
output: {final: %s}
"""

c = Checks()
with tempfile.TemporaryDirectory() as d:
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    outs = []
    for name, max_atoms, refill in (("roomy", 5000, 10), ("tight", 40, 1)):
        with open(os.path.join(d, name + ".yaml"), "w") as f:
            f.write(CAMPAIGN % (EPS, SIG, RC, FMAX, MAXSTEPS, max_atoms, refill, name + ".extxyz"))
        r = run("run", "--quiet", os.path.join(d, name + ".yaml"))
        c.check(r.returncode == 0, "%s run exit 0 (stderr: %s)" % (name, r.stderr))
        outs.append(os.path.join(d, name + ".extxyz"))
    got = {a.info["system_id"]: a for a in ase.io.read(outs[0], ":")}
    c.check(sorted(got) == list(range(len(frames))), "every system exactly once")
    for i, ref in enumerate(frames):
        ref = ref.copy()
        ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
        opt = FIRE(ref, logfile=None)
        conv = opt.run(fmax=FMAX, steps=MAXSTEPS)
        out = got.get(i)
        if out is None:
            continue
        c.check(out.info.get("steps_relax") == opt.nsteps,
                "system %d: %s steps vs ASE %d" % (i, out.info.get("steps_relax"), opt.nsteps))
        c.check(bool(out.info.get("converged_relax")) == bool(conv), "system %d: converged flag" % i)
        e, e_out = ref.get_potential_energy(), out.get_potential_energy()
        c.check(abs(e - e_out) <= 1e-8 * abs(e), "system %d: energy %r vs ASE %r" % (i, e_out, e))
        c.check(np.abs(out.positions - ref.positions).max() < 1e-6, "system %d: positions vs ASE" % i)
    with open(outs[0]) as f1, open(outs[1]) as f2:
        roomy = {a.info["system_id"]: a for a in ase.io.read(f1, ":", format="extxyz")}
        tight = {a.info["system_id"]: a for a in ase.io.read(f2, ":", format="extxyz")}
    for i in roomy:
        same = np.array_equal(roomy[i].positions, tight[i].positions) and \
            roomy[i].get_potential_energy() == tight[i].get_potential_energy()
        c.check(same, "system %d: bitwise identical under a tight budget refilled every step" % i)
c.finish()
