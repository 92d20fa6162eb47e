#!/usr/bin/python3
"""The spatial atom order (issue #7, src/neighbor/atom_order.h) across a
pipeline: `md1 + md2` fused in one process and `md1 | md2` on 2 MPI ranks
give byte-identical finals.

md1: NVE, 260 steps; md2: Langevin at 150 K, 230 steps (its noise keyed by
the stage's place in the pipeline): each sub-stage makes its own atom order
at its step 200 (the order is dropped when a system enters md2, whether md2
runs on the same process or on the next rank). 8 hot, shuffled argon fcc
crystals of 108 to 343 atoms with a tenth of their atoms outside the cell
(hot_crystal() of tests/cli/atom_order_test.py), lj; the fused run holds at
most 800 atoms (systems start at different loop steps), the pipeline hands
systems over through a buffer of 3 systems. Checked: every system done
once; each frame (positions, momenta, forces, energy, stress, steps_S,
converged_S, status, as printed with 17 digits) byte-identical between the
fused run, the pipeline with comm async_recv and with fully_async; and the
fused run differs from one with BATCHMD_ORDER_EVERY=0 (so the order took
part). Skipped (with the reason) without mpirun or an MPI build."""
import os
import sys
import tempfile
import time

import ase.io

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
import mpilib  # noqa: E402
from mpilib import BATCHMD, mpirun, run  # noqa: E402
from atom_order_test import MODEL, hot_crystal, xyz_frames  # noqa: E402

c = mpilib.Checks()
mpilib.skip_without_mpi()

CAMPAIGN = """units: metal
seed: 3
threads: 1
model: %s
input: in.extxyz
stages:
  md1: {type: nve, dt: 4.0, steps: 260}
  md2: {type: nvt_langevin, dt: 4.0, temperature: 150, friction: 0.01, steps: 230}
pipeline: %s
batch: {max_atoms: 800, max_systems: 8, refill_every: 5, buffer: {systems: 3, atoms: 1200}, comm: %s}
output: {final: %s/final.extxyz, failed: %s/failed.extxyz}
"""
N = 8


def campaign(d, name, pipeline, comm="async_recv"):
    path = os.path.join(d, name + ".yaml")
    with open(path, "w") as f:
        f.write(CAMPAIGN % (MODEL, pipeline, comm, name, name))
    return path


def env(order_every=None):
    e = dict(mpilib.ENV, OMP_WAIT_POLICY="PASSIVE")
    e.pop("BATCHMD_ORDER_EVERY", None)
    e.pop("BATCHMD_TEST_KILL", None)
    if order_every is not None:
        e["BATCHMD_ORDER_EVERY"] = str(order_every)
    return e


def finals(d, name):
    path = os.path.join(d, name, "final.extxyz")
    fail = os.path.join(d, name, "failed.extxyz")
    out = xyz_frames(path) if os.path.exists(path) else {}
    c.check(sorted(out) == list(range(N)) and not (os.path.exists(fail) and os.path.getsize(fail)),
            "%s: every system done exactly once, none failed" % name)
    return out


with tempfile.TemporaryDirectory() as d:
    ase.io.write(os.path.join(d, "in.extxyz"),
                 [hot_crystal((3, 3, 3), 30 + i) if i % 3 == 0 else
                  hot_crystal((7, 7, 7) if i % 3 == 1 else (4, 4, 3), 30 + i, cubic=i % 3 != 1) for i in range(N)])
    t0 = time.perf_counter()
    rc, _, err = run([BATCHMD, "run", "-q", campaign(d, "fused", "md1 + md2")], env=env())
    c.check(rc == 0, "fused: exit 0 (got %s): %s" % (rc, err[-1500:]))
    rc, _, err = run([BATCHMD, "run", "-q", campaign(d, "fused_off", "md1 + md2")], env=env(0))
    c.check(rc == 0, "fused, BATCHMD_ORDER_EVERY=0: exit 0 (got %s): %s" % (rc, err[-1500:]))
    ref, off = finals(d, "fused"), finals(d, "fused_off")
    c.check(all(ref.get(i) != off.get(i) for i in range(N)),
            "every system's frame differs with and without the order (the order took part)")
    print("fused       %5.1f s" % (time.perf_counter() - t0), flush=True)
    for comm in ("async_recv", "fully_async"):
        t0 = time.perf_counter()
        name = "piped_" + comm
        rc, _, err = mpirun(2, BATCHMD, "run", "-q", campaign(d, name, "md1 | md2", comm), env=env())
        if rc != 0 and "built without MPI" in err:
            print("SKIP: batchmd was built without MPI")
            sys.exit(0)
        c.check(rc == 0, "%s: 2-rank run exits 0 (got %s): %s" % (name, rc, err[-2500:]))
        got = finals(d, name)
        bad = [i for i in range(N) if got.get(i) != ref.get(i)]
        c.check(not bad, "%s: every frame byte-identical to the fused run (differ: %s)" % (name, bad))
        print("%-11s %5.1f s" % (name, time.perf_counter() - t0), flush=True)
c.finish()
