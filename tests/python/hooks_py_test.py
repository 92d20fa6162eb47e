"""Python hooks at the step loop's hook points (include/batchmd/dynamics.h
is the contract): an NVE stage of N steps over systems that all enter at
once fires BEFORE_STEP, the four update points, BEFORE_COMPUTE and
AFTER_STEP N times, AFTER_COMPUTE N + 1 times (the arrivals' evaluation
too) and ON_CONVERGE once (every system leaving at step N); a Hook
subclass with frequency k fires on the loop steps that are multiples of k,
ON_CONVERGE always. The Batch view: shapes and dtypes as documented, the
input's values at the arrivals' AFTER_COMPUTE (positions, numbers, masses,
cells, pbc, ids, layout) with ASE's LennardJones energies and forces, and
no copies: a hook zeroing the velocities after every post-update turns
velocity Verlet into x' = x + ½ dt² F(x)/m, which ASE's LJ reproduces step
by step, and leaves zero momenta. A Batch kept past its call raises on use;
an array kept past it, by a hook or by a Python model, stops the run with
an error naming it. batch.fail
sends one system to failed with the reason as status. Built-in hooks by
name and class: "nan" takes out a system whose energy a hook poisoned,
ForceClamp caps the forces the hooks after it see; those that would do
nothing without parameters are refused by name and without them. A hook is opened and
closed once per run, or once per `with` block of its stage."""
import numpy as np
from ase import units
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.cluster import Icosahedron

from pylib import Checks
import batchmd as bmd

EPS, SIG, RC = 0.0104, 3.40, 8.5
P = bmd.HookStageEnum
c = Checks()
model = bmd.models.LennardJones(epsilon=EPS, sigma=SIG, cutoff=RC, shift=True)
rng = np.random.default_rng(2)
frames = [Icosahedron("Ar", 2, latticeconstant=5.3), bulk("Ar", "fcc", a=5.3, cubic=True).repeat((2, 1, 1)),
          Icosahedron("Ar", 3, latticeconstant=5.3)]
for a in frames:
    a.positions += rng.normal(0, 0.05, a.positions.shape)
frames[1].set_masses(np.full(len(frames[1]), 36.0))  # custom masses must reach the batch
N = 7


def lj(atoms):
    a = atoms.copy()
    a.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
    return a.get_potential_energy(), a.get_forces()


# ---- 1. every point, frequency 1: counts, steps, masks; the view's arrays
seen = []
first = {}


def every_point(batch):
    seen.append((batch.point, batch.step, batch.substage, None if batch.mask is None else batch.mask.copy()))
    if not first and batch.point == P.AFTER_COMPUTE:
        for name in bmd.Batch._ARRAYS:
            arr = getattr(batch, name)
            first[name] = None if arr is None else (arr.shape, arr.dtype, arr.flags.owndata, arr.copy())
        first["again"] = np.shares_memory(batch.positions, batch.positions)
        first["sizes"] = (batch.n_atoms, batch.n_systems)


every_point.stage = P(511)  # all nine
res = bmd.NVE(model, dt=2.0, steps=N, init_temperature=20, hooks=[every_point]).run(frames, seed=4)
c.check(len(res.final) == 3 and not res.failed, f"run 1: {len(res.final)} final, {len(res.failed)} failed")
counts = {p: sum(1 for s in seen if s[0] == p) for p in P}
expected = {p: N for p in P}
expected[P.AFTER_COMPUTE] = N + 1
expected[P.ON_CONVERGE] = 1
c.check(counts == expected, f"calls per point {dict((p.name, n) for p, n in counts.items())}, "
        f"expected {dict((p.name, n) for p, n in expected.items())}")
c.check([s[1] for s in seen if s[0] == P.BEFORE_STEP] == list(range(1, N + 1)), "BEFORE_STEP steps 1..N")
c.check(seen[0][0] == P.AFTER_COMPUTE and seen[0][1] == 1, f"first call {seen[0][:2]}: the arrivals' evaluation")
c.check(all(s[2] == 0 for s in seen if s[0] & (P.BEFORE_PRE_UPDATE | P.AFTER_PRE_UPDATE | P.BEFORE_POST_UPDATE
                                              | P.AFTER_POST_UPDATE | P.ON_CONVERGE)), "sub-stage 0 at its points")
