#!/usr/bin/python3
"""Variable-cell relaxation from the Python package: bmd.FIRE(model,
cell={...}) takes the campaign's `cell:` keys (filter, pressure, mask,
hydrostatic, constant_volume, cell_factor, stress as a list of 6), and
atoms.info["pressure"] overrides the pressure per structure.

- bmd.FIRE(cell={"filter": "unit", "pressure": P}) and {"filter": "exp"},
  on two perturbed Cu-like LJ cells in one batch, the second with its own
  info["pressure"], take ASE 3.22's FIRE(UnitCellFilter / ExpCellFilter,
  scalar_pressure) steps: the same step count and convergence, the final
  energy to 1e-10 eV and cell to 1e-8 Å;
- bmd.FIRE2(cell={"filter": "frechet", "stress": [...]}) converges to a cell
  whose stress, from ASE's LennardJones, is the target within the bound the
  convergence test implies (fmax N ‖F‖ e^‖log F‖ / V per row);
- a stress list of the wrong length or a key of the catalogue's own
  (stress_xx) is a TypeError before anything runs."""
from pylib import Checks  # first: puts the build tree's batchmd on sys.path

import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.constraints import ExpCellFilter, UnitCellFilter
from ase.optimize import FIRE
from scipy.linalg import logm

import batchmd as bmd

EPS, SIG, RC = 0.415, 2.277, 5.7
c = Checks()
model = bmd.models.LennardJones(epsilon=EPS, sigma=SIG, cutoff=RC, shift=True)
rng = np.random.default_rng(4)
frames = []
for k, a0 in enumerate((3.70, 3.55)):
    a = bulk("Cu", "fcc", a=a0, cubic=True).repeat((2, 1, 1))
    a.set_cell(a.cell[:] @ (np.eye(3) + 0.02 * rng.normal(size=(3, 3))), scale_atoms=True)
    a.positions += rng.normal(0, 0.04, a.positions.shape)
    frames.append(a)
frames[1].info["pressure"] = -3000.0

for filt, cls in (("unit", UnitCellFilter), ("exp", ExpCellFilter)):
    res = bmd.FIRE(model, cell={"filter": filt, "pressure": 8000.0}, fmax=1e-3, max_steps=2000).run(frames)
    got = {a.info["system_id"]: a for a in res.final}
    c.check(sorted(got) == [0, 1] and not res.failed, f"{filt}: both relaxed ({sorted(got)}, {len(res.failed)} failed)")
    for i, start in enumerate(frames):
        ref = start.copy()
        ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
        p = start.info.get("pressure", 8000.0)
        opt = FIRE(cls(ref, scalar_pressure=p * units.bar), logfile=None)
        conv = opt.run(fmax=1e-3, steps=2000)
        out = got.get(i)
        if out is None:
            continue
        de = abs(out.get_potential_energy() - ref.get_potential_energy())
        dc = np.abs(out.cell[:] - ref.cell[:]).max()
        print(f"{filt} {i}: {out.info.get('steps_fire')} steps (ASE {opt.nsteps}), |ΔE| {de:.1e} eV, |Δcell| {dc:.1e} Å")
        c.check(out.info.get("steps_fire") == opt.nsteps and out.info.get("converged_fire") == bool(conv),
                f"{filt} {i}: {out.info.get('steps_fire')} steps, ASE {opt.nsteps}")
        c.check(de <= 1e-10 and dc <= 1e-8, f"{filt} {i}: energy off by {de:.3g} eV, cell by {dc:.3g} Å")

target = [1500.0, -500.0, 0.0, 800.0, 0.0, -300.0]  # bar, xx yy zz yz xz xy, ASE's sign
fmax = 1e-4
res = bmd.FIRE2(model, cell={"filter": "frechet", "stress": target}, fmax=fmax, max_steps=5000).run(frames[:1])
c.check(len(res.final) == 1 and not res.failed, f"frechet with a target stress: {len(res.final)} done")
if res.final:
    out = res.final[0]
    atoms = out.copy()
    atoms.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
    want = np.zeros((3, 3))
    for k, (x, y) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        want[x, y] = want[y, x] = target[k] * units.bar
    F = np.linalg.solve(frames[0].cell[:], out.cell[:]).T
    bound = fmax * len(out) * np.linalg.norm(F, 2) * np.exp(np.linalg.norm(logm(F), 2)) / out.get_volume()
    err = np.sqrt(((atoms.get_stress(voigt=False) - want) ** 2).sum(axis=1)).max()
    print(f"frechet, target stress: converged {out.info.get('converged_fire2')} in {out.info.get('steps_fire2')} "
          f"steps, |σ − σ_t| {err:.2e} eV/Å³ (bound {bound:.2e})")
    c.check(out.info.get("converged_fire2") is True and err <= bound, f"stress off the target by {err:.3g} eV/Å³")

for bad in ({"filter": "unit", "stress": [1.0, 2.0]}, {"filter": "unit", "stress_xx": 1.0},
            {"filter": "unit", "stress": [1, 2, 3, 4, 5, True]}):
    try:
        bmd.FIRE(model, cell=bad)
        c.check(False, f"cell={bad} accepted")
    except TypeError as e:
        c.check("cell" in str(e), f"cell={bad}: {e}")
c.finish()
