"""One model used from several Python threads at once (the GIL is
released while C evaluates): a model keeps neighbor lists and work arrays
between evaluations, so its uses take turns instead of corrupting each
other (before, this crashed). Four threads each evaluate rattled 108-atom
fcc Ar crystals through bmd.Calculator (a model with a Verlet skin) and
four threads run NVE on the same model: every energy equals ASE's
LennardJones for that structure, every run equals the same run made alone.
A hook that evaluates the model its own run is evaluating is refused with
an error saying why (it would deadlock or corrupt the run)."""
import threading

import numpy as np
from ase.build import bulk
from ase.calculators.lj import LennardJones

from pylib import Checks
import batchmd as bmd

EPS, SIG, RC = 0.0104, 3.40, 8.5
c = Checks()
model = bmd.models.LennardJones(epsilon=EPS, sigma=SIG, cutoff=RC, shift=True, skin=1.0)
crystal = bulk("Ar", "fcc", a=5.3, cubic=True).repeat((3, 3, 3))
md = bmd.NVE(model, dt=2.0, steps=15, init_temperature=40)
alone = md.run([crystal], seed=2).final[0]
errors, mismatches, runs = [], [], []


def calculate(seed):
    try:
        rng = np.random.default_rng(seed)
        for i in range(25):
            a = crystal.copy()
            a.positions += rng.normal(0, 0.05, a.positions.shape)
            ref = a.copy()
            ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
            a.calc = bmd.Calculator(model)
            e, e_ref = a.get_potential_energy(), ref.get_potential_energy()
            if abs(e - e_ref) > 1e-10 * abs(e_ref):
                mismatches.append(f"thread {seed}, structure {i}: {e!r} vs ASE {e_ref!r}")
    except Exception as ex:  # reported below
        errors.append(f"calculator thread {seed}: {type(ex).__name__}: {ex}")


def simulate(seed):
    try:
        for _ in range(3):
            runs.append(md.run([crystal], seed=2).final[0])
    except Exception as ex:
        errors.append(f"run thread {seed}: {type(ex).__name__}: {ex}")


threads = [threading.Thread(target=calculate, args=(s,)) for s in range(4)] + \
    [threading.Thread(target=simulate, args=(s,)) for s in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
c.check(not errors, f"errors in threads: {errors[:3]}")
c.check(not mismatches, f"{len(mismatches)} energies differ from ASE's: {mismatches[:3]}")
c.check(len(runs) == 12, f"{len(runs)} runs finished of 12")
for i, r in enumerate(runs):
    c.check(np.array_equal(r.positions, alone.positions) and np.array_equal(r.get_momenta(), alone.get_momenta()),
            f"concurrent run {i} differs from the run made alone")


def reenter(batch):
    a = crystal.copy()
    a.calc = bmd.Calculator(model)
    a.get_potential_energy()


reenter.stage = bmd.HookStageEnum.AFTER_STEP
try:
    bmd.NVE(model, dt=2.0, steps=3, hooks=[reenter]).run([crystal])
    c.check(False, "a hook evaluating its own run's model: no error")
except bmd.BatchmdError as e:
    c.check("being evaluated" in str(e) and "another model object" in str(e), f"re-entrant use: {e}")
other = bmd.models.LennardJones(epsilon=EPS, sigma=SIG, cutoff=RC, shift=True, skin=1.0)


def other_model(batch):
    a = crystal.copy()
    a.calc = bmd.Calculator(other)
    a.get_potential_energy()


other_model.stage = bmd.HookStageEnum.AFTER_STEP
res = bmd.NVE(model, dt=2.0, steps=3, hooks=[other_model]).run([crystal])
c.check(len(res.final) == 1, "a hook evaluating another model object: the run did not finish")
c.finish()
