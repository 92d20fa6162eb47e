#!/usr/bin/python3
"""The pipeline through the library's API (the driver tests/tools/
pipeline_run, which calls bmd_pipeline_init/create/run; no mpi.h in it):

  two independent sub-pipelines in one 4-rank job: ranks 0 -> 1 run
  campaign A's relax | md on one input, ranks 2 -> 3 campaign B's on
  another (other seed, other structures, sync comm); each chain's outputs
  are bitwise those of its campaign fused on one process;
  every comm mode and the synchronized mode on 3 ranks
  (relax | anneal | md), against the fused run;
  empty inputs and fewer structures than ranks: 0 and 1 structures on 3
  ranks end (exit 0), with nothing and with that one system written;
  a run error on one rank (the driver's --fail RANK STEP: a hook returns
  an error) on the first, a middle and the last rank, in each comm mode
  and synchronized: every rank ends with exit 1 and says why.

Every run has a time limit (a hang fails)."""
import os
import re
import sys
import tempfile
import time

import ase.io

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpilib  # noqa: E402
from mpilib import BATCHMD, campaign, exactly_once, mpirun, run, same_runs  # noqa: E402

TOOL = os.path.join(mpilib.TOOLS, "pipeline_run")
c = mpilib.Checks()
mpilib.skip_without_mpi()


def fused(d, name, pipeline, n, **kw):
    rc, out, err = run([BATCHMD, "run", "--quiet", campaign(d, name, pipeline, **kw)])
    c.check(rc == 0, "%s: fused run exits 0 (got %s): %s" % (name, rc, err[-1500:]))
    c.check(exactly_once(d, name, n), "%s: every system exactly once" % name)


def tool(d, ranks, *args, what):
    t0 = time.perf_counter()
    rc, out, err = mpirun(ranks, TOOL, *args)
    if rc != 0 and "built without MPI" in err:
        print("SKIP: batchmd was built without MPI")
        sys.exit(0)
    c.check(rc == 0, "%s: exits 0 (got %s): %s" % (what, rc, err[-2500:]))
    print("%-34s %d ranks %5.1f s" % (what, ranks, time.perf_counter() - t0), flush=True)
    return out


with tempfile.TemporaryDirectory() as d:
    NA, NB = 30, 24
    ase.io.write(os.path.join(d, "a.extxyz"), mpilib.frames(NA, 3))
    ase.io.write(os.path.join(d, "b.extxyz"), mpilib.frames(NB, 4, n_bad=1))
    fused(d, "fa", "relax + md", NA, inp="a.extxyz", seed=11)
    fused(d, "fb", "relax + md", NB, inp="b.extxyz", seed=5, comm="sync")
    a = campaign(d, "sa", "relax | md", inp="a.extxyz", seed=11)
    b = campaign(d, "sb", "relax | md", inp="b.extxyz", seed=5, comm="sync")
    out = tool(d, 4, a, b, "--comm", "sync", what="two sub-pipelines 0->1, 2->3")
    for name, ref, n in (("sa", "fa", NA), ("sb", "fb", NB)):
        c.check(exactly_once(d, name, n), "%s: every system exactly once" % name)
        bad = same_runs(d, ref, name)
        c.check(not bad, "%s: bitwise equal to %s: %s" % (name, ref, "; ".join(bad[:5])))
    c.check("done=%d failed=3 " % (NA + NB - 3) in [l for l in out.splitlines() if l.startswith("totals")][0] + " ",
            "totals over both chains: %s" % out.strip()[-400:])

    N3 = 30
    ase.io.write(os.path.join(d, "in.extxyz"), mpilib.frames(N3, 9))
    fused(d, "f3", "relax + anneal + md", N3)
    for mode, extra in (("sync", []), ("async_recv", []), ("fully_async", []), ("sync", ["--synchronized"]),
                        ("fully_async", ["--synchronized", "--refill-every", "2"])):
        name = "t_%s%s" % (mode, "_synchronized" if extra else "")
        path = campaign(d, name, "relax | anneal | md")
        tool(d, 3, path, "--comm", mode, "--buffer", "3", "300", *extra, what="%s %s" % (mode, " ".join(extra)))
        c.check(exactly_once(d, name, N3), "%s: every system exactly once" % name)
        bad = same_runs(d, "f3", name)
        c.check(not bad, "%s: bitwise equal to the fused run: %s" % (name, "; ".join(bad[:5])))

    for first, mode in ((0, "async_recv"), (0, "sync"), (1, "fully_async"), (2, "sync")):
        name = "t_first%d_%s" % (first, mode)
        path = campaign(d, name, "relax | anneal | md")
        out = tool(d, 3, path, "--first", str(first), "--comm", mode, what="%d structures, %s" % (first, mode))
        fin, fail = mpilib.outputs(d, name)
        c.check(sorted(fin) + sorted(fail) == list(range(first)), "%s: the %d systems written once" % (name, first))
        c.check("total=%d" % first in out, "%s: every rank knows the total" % name)
        ref, _ = mpilib.outputs(d, "f3")
        c.check(all(mpilib.same(ref[i], fin[i]) for i in fin), "%s: bitwise equal to the fused run" % name)

    for rank, mode, extra in ((0, "sync", []), (1, "async_recv", []), (2, "fully_async", []),
                              (1, "sync", ["--synchronized"]), (2, "async_recv", ["--synchronized"]),
                              (0, "fully_async", ["--synchronized"])):
        path = campaign(d, "t_fail%d_%s" % (rank, mode), "relax | anneal | md")
        t0 = time.perf_counter()
        rc, out, err = mpirun(3, TOOL, path, "--comm", mode, "--fail", str(rank), "8", *extra)
        what = "error on rank %d, %s %s" % (rank, mode, " ".join(extra))
        c.check(rc is not None and rc != 0, "%s: the job fails, no hang (got %s)" % (what, rc))
        c.check("pipeline_run: rank %d: run failed: injected failure at step 8" % rank in err,
                "%s: the failing rank says why: %s" % (what, err[-600:]))
        others = [r for r in range(3) if r != rank]
        c.check(all(re.search(r"pipeline_run: rank %d: run failed: rank %d failed" % (r, rank), err) for r in others),
                "%s: every other rank says which rank failed: %s" % (what, err[-900:]))
        c.check(re.search(r"Exit code:\s+1", err) is not None, "%s: exit status 1" % what)
        print("%-34s 3 ranks %5.1f s" % (what, time.perf_counter() - t0), flush=True)

c.finish()
