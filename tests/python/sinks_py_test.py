"""Sinks of a Python run: where each leaving system goes.

Nine Ar structures are relaxed and two more have overlapping atoms (0.3 Å
apart: the quarantine's atoms_too_close). Reference: the run with the
default sinks (in memory, Result.final / Result.failed). Then
final=[HostMemory(3), ExtXYZ(path)] chains them by priority: the first
3 systems to finish (the reference's order) are in memory, the other 6 in
the file, which holds them as soon as run() returns (the sink still open);
none lost, none twice, each equal to the reference bit for bit (extxyz
keeps round-trip precision). Failed systems go to failed with their
reason, also into an ExtXYZ file. A Python callable as final is called
once per system with an ase.Atoms. ordered=True gives final in input
order. A HostMemory that fills up with no sink after it stops the run with
an error saying so. A closed sink is refused; one closed while a chain or
a run holds it (by a hook) stops the run with an error, never a write into
freed memory."""
import os
import tempfile

import ase.io
import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.cluster import Icosahedron

from pylib import Checks
import batchmd as bmd

c = Checks()
rng = np.random.default_rng(4)
frames = []
for k in range(9):
    a = Icosahedron("Ar", 2, latticeconstant=5.3) if k % 2 else bulk("Ar", "fcc", a=5.3, cubic=True)
    a.positions += rng.normal(0, 0.04 + 0.01 * k, a.positions.shape)
    frames.append(a)
frames.insert(2, Atoms("Ar3", positions=[[0, 0, 0], [0.3, 0, 0], [0, 4, 0]]))
frames.insert(7, Atoms("Ar2", positions=[[0, 0, 0], [0, 0, 0.3]], cell=[8, 8, 8], pbc=True))
OVERLAPPING = {2, 7}
model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
relax = bmd.FIRE(model, fmax=0.01, max_steps=300)
RUN = {"max_systems": 4, "refill_every": 1}


def equal(a, b):
    return (np.array_equal(a.positions, b.positions) and np.array_equal(a.get_forces(), b.get_forces())
            and a.get_potential_energy() == b.get_potential_energy()
            and {k: v for k, v in a.info.items() if k not in ("energy", "stress")} == b.info)  # ASE 3.22's
    # extxyz reader copies energy and stress into info


ref = relax.run(frames, **RUN)
order = [a.info["system_id"] for a in ref.final]
ref_by_id = {a.info["system_id"]: a for a in ref.final}
c.check(sorted(order) == sorted(set(range(11)) - OVERLAPPING), f"reference final: {order}")
c.check(sorted((a.info["system_id"], a.info["status"]) for a in ref.failed) ==
        [(i, "atoms_too_close") for i in sorted(OVERLAPPING)], f"reference failed: {[a.info for a in ref.failed]}")
c.check(order != sorted(order), "the systems finish in input order: the test cannot tell the chain's order")

with tempfile.TemporaryDirectory() as d:
    path, bad = os.path.join(d, "rest.extxyz"), os.path.join(d, "failed.extxyz")
    mem, rest, failed = bmd.HostMemory(3), bmd.ExtXYZ(path), bmd.ExtXYZ(bad)
    res = relax.run(frames, final=[mem, rest], failed=failed, **RUN)
    in_memory = [a.info["system_id"] for a in res.final]
    c.check(in_memory == order[:3], f"in memory {in_memory}, expected the first three to finish {order[:3]}")
    in_file = ase.io.read(path, ":") if os.path.getsize(path) else []
    ids = [a.info["system_id"] for a in in_file]
    c.check(ids == order[3:], f"in the file when run() returned: {ids}, expected {order[3:]}")
    for a in list(res.final) + in_file:
        i = a.info["system_id"]
        c.check(i in ref_by_id and equal(a, ref_by_id[i]), f"chained system {i} differs from the reference")
    bad_frames = ase.io.read(bad, ":") if os.path.getsize(bad) else []
    c.check(sorted((a.info["system_id"], a.info["status"]) for a in bad_frames) ==
            [(i, "atoms_too_close") for i in sorted(OVERLAPPING)], f"failed file: {[a.info for a in bad_frames]}")
    c.check(not res.failed, "failed went to a file, yet Result.failed holds systems")
    for s in (rest, failed):
        s.close()

taken = []
res = relax.run(frames, final=taken.append, **RUN)
c.check([a.info["system_id"] for a in taken] == order, f"callable sink got {[a.info['system_id'] for a in taken]}")
c.check(all(isinstance(a, Atoms) and equal(a, ref_by_id[a.info["system_id"]]) for a in taken),
        "callable sink: not the reference's Atoms")
c.check(res.final == [] and len(res.failed) == 2, f"callable sink: Result {res}")

res = relax.run(frames, ordered=True, **RUN)
c.check([a.info["system_id"] for a in res.final] == sorted(order), f"ordered: {[a.info['system_id'] for a in res.final]}")

# closed sinks: refused when given, and a chain or a run holding one never writes into freed memory
with tempfile.TemporaryDirectory() as d:
    closed = bmd.ExtXYZ(os.path.join(d, "closed.extxyz"))
    closed.close()
    try:
        relax.run(frames, final=closed, **RUN)
        c.check(False, "a closed sink as final: accepted")
    except ValueError as e:
        c.check("closed" in str(e), f"a closed sink as final: {e}")
    later = bmd.ExtXYZ(os.path.join(d, "later.extxyz"))
    chain = bmd.Chain([bmd.HostMemory(1), later])
    later.close()  # after the chain took it
    try:
        relax.run(frames, final=chain, **RUN)
        c.check(False, "a chain whose file sink was closed: the run wrote somewhere")
    except bmd.BatchmdError as e:
        c.check("closed" in str(e), f"a chain whose file sink was closed: {e}")
    mid = bmd.ExtXYZ(os.path.join(d, "mid.extxyz"))

    def close_it(batch):
        if batch.step == 2:
            mid.close()

    close_it.stage = bmd.HookStageEnum.AFTER_STEP
    try:
        bmd.FIRE(model, fmax=0.01, max_steps=300, hooks=[close_it]).run(frames, final=mid, **RUN)
        c.check(False, "final closed by a hook during the run: no error")
    except bmd.BatchmdError as e:
        c.check("closed" in str(e), f"final closed during the run: {e}")

try:
    relax.run(frames, final=bmd.HostMemory(3), **RUN)
    c.check(False, "a full HostMemory with nothing after it: no error")
except bmd.BatchmdError as e:
    c.check("full" in str(e) and "capacity 3" in str(e), f"full HostMemory: {e}")
c.finish()
