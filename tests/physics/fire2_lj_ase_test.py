#!/usr/bin/python3
"""batchmd's FIRE 2.0 (Guénolé et al. 2020) against ASE's FIRE2.

ASE 3.22 (installed) has no FIRE2; ASE >= 3.23 has ase/optimize/fire2.py.
Fire2Reference below re-implements that optimizer's published algorithm
(use_abc=False) on ASE 3.22's Optimizer, independently of the C code. ASE's
FIRE2 has no initialdelay and no N_neg,max, and clamps dt at dtmin, so
batchmd runs with initialdelay=0, Nnegmax=1e9 and a dtmin never reached;
everything else is the default. ASE evaluates the forces again after a half
step back, within the same iteration; batchmd makes that evaluation a step of
its own, so its step count is ASE's nsteps plus the number of half steps
back, and convergence is also checked after a half step back (the reference
stops there too when the forces there are converged). Where all forces
vanish (a cluster blown apart) ASE's mixing divides 0 by 0; batchmd and the
reference skip the mixing. Asserted per structure (the LJ structures of lj_structures.py, all in
one batch): step counts as said, convergence, energies to 1e-8 relative,
positions to 1e-6 Å. Then FIRE2 with the paper's defaults (initialdelay=1,
dtmin=0.02 dt): every structure converges, and the results are bitwise
batch-independent."""
import os
import sys
import tempfile

import numpy as np
import ase.io
from ase.calculators.lj import LennardJones
from ase.optimize.optimize import Optimizer

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lj_structures import (EPS, SIG, RC, FMAX, FIRE_RUN, batch_independence, check, failures,  # noqa: E402
                           fire_run, parse, structures)

MAXSTEPS = 3000


class Fire2Reference(Optimizer):
    """FIRE 2.0 as ASE >= 3.23's FIRE2 (semi-implicit Euler, mass-free,
    whole-step cap maxstep); counts its half steps back."""

    def __init__(self, atoms, dt=0.1, maxstep=0.2, dtmax=1.0, dtmin=2e-3, Nmin=20, finc=1.1, fdec=0.5,
                 astart=0.25, fa=0.99):
        Optimizer.__init__(self, atoms, None, None, None)
        self.dt, self.maxstep, self.dtmax, self.dtmin = dt, maxstep, dtmax, dtmin
        self.Nmin, self.finc, self.fdec, self.astart, self.fa = Nmin, finc, fdec, astart, fa
        self.a = astart
        self.Nsteps = 0
        self.backsteps = 0
        self.stopped_after_backstep = False

    def initialize(self):
        self.v = None

    def step(self, f=None):
        atoms = self.atoms
        if self.v is None:
            self.v = np.zeros((len(atoms), 3))
        else:
            f = atoms.get_forces()
            if np.vdot(f, self.v) > 0.0:
                self.Nsteps += 1
                if self.Nsteps > self.Nmin:
                    self.dt = min(self.dt * self.finc, self.dtmax)
                    self.a *= self.fa
            else:
                self.Nsteps = 0
                self.dt = max(self.dt * self.fdec, self.dtmin)
                self.a = self.astart
                atoms.set_positions(atoms.get_positions() + (-0.5 * self.dt * self.v))
                self.v[:] *= 0.0
                self.backsteps += 1
                if self.converged():  # batchmd checks here too, and stops
                    self.stopped_after_backstep = True
                    return
        f = atoms.get_forces()  # at the positions after a half step back
        self.v += self.dt * f
        if np.vdot(f, f) > 0:
            self.v = (1.0 - self.a) * self.v + self.a * f / np.sqrt(np.vdot(f, f)) * np.sqrt(np.vdot(self.v, self.v))
        dr = self.dt * self.v
        normdr = np.sqrt(np.vdot(dr, dr))
        if normdr > self.maxstep:
            dr = self.maxstep * dr / normdr
        atoms.set_positions(atoms.get_positions() + dr)


def main():
    if not os.access(FIRE_RUN, os.X_OK):
        sys.exit("fire_run driver not found at %s (set BATCHMD_TOOLS)" % FIRE_RUN)
    frames = structures()
    n = len(frames)
    as_ase = ["-t", "fire2", "-p", "initialdelay=0", "-p", "Nnegmax=1e9", "-p", "dtmin=1e-300"]
    with tempfile.TemporaryDirectory() as d:
        inp = os.path.join(d, "in.extxyz")
        ase.io.write(inp, frames, format="extxyz")
        frames = ase.io.read(inp, ":")
        ours = fire_run(inp, os.path.join(d, "ase.txt"), opts=as_ase, max_steps=MAXSTEPS)
        worst_e = worst_x = 0.0
        for i, ref in enumerate(frames):
            ref = ref.copy()
            ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
            opt = Fire2Reference(ref, dtmin=1e-300)
            conv = opt.run(fmax=FMAX, steps=MAXSTEPS)
            steps, c, e, pos = parse(ours[i])
            e_ref = ref.get_potential_energy()
            de = abs(e - e_ref) / max(abs(e_ref), 1e-300)
            dx = np.abs(pos - ref.positions).max()
            worst_e, worst_x = max(worst_e, de), max(worst_x, dx)
            want = opt.nsteps + opt.backsteps - opt.stopped_after_backstep
            print("  %2d: %3d atoms pbc=%d  steps %4d (ASE %4d + %3d back%s)  converged %d (%d)  E %.6f  dE/E %.1e  "
                  "dx %.1e" % (i, len(ref), ref.pbc.any(), steps, opt.nsteps, opt.backsteps,
                               ", stop after back" if opt.stopped_after_backstep else "", c, conv, e, de, dx),
                  flush=True)
            check(conv, "structure %d: the reference converges" % i)
            check(steps == want, "structure %d: %d steps, want %d" % (i, steps, want))
            check(c == bool(conv), "structure %d: converged %s, reference %s" % (i, c, conv))
            check(de <= 1e-8, "structure %d: energy %r vs reference %r" % (i, e, e_ref))
            check(dx <= 1e-6, "structure %d: positions differ from the reference's by %.3g Å" % (i, dx))
        print("  worst relative energy difference %.2e, worst position difference %.2e Å" % (worst_e, worst_x))

        # the paper's defaults: converges everywhere, batch-independent
        paper = fire_run(inp, os.path.join(d, "paper.txt"), opts=["-t", "fire2"], max_steps=MAXSTEPS)
        for i in range(n):
            steps, c, e, pos = parse(paper[i])
            check(c, "structure %d: FIRE2 with the paper's defaults converges (%d steps)" % (i, steps))
        print("  paper defaults: steps", [parse(paper[i])[0] for i in range(n)])
        batch_independence(inp, paper, n, opts=["-t", "fire2"], max_steps=MAXSTEPS)
    print("%d structures, %d failures" % (n, len(failures)))
    sys.exit(1 if failures else 0)


main()
