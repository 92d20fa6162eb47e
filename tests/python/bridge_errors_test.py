#!/usr/bin/python3
"""What a Python model can get wrong, and what the run does about it:
- a wrong shape, a wrong dtype, a missing key, an unknown key, not a dict:
  the run stops with BatchmdError naming the key and the expected shape;
- an exception raised in the model: the run stops and re-raises that very
  exception (its type, with the model's frame in its traceback); the next
  run goes on as usual;
- SIGINT during the model's call: the run stops after that evaluation and
  raises KeyboardInterrupt;
- a NaN energy or an infinite force for one system: that system alone is
  taken out (result.failed, status nan_or_inf), the others end in final,
  their results those of a run without the bad system;
- a structure it cannot take (a degenerate periodic cell) refused by its
  check;
- declarations refused when the model is made (outputs without forces,
  neighbors without a cutoff, an unknown species or neighbors kind);
- torch tensors (requiring grad) are taken; float32 tensors are refused;
- a system thrown absurdly far (no edges can be built for it): that system
  alone is taken out (nan_or_inf), as the built-in models do;
- a dropped PythonModel is garbage-collected.
The models here are plain functions with attributes (models.as_model)."""
from pylib import Checks  # first: puts the build tree's batchmd on sys.path

import gc
import os
import signal
import traceback
import weakref

import numpy as np
import torch
from ase.cluster import Icosahedron
from ase.build import bulk

import batchmd as bmd

c = Checks()
clusters = []
for k in range(3):
    a = Icosahedron("Cu", 2)
    a.rattle(0.1, seed=10 + k)
    clusters.append(a)


def springs(batch):
    """E = ½ Σ_i |x_i − c|², c the system's centroid: F_i = −(x_i − c)
    exactly (the centroid's own derivative sums to zero)."""
    pos = batch.positions
    sys = batch.system_index
    cen = np.zeros((batch.n_systems, 3))
    np.add.at(cen, sys, pos)
    cen /= batch.atom_count[:, None]
    d = pos - cen[sys]
    e = np.zeros(batch.n_systems)
    np.add.at(e, sys, 0.5 * (d * d).sum(1))
    return e, -d


def model(transform):
    """A plain function model whose outputs go through transform(out, batch)."""
    def f(batch):
        e, forces = springs(batch)
        return transform({"energy": e, "forces": forces}, batch)
    return f


def failure(fn, structures=clusters, stage=None):
    try:
        (stage or bmd.FIRE)(fn, fmax=1e-3, max_steps=20).run(structures)
    except bmd.BatchmdError as e:
        return str(e)
    return None


cases = [
    ("wrong shape", lambda o, b: dict(o, forces=o["forces"][:, :2]), ["'forces'", "[n_atoms, 3]", "(39, 3)", "(39, 2)"]),
    ("wrong dtype", lambda o, b: dict(o, energy=o["energy"].astype(np.float32)), ["'energy'", "float64", "float32",
                                                                                 "[n_systems]"]),
    ("int forces", lambda o, b: dict(o, forces=o["forces"].astype(np.int64)), ["'forces'", "int64"]),
    ("missing key", lambda o, b: {"energy": o["energy"]}, ["no 'forces'", "[n_atoms, 3]"]),
    ("unknown key", lambda o, b: dict(o, charges=np.zeros(b.n_atoms)), ["unknown output 'charges'"]),
    ("not a dict", lambda o, b: (o["energy"], o["forces"]), ["must return a dict", "tuple"]),
    ("energy 2-D", lambda o, b: dict(o, energy=o["energy"][:, None]), ["'energy'", "(3, 1)", "[n_systems]"]),
    ("torch float32", lambda o, b: dict(o, forces=torch.from_numpy(o["forces"]).float()), ["'forces'", "float32"]),
]
for name, tr, words in cases:
    msg = failure(model(tr))
    c.check(msg is not None and all(w in msg for w in words), f"{name}: BatchmdError with {words} ({msg!r})")

# torch tensors requiring grad, float64: taken (detached by batchmd)
ok = model(lambda o, b: {"energy": torch.tensor(o["energy"], requires_grad=True),
                         "forces": torch.tensor(o["forces"], requires_grad=True)})
r = bmd.FIRE(ok, fmax=1e-3, max_steps=200).run(clusters)
c.check(len(r.final) == 3 and not r.failed, "torch float64 tensors requiring grad are taken")

# stress declared, needed (periodic) and not given
cell = bulk("Cu", "fcc", a=3.6, cubic=True)
no_stress = model(lambda o, b: o)
no_stress.outputs = ("energy", "forces", "stress")
msg = None
try:
    bmd.evaluate([cell], no_stress)
except bmd.BatchmdError as e:
    msg = str(e)
c.check(msg is not None and "'stress'" in msg and "[n_systems, 3, 3]" in msg,
        f"declared stress missing on a periodic system: named ({msg!r})")
# not declared: the run goes on without a stress (never a placeholder)
plain = bmd.evaluate([cell], model(lambda o, b: o))[0]
c.check("stress" not in plain.calc.results, "no stress declared: the result has none")


# ---- an exception raised in the model ----
class ModelBroke(Exception):
    pass


def broken(batch):
    raise ModelBroke("bad weights")


try:
    bmd.FIRE(broken, fmax=1e-3, max_steps=10).run(clusters)
    got = None
except ModelBroke as e:
    got = e
