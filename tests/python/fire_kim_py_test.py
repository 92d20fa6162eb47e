"""ASE's own FIRE (ase.optimize.FIRE, ASE 3.22) driving bmd.Calculator over
a KIM EAM model takes the same steps as batchmd's FIRE run inflight on the
same structures: per structure the same step count (steps_fire = ASE's
nsteps), the same convergence flag and the same final positions to 1e-10 Å,
with ASE's default parameters and with every FIRE parameter changed (ASE's
names: dt, maxstep, dtmax, Nmin, finc, fdec, astart, fa, a). Structures:
perturbed Cu icosahedra (13, 55 atoms) and periodic fcc Cu cells with a
vacancy, relaxed together in one batch, then under a budget of 60 atoms
(refilled every step) where they take turns."""
import numpy as np
from ase.build import bulk
from ase.cluster import Icosahedron
from ase.optimize import FIRE

from pylib import Checks
import batchmd as bmd

KIM_MODEL = "EAM_Dynamo_AcklandTichyVitek_1987_Cu__MO_179025990738_005"  # kim-api-collections-management list
FMAX, MAX_STEPS = 0.001, 2000  # eV/Å
c = Checks()
model = bmd.models.KIM(KIM_MODEL)
rng = np.random.default_rng(3)
frames = []
for shells in (2, 3):
    a = Icosahedron("Cu", shells, latticeconstant=3.61)
    a.positions += rng.normal(0, 0.1, a.positions.shape)
    frames.append(a)
for k in range(2):
    a = bulk("Cu", "fcc", a=3.61 + 0.03 * k, cubic=True).repeat((2, 2, 2))
    del a[3 * k]
    a.positions += rng.normal(0, 0.05, a.positions.shape)
    frames.append(a)

PARAM_SETS = ({}, {"dt": 0.05, "maxstep": 0.1, "dtmax": 0.6, "Nmin": 3, "finc": 1.2, "fdec": 0.4,
                   "astart": 0.15, "fa": 0.95, "a": 0.15})
for params in PARAM_SETS:
    label = "ASE defaults" if not params else "every parameter changed"
    refs = []
    for a in frames:
        ref = a.copy()
        ref.calc = bmd.Calculator(model)
        opt = FIRE(ref, logfile=None, **params)
        converged = opt.run(fmax=FMAX, steps=MAX_STEPS)
        refs.append((ref, opt.nsteps, converged))
        c.check(opt.nsteps > 20, f"{label}: ASE took only {opt.nsteps} steps: the test needs more")
    for max_atoms, refill in ((10000, 5), (60, 1)):
        what = f"{label}, max_atoms {max_atoms}"
        res = bmd.FIRE(model, fmax=FMAX, max_steps=MAX_STEPS, **params).run(frames, max_atoms=max_atoms,
                                                                            refill_every=refill)
        got = {a.info["system_id"]: a for a in res.final}
        c.check(sorted(got) == list(range(len(frames))) and not res.failed,
                f"{what}: systems {sorted(got)} back, {len(res.failed)} failed")
        if max_atoms == 60:
            c.check(res.stats["peak_atoms"] <= 60, f"{what}: peak {res.stats['peak_atoms']} atoms")
        for i, (ref, nsteps, converged) in enumerate(refs):
            out = got.get(i)
            if out is None:
                continue
            c.check(out.info.get("steps_fire") == nsteps,
                    f"{what}: system {i}: {out.info.get('steps_fire')} steps, ASE {nsteps}")
            c.check(out.info.get("converged_fire") == bool(converged), f"{what}: system {i}: converged flag")
            err = np.abs(out.positions - ref.positions).max()
            c.check(err < 1e-10, f"{what}: system {i}: positions differ from ASE's by {err:.3g} Å")
            e, e_ref = out.get_potential_energy(), ref.get_potential_energy()
            c.check(abs(e - e_ref) <= 1e-10 * abs(e_ref), f"{what}: system {i}: energy {e!r}, ASE {e_ref!r}")
c.finish()
