#!/usr/bin/python3
"""bmd.models.ASECalculator(EMT()) relaxing Cu clusters with bmd.FIRE, all
in one batch, against ASE 3.22's own ase.optimize.FIRE with EMT, one
cluster at a time: the same number of steps (steps_fire = ASE's nsteps),
the same convergence flag, positions to 1e-10 Å and energies to 1e-10 eV.

batchmd's FIRE is ASE's (docs/campaign.md, stages): its parameters map one
to one onto ase.optimize.FIRE's, with the same defaults — dt 0.1, maxstep
0.2 Å, dtmax 1.0, Nmin 5, finc 1.1, fdec 0.5, astart 0.1, fa 0.99, a 0.1
(ASE: downhill_check=False) — and the same convergence test, max_i |F_i| <
fmax. They are passed explicitly to both here, so a change of either's
defaults cannot hide. A periodic cell also gets EMT's stress through the
bridge (= ASE's EMT stress), and per-atom energies through
bmd.Calculator equal EMT's."""
from pylib import Checks  # first: puts the build tree's batchmd on sys.path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.cluster import Icosahedron, Octahedron
from ase.optimize import FIRE

import batchmd as bmd

FMAX, MAXSTEPS = 0.01, 400
PARAMS = dict(dt=0.1, maxstep=0.2, dtmax=1.0, Nmin=5, finc=1.1, fdec=0.5, astart=0.1, fa=0.99, a=0.1)

c = Checks()
rng = np.random.default_rng(21)
clusters = []
ico = Icosahedron("Cu", 2)
ico.rattle(0.1, seed=1)
clusters.append(ico)
octa = Octahedron("Cu", 3)
octa.rattle(0.1, seed=2)
clusters.append(octa)
pos = []
while len(pos) < 8:  # a random 8-atom cluster, atoms at least 2.2 Å apart
    p = rng.uniform(-2.8, 2.8, 3)
    if all(np.linalg.norm(p - q) > 2.2 for q in pos):
        pos.append(p)
clusters.append(Atoms("Cu8", positions=pos))
for a in clusters:
    a.info.clear()

model = bmd.models.ASECalculator(EMT())
r = bmd.FIRE(model, fmax=FMAX, max_steps=MAXSTEPS, **PARAMS).run(clusters)
c.check(len(r.final) == len(clusters) and not r.failed, "every cluster ends in final")
got = {a.info["system_id"]: a for a in r.final}
for k, start in enumerate(clusters):
    ref = start.copy()
    ref.calc = EMT()
    opt = FIRE(ref, logfile=None, downhill_check=False, **PARAMS)
    conv = opt.run(fmax=FMAX, steps=MAXSTEPS)
    out = got.get(k)
    if out is None:
        continue
    c.check(out.info.get("steps_fire") == opt.nsteps, f"cluster {k} ({len(start)} atoms): "
                                                     f"{out.info.get('steps_fire')} steps vs ASE's {opt.nsteps}")
    c.check(bool(out.info.get("converged_fire")) == bool(conv), f"cluster {k}: converged flag as ASE's ({conv})")
    dx = np.abs(out.positions - ref.positions).max()
    c.check(dx < 1e-10, f"cluster {k}: positions as ASE's FIRE (max diff {dx:.1e} Å)")
    de = abs(out.get_potential_energy() - ref.get_potential_energy())
    c.check(de < 1e-10, f"cluster {k}: energy as ASE's (diff {de:.1e} eV)")

# stress of a periodic cell through the bridge (EMT's, W = σV there and back)
cell = bulk("Cu", "fcc", a=3.65).repeat((2, 2, 2))
cell.rattle(0.02, seed=3)
out = bmd.evaluate([cell], model)[0]
ref = cell.copy()
ref.calc = EMT()
ds = np.abs(out.get_stress() - ref.get_stress()).max()
c.check(ds < 1e-12, f"periodic cell: stress = EMT's (max diff {ds:.1e} eV/Å³)")
df = np.abs(out.get_forces() - ref.get_forces()).max()
c.check(df < 1e-12, f"periodic cell: forces = EMT's (max diff {df:.1e} eV/Å)")

# per-atom energies through the bridge (ASE's Calculator asks for them)
at = ico.copy()
at.calc = bmd.Calculator(model)
epa = at.get_potential_energies()
ref = ico.copy()
ref.calc = EMT()
de = np.abs(epa - ref.get_potential_energies()).max()
c.check(de < 1e-12, f"per-atom energies = EMT's (max diff {de:.1e} eV)")
c.finish()