c.check(all(s[3] is not None and s[3].tolist() == [1, 1, 1] for s in seen), "every mask covers the 3 systems")
on_conv = [s for s in seen if s[0] == P.ON_CONVERGE]
c.check(on_conv and on_conv[0][1] == N, f"ON_CONVERGE at loop step {on_conv[0][1] if on_conv else None}, expected {N}")

n_atoms = sum(len(a) for a in frames)
shapes = {"positions": ((n_atoms, 3), np.float64), "velocities": ((n_atoms, 3), np.float64),
          "forces": ((n_atoms, 3), np.float64), "masses": ((n_atoms,), np.float64),
          "numbers": ((n_atoms,), np.int32), "system_index": ((n_atoms,), np.int32),
          "atom_start": ((3,), np.int32), "atom_count": ((3,), np.int32), "cells": ((3, 3, 3), np.float64),
          "pbc": ((3, 3), np.uint8), "energies": ((3,), np.float64), "stress": ((3, 6), np.float64),
          "status": ((3,), np.int32), "system_id": ((3,), np.int64), "forces_valid": ((3,), np.uint8),
          "mask": ((3,), np.uint8)}
for name, (shape, dtype) in shapes.items():
    got = first.get(name)
    c.check(got is not None and got[0] == shape and got[1] == dtype,
            f"batch.{name}: {got[:2] if got else None}, expected {shape} {np.dtype(dtype)}")
    c.check(got is not None and not got[2], f"batch.{name} owns its data: a copy, not a view of the batch")
c.check(first.get("sizes") == (n_atoms, 3), f"n_atoms, n_systems {first.get('sizes')}")
c.check(first.get("again"), "positions asked twice in one call are not the same memory")
if len(first) > 2:
    start, count, sid = first["atom_start"][3], first["atom_count"][3], first["system_id"][3]
    for slot in range(3):
        i = int(sid[slot])
        a, lo, n = frames[i], int(start[slot]), int(count[slot])
        sl = slice(lo, lo + n)
        e, f = lj(a)
        c.check(n == len(a), f"slot {slot}: {n} atoms, structure {i} has {len(a)}")
        c.check(np.array_equal(first["positions"][3][sl], a.positions), f"slot {slot}: positions")
        c.check(np.array_equal(first["numbers"][3][sl], a.numbers), f"slot {slot}: numbers")
        c.check(np.array_equal(first["masses"][3][sl], a.get_masses()), f"slot {slot}: masses")
        c.check(np.all(first["system_index"][3][sl] == slot), f"slot {slot}: system_index")
        c.check(np.allclose(first["cells"][3][slot], a.cell.array, rtol=0, atol=0), f"slot {slot}: cell")
        c.check(first["pbc"][3][slot].tolist() == [int(p) for p in a.pbc], f"slot {slot}: pbc")
        c.check(abs(first["energies"][3][slot] - e) <= 1e-12 * abs(e), f"slot {slot}: energy vs ASE's LJ")
        c.check(np.abs(first["forces"][3][sl] - f).max() <= 1e-12, f"slot {slot}: forces vs ASE's LJ")
        c.check(first["status"][3][slot] == 0 and first["forces_valid"][3][slot] == 1, f"slot {slot}: status")
    c.check(sorted(sid.tolist()) == [0, 1, 2], f"system ids {sid.tolist()}")


# ---- 2. a Hook subclass with a frequency
class Every3(bmd.Hook):
    stage = P.BEFORE_STEP | P.AFTER_COMPUTE | P.AFTER_STEP | P.ON_CONVERGE
    frequency = 3

    def __init__(self):
        self.calls = []

    def __call__(self, batch):
        self.calls.append((batch.point, batch.step))


h = Every3()
bmd.NVE(model, dt=2.0, steps=N, hooks=[h]).run(frames)
mult = [k for k in range(1, N + 1) if k % 3 == 0]
for p in (P.BEFORE_STEP, P.AFTER_COMPUTE, P.AFTER_STEP):
    steps = [s for q, s in h.calls if q == p]
    c.check(steps == mult, f"frequency 3, {p.name}: steps {steps}, expected {mult}")
