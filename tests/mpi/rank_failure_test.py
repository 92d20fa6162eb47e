#!/usr/bin/python3
"""A rank that fails ends the whole pipeline at once (issue #8, must-have 7).

The campaign keeps the first rank busy for hours: its stage `eq` is an NVE
run of 10 million steps, except for the first structures of the input,
whose info line says steps=20 (the per-structure override), so a few
systems reach the next ranks quickly while the rest stay on rank 0. The
driver tests/tools/pipeline_run makes one rank fail at its 8th loop step
(--fail RANK 8: a hook returns an error). Before failures were announced,
the ranks upstream of the failing one only learned of it at the end of
their own work (here: never, within any time limit); now every rank must

  - end (the undisturbed run would take hours: a job that ends at all, and
    with rank 0's message naming the failing rank, was stopped by the
    failure; the time limit, mpilib.HANG, is only a hang guard, so no
    check depends on the machine's speed),
  - the failing rank saying why ("injected failure at step 8"), every
    other rank naming the failing rank,
  - with exit status 1 (no hang, no abort),

for a failure downstream of rank 0 (2 ranks, each comm mode; 3 ranks, the
last failing, so the notice passes over the middle rank; synchronized
mode), on rank 0 itself, and in an independent sub-pipeline (4 ranks:
chains 0 -> 1 and 2 -> 3, rank 3 fails: the busy chain 0 -> 1 stops too)."""
import os
import re
import sys
import tempfile
import time

import ase.io

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpilib  # noqa: E402
from mpilib import mpirun  # noqa: E402

TOOL = os.path.join(mpilib.TOOLS, "pipeline_run")
c = mpilib.Checks()
mpilib.skip_without_mpi()

CAMPAIGN = """units: metal
seed: 3
threads: 1
model: {type: lj, epsilon: %(eps)r, sigma: %(sig)r, cutoff: %(rc)r, shift: true}
input: in.extxyz
stages:
  eq: {type: nve, dt: 1.0, steps: 10000000, init_temperature: 100}
  mid: {type: nve, dt: 1.0, steps: 30}
  prod: {type: nve, dt: 1.0, steps: 30}
pipeline: %(pipeline)s
batch: {max_atoms: 2000, max_systems: 64, refill_every: 4, buffer: {systems: 8, atoms: 600}}
output: {final: %(name)s.final.extxyz, failed: %(name)s.failed.extxyz}
quarantine: {min_distance: 0}
"""


def campaign(d, name, pipeline):
    path = os.path.join(d, name + ".yaml")
    with open(path, "w") as f:
        f.write(CAMPAIGN % dict(eps=mpilib.EPS, sig=mpilib.SIG, rc=mpilib.RC, pipeline=pipeline, name=name))
    return path


with tempfile.TemporaryDirectory() as d:
    frames = mpilib.frames(16, 21, n_bad=0)
    for a in frames[:5]:
        a.info["steps"] = 20  # these leave the 10-million-step stage after 20 steps
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    cases = [  # ranks, pipeline, failing rank, comm, extra arguments
        (2, "eq | prod", 1, "async_recv", []),
        (2, "eq | prod", 1, "sync", []),
        (2, "eq | prod", 1, "fully_async", []),
        (3, "eq | mid | prod", 2, "async_recv", []),
        (3, "eq | mid | prod", 1, "sync", ["--synchronized"]),
        (3, "eq | mid | prod", 2, "fully_async", ["--synchronized"]),
        (2, "eq | prod", 0, "async_recv", []),
        (4, "eq | prod", 3, "async_recv", ["SECOND"]),
    ]
    for i, (ranks, pipeline, bad, comm, extra) in enumerate(cases):
        paths = [campaign(d, "c%d" % i, pipeline)]
        if extra == ["SECOND"]:  # two sub-pipelines, one campaign each
            paths.append(campaign(d, "c%db" % i, pipeline))
            extra = []
        what = "%d ranks, %s, rank %d fails, %s %s" % (ranks, pipeline, bad, comm, " ".join(extra))
        t0 = time.perf_counter()
        rc, out, err = mpirun(ranks, TOOL, *paths, "--comm", comm, "--fail", str(bad), "8", *extra)
        secs = time.perf_counter() - t0
        if rc != 0 and "built without MPI" in err:
            print("SKIP: batchmd was built without MPI")
            sys.exit(0)
        print("%-58s %5.1f s" % (what, secs), flush=True)
        c.check(rc is not None, "%s: the job ends (it hung for %d s): %s" % (what, mpilib.HANG, err[-1500:]))
        c.check(rc == 1 and re.search(r"Exit code:\s+1", err) is not None,
                "%s: exit status 1 (got %s): %s" % (what, rc, err[-800:]))
        c.check("pipeline_run: rank %d: run failed: injected failure at step 8" % bad in err,
                "%s: the failing rank says why: %s" % (what, err[-1200:]))
        for r in range(ranks):
            if r != bad:
                c.check(re.search(r"pipeline_run: rank %d: run failed: rank %d failed" % (r, bad), err) is not None,
                        "%s: rank %d names the failing rank: %s" % (what, r, err[-1500:]))

c.finish()