c.check(got is not None and str(got) == "bad weights", "the model's exception reaches the caller as itself")
if got is not None:
    frames = [f.name for f in traceback.extract_tb(got.__traceback__)]
    c.check("broken" in frames, f"its traceback holds the model's frame ({frames})")
r = bmd.FIRE(model(lambda o, b: o), fmax=1e-3, max_steps=200).run(clusters)
c.check(len(r.final) == 3, "after an exception, the next run goes on")


# ---- Ctrl-C during the model's call: the run stops after that evaluation ----
calls = []


def interrupted(batch):
    calls.append(batch.n_systems)
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGINT)
    return {"energy": np.zeros(batch.n_systems), "forces": np.zeros((batch.n_atoms, 3))}


try:
    bmd.NVE(interrupted, dt=1.0, steps=50).run(clusters)
    got = None
except KeyboardInterrupt as e:
    got = e
c.check(got is not None and len(calls) == 3, f"SIGINT in the model's call: KeyboardInterrupt, no further call "
                                             f"({len(calls)} calls)")


# ---- non-finite results: only that system is taken out ----
def poison(key):
    def tr(o, b):
        for s in range(b.n_systems):
            if b.system_id[s] == 1:
                if key == "energy":
                    o["energy"][s] = np.nan
                else:
                    o["forces"][b.atom_start[s] + 2, 1] = np.inf
        return o
    return tr


clean = bmd.FIRE(model(lambda o, b: o), fmax=1e-3, max_steps=200).run(clusters)
clean_by_id = {a.info["system_id"]: a for a in clean.final}
for key in ("energy", "forces"):
    r = bmd.FIRE(model(poison(key)), fmax=1e-3, max_steps=200).run(clusters)
    failed = {a.info["system_id"]: a for a in r.failed}
    final = {a.info["system_id"]: a for a in r.final}
    c.check(sorted(failed) == [1] and failed[1].info.get("status") == "nan_or_inf",
            f"NaN/inf {key} of system 1: it alone is taken out as nan_or_inf ({[a.info for a in r.failed]})")
    c.check(sorted(final) == [0, 2], f"NaN/inf {key}: systems 0 and 2 end in final")
    same = all(np.array_equal(final[k].positions, clean_by_id[k].positions) for k in final)
    c.check(same, f"NaN/inf {key}: the others' results are those of a run without the bad system's NaN")

# ---- a structure the model cannot take: its check (bmd_model_check_system,
# which runs ask before they start) refuses it with a reason ----
edgy = model(lambda o, b: o)
edgy.cutoff, edgy.neighbors = 3.0, "full"
flat = clusters[0].copy()
flat.pbc = True  # periodic, with a zero cell: no lattice to build edges in
try:
    bmd.Calculator(edgy).get_potential_energy(flat)
    msg = None
except bmd.BatchmdError as e:
    msg = str(e)
c.check(msg is not None and "degenerate" in msg, f"a periodic structure without a cell is refused ({msg!r})")

# ---- a Python model is collected once dropped: it and its core model
# refer to each other, a cycle the collector breaks (Model supports GC) ----
class Dropped(bmd.models.PythonModel):
    cutoff, neighbors = 4.0, "half"

    def compute(self, batch):
        return {"energy": np.zeros(batch.n_systems), "forces": np.zeros((batch.n_atoms, 3))}


dropped = Dropped()
bmd.evaluate(clusters[:1], dropped)
gone = weakref.ref(dropped)
del dropped
gc.collect()
c.check(gone() is None, "a dropped PythonModel is collected (no leak through its core model)")

# ---- a system thrown absurdly far (a huge finite force, quarantine.max_force
# off) cannot have edges: it alone is taken out (nan_or_inf), the others go on ----
kicks = []


def kick(batch):
    e, forces = springs(batch)
    kicks.append(1)
    for s in range(batch.n_systems):
        if batch.system_id[s] == 1 and len(kicks) == 3:
            forces[batch.atom_start[s]] = 1e300
    return {"energy": e, "forces": forces}


kick.cutoff, kick.neighbors = 4.0, "full"
r = bmd.NVE(kick, dt=1.0, steps=10).run(clusters, quarantine={"max_force": 0})
c.check([a.info["system_id"] for a in r.failed] == [1] and r.failed[0].info.get("status") == "nan_or_inf",
        f"a system thrown out of range: it alone is taken out as nan_or_inf ({[a.info for a in r.failed]})")
c.check(sorted(a.info["system_id"] for a in r.final) == [0, 2], "the others end in final")

# ---- declarations refused when the model is made ----
def decl(**attrs):
    def f(batch):
        return {}
    for k, v in attrs.items():
        setattr(f, k, v)
    try:
        bmd.models.as_model(f)._c
    except bmd.BatchmdError as e:
        return str(e)
    return None


for attrs, words in (({"outputs": ("energy",)}, ["energy and forces"]),
                     ({"outputs": ("energy", "forces", "dipole")}, ["unknown output 'dipole'"]),
                     ({"neighbors": "full"}, ["cutoff > 0"]),
                     ({"neighbors": "both", "cutoff": 3.0}, ["neighbors must be None"]),
                     ({"species": ["Cu", "Xx"]}, ["'Xx'"]),
                     ({"cutoff": -1.0}, ["cutoff", ">= 0"]),
                     ({"skin": "wide"}, ["skin must be a number"])):
    msg = decl(**attrs)
    c.check(msg is not None and all(w in msg for w in words), f"declaration {attrs} refused: {words} ({msg!r})")
c.finish()