c.check([s for q, s in h.calls if q == P.ON_CONVERGE] == [N], "frequency 3: ON_CONVERGE fires regardless")


# ---- 3. the arrays are the batch's: zeroed velocities after each post-update
class Quench(bmd.Hook):
    stage = P.AFTER_POST_UPDATE

    def __call__(self, batch):
        batch.velocities[:] = 0.0


DT = 20.0  # fs (large: the quenched atoms must move measurably)
res = bmd.NVE(model, dt=DT, steps=N, hooks=[Quench()]).run(frames)  # from rest (no momenta)
for out in res.final:
    i = out.info["system_id"]
    ref = frames[i].copy()
    for _ in range(N):  # velocity Verlet from v = 0: x += ½ dt² F/m (F/m in Å/ASE-time², dt in ASE time)
        _, f = lj(ref)
        ref.positions = ref.positions + 0.5 * (DT * units.fs) ** 2 * f / ref.get_masses()[:, None]
    err = np.abs(out.positions - ref.positions).max()
    c.check(err < 1e-10, f"quench, system {i}: positions differ from x + ½dt²F/m by {err:.3g} Å")
    c.check(np.abs(ref.positions - frames[i].positions).max() > 1e-3, f"quench, system {i}: nothing moved")
    c.check(np.all(out.get_momenta() == 0), f"quench, system {i}: momenta not zero")

# ---- 4. lifetimes: a kept Batch raises on use; a kept array stops the run
kept = []
bmd.NVE(model, dt=2.0, steps=2, hooks=[kept.append]).run(frames[:1])
for what, use in (("positions", lambda b: b.positions), ("n_atoms", lambda b: b.n_atoms),
                  ("fail", lambda b: b.fail(0, "late")), ("info", lambda b: b.info(0, "status"))):
    try:
        use(kept[-1])
        c.check(False, f"a Batch used after its call: {what} worked")
    except ValueError as e:
        c.check("no longer valid" in str(e), f"kept Batch, {what}: {e}")
stash = []
for keep in (lambda b: stash.append(b.forces), lambda b: stash.append(b.positions[:, 0])):
    try:
        bmd.NVE(model, dt=2.0, steps=2, hooks=[keep]).run(frames[:1])
        c.check(False, "a hook kept a batch array past its call: no error")
    except bmd.BatchmdError as e:
        c.check("kept the batch array" in str(e), f"kept array: {e}")
    stash.clear()


# and a Python model (the bridge's view) keeping an array it was given
class Hoarder(bmd.models.PythonModel):
    cutoff, neighbors = 8.5, "half"

    def __init__(self, what):
        self.what, self.kept = what, []

    def compute(self, batch):
        self.kept.append(getattr(batch, self.what))
        n = len(batch.positions)
        return {"energy": np.zeros(batch.n_systems), "forces": np.zeros((n, 3))}


for what in ("positions", "edge_index"):
    try:
        bmd.NVE(Hoarder(what), dt=2.0, steps=2).run(frames[:1])
        c.check(False, f"a Python model kept batch.{what}: no error")
    except bmd.BatchmdError as e:
        c.check("kept the batch array" in str(e) and what in str(e), f"a Python model kept batch.{what}: {e}")


# ---- 5. batch.fail: one system out, with its reason
def take_out(batch):
    if batch.step == 3:
        slot = int(np.flatnonzero(batch.system_id == 1)[0])
        batch.fail(slot, "my_reason")


take_out.stage = P.AFTER_STEP
res = bmd.NVE(model, dt=2.0, steps=N, hooks=[take_out]).run(frames)
c.check(sorted(a.info["system_id"] for a in res.final) == [0, 2], "fail: systems 0 and 2 finish")
c.check(len(res.failed) == 1 and res.failed[0].info.get("status") == "my_reason"
        and res.failed[0].info.get("system_id") == 1, f"fail: failed {[a.info for a in res.failed]}")
c.check(all(a.info.get("steps_nve") == N for a in res.final), "fail: the others take their N steps")


# ---- 6. built-ins: "nan" by name after a hook that poisons an energy at the last step
def poison(batch):
    if batch.step == N:
        batch.energies[batch.system_id == 2] = np.nan


