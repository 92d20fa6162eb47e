#!/usr/bin/python3
"""batchmd's FIRE against ASE 3.22's ase.optimize.FIRE, structure by structure.

~20 perturbed Lennard-Jones clusters (4-68 atoms, no periodicity) and
5 periodic fcc cells (vacancies, perturbed) are relaxed by the driver
tests/tools/fire_run (ALL of them in ONE batch, FIRE with ASE's defaults,
fmax 0.05 eV/Å, max_steps 1000) and, one by one, by ASE's FIRE with ASE's
LennardJones calculator (same epsilon, sigma, rc; ASE 3.22 shifts the pair
energy to 0 at rc, so the driver uses shift=1). Asserted per structure:
identical step counts (ASE's nsteps) and convergence flags, final energies to
1e-8 relative, final positions to 1e-6 Å.

Batch independence: the same structures relaxed in reverse order, in small
groups and one by one give bitwise the same numbers (the driver writes
%.17g)."""
import os
import sys
import tempfile

import numpy as np
import ase.io
from ase.calculators.lj import LennardJones
from ase.optimize import FIRE

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lj_structures import (EPS, SIG, RC, FMAX, MAXSTEPS, FIRE_RUN, batch_independence, check, failures,  # noqa: E402
                           fire_run, parse, structures)


def main():
    if not os.access(FIRE_RUN, os.X_OK):
        sys.exit("fire_run driver not found at %s (set BATCHMD_TOOLS)" % FIRE_RUN)
    frames = structures()
    n = len(frames)
    with tempfile.TemporaryDirectory() as d:
        inp = os.path.join(d, "in.extxyz")
        ase.io.write(inp, frames, format="extxyz")
        frames = ase.io.read(inp, ":")  # the reference starts from the digits the file holds
        ours = fire_run(inp, os.path.join(d, "all.txt"))
        check(sorted(ours) == list(range(n)), "every structure relaxed once")

        # ASE, one structure at a time
        worst_e = worst_x = 0.0
        for i, ref in enumerate(frames):
            ref = ref.copy()
            ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
            opt = FIRE(ref, logfile=None)
            conv = opt.run(fmax=FMAX, steps=MAXSTEPS)
            steps, c, e, pos = parse(ours[i])
            e_ref = ref.get_potential_energy()
            de = abs(e - e_ref) / abs(e_ref)
            dx = np.abs(pos - ref.positions).max()
            worst_e, worst_x = max(worst_e, de), max(worst_x, dx)
            print("  %2d: %3d atoms pbc=%d  steps %4d (ASE %4d)  converged %d (ASE %d)  dE/E %.1e  dx %.1e" %
                  (i, len(ref), ref.pbc.any(), steps, opt.nsteps, c, conv, de, dx), flush=True)
            check(steps == opt.nsteps, "structure %d: %d steps, ASE %d" % (i, steps, opt.nsteps))
            check(c == bool(conv), "structure %d: converged %s, ASE %s" % (i, c, conv))
            check(de <= 1e-8, "structure %d: energy %r vs ASE %r" % (i, e, e_ref))
            check(dx <= 1e-6, "structure %d: positions differ from ASE's by %.3g Å" % (i, dx))
        print("  worst relative energy difference %.2e, worst position difference %.2e Å" % (worst_e, worst_x))

        batch_independence(inp, ours, n)
    print("%d structures, %d failures" % (n, len(failures)))
    sys.exit(1 if failures else 0)


main()