poison.stage = P.AFTER_COMPUTE
res = bmd.NVE(model, dt=2.0, steps=N, hooks=[poison, "nan"]).run(frames)
c.check([(a.info["system_id"], a.info["status"]) for a in res.failed] == [(2, "nan_or_inf")],
        f"'nan' after the poison: failed {[a.info for a in res.failed]}")
res = bmd.NVE(model, dt=2.0, steps=N, hooks=[poison]).run(frames)
c.check(not res.failed, "without 'nan' after it, the poisoned system is not taken out (the test can fail)")

# EnergyDrift(max_drift) against the drift the run's own NVE monitor reports
hot = bmd.NVE(model, dt=25.0, steps=N, init_temperature=80)
drift = hot.run(frames, seed=3).stats["stages"][0]["max_drift_eV_per_atom"]
c.check(drift > 1e-6, f"NVE at dt 25 fs drifts only {drift} eV/atom: the test needs more")
out = bmd.NVE(model, dt=25.0, steps=N, init_temperature=80, hooks=[bmd.EnergyDrift(max_drift=drift / 2)]).run(
    frames, seed=3)
c.check(out.failed and all(a.info["status"] == "energy_drift" for a in out.failed),
        f"EnergyDrift(half the largest drift): failed {[a.info for a in out.failed]}")
out = bmd.NVE(model, dt=25.0, steps=N, init_temperature=80, hooks=[bmd.EnergyDrift(max_drift=drift * 2)]).run(
    frames, seed=3)
c.check(not out.failed, f"EnergyDrift(twice the largest drift): failed {[a.info for a in out.failed]}")

for name, cls in (("fclamp", "ForceClamp"), ("energy_drift", "EnergyDrift"), ("log", "LoggingHook")):
    try:
        bmd.NVE(model, dt=2.0, steps=N, hooks=[name])
        c.check(False, f"hook '{name}' by name, without its parameters: accepted (it would do nothing)")
    except ValueError as e:
        c.check(cls in str(e), f"hook '{name}' by name: {e}")
for make in (bmd.ForceClamp, bmd.EnergyDrift):
    try:
        make()
        c.check(False, f"{make.__name__}() without parameters: accepted (it would do nothing)")
    except ValueError as e:
        c.check(make.__name__ in str(e), f"{make.__name__}(): {e}")

squeezed = bulk("Ar", "fcc", a=4.6, cubic=True)
squeezed.positions += rng.normal(0, 0.1, squeezed.positions.shape)
_, f_sq = lj(squeezed)
fmax_seen = []


def watch(batch):
    fmax_seen.append(np.linalg.norm(batch.forces, axis=1).max())


watch.stage = P.AFTER_COMPUTE
CLAMP = 0.05
bmd.NVE(model, dt=1.0, steps=3, hooks=[bmd.ForceClamp(fmax_clamp=CLAMP), watch]).run([squeezed])
c.check(np.linalg.norm(f_sq, axis=1).max() > 4 * CLAMP, "squeezed crystal: forces above the clamp")
c.check(len(fmax_seen) == 4 and max(fmax_seen) <= CLAMP * (1 + 1e-12),
        f"ForceClamp({CLAMP}): the hook after it saw |F| up to {max(fmax_seen, default=None)}")


# ---- 7. open/close: once per run, or once per `with` block however many runs it holds
class Counted(bmd.Hook):
    stage = P.AFTER_STEP

    def __init__(self):
        self.log = []

    def __call__(self, batch):
        self.log.append("call")

    def open(self):
        self.log.append("open")

    def close(self):
        self.log.append("close")


h = Counted()
md = bmd.NVE(model, dt=2.0, steps=2, hooks=[h])
md.run(frames[:1])
c.check(h.log == ["open", "call", "call", "close"], f"one run: {h.log}")
h.log.clear()
with md + bmd.NVE(model, name="more", dt=2.0, steps=1) as fused:
    fused.run(frames[:1])
    fused.run(frames[:1])
c.check(h.log == ["open"] + ["call"] * 6 + ["close"], f"two runs in a with block: {h.log}")
c.finish()
