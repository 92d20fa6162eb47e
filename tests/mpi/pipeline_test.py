#!/usr/bin/python3
"""`batchmd run` under mpirun: the pipeline's '|' across MPI ranks.

100 copper-like LJ structures (tests/mpi/mpilib.py; two of them blow up and
are taken out on rank 0) go through

  relax | md              2 ranks, comm sync, async_recv (with the debug
                          log), fully_async, and the synchronized mode
  relax | anneal | md     3 ranks
  relax + anneal | md     2 ranks, fully_async
  relax | md, fast producer and slow consumer: relax of at most 4 steps,
                          md of 120, max_systems 3 on both ranks, a buffer
                          of 2 systems, refill every step, in the
                          synchronized mode (lockstep: which message comes
                          at which step of rank 1 is fixed, so rank 0 holds
                          systems back and rank 1 parks some whatever the
                          ranks' speeds)

and each is compared with the same stages fused on one process
(`batchmd run` without mpirun: relax + md, relax + anneal + md): every
system exactly once across final and failed, positions, momenta, energy,
steps_S, converged_S and status bitwise equal (the anneal and md Langevin
noise and anneal's Maxwell-Boltzmann velocities are keyed by the stage's
place in the pipeline, so they only agree if that survives the split).

Errors, each with a time limit (a hang fails): a 2-group campaign on 3
ranks, a 1-group campaign on 2 ranks, and two ranks whose campaigns give
different batch.buffer sizes (mpirun's MPMD form): exit 2 with a clear
message from every rank; a 2-group campaign on 1 rank: exit 2."""
import os
import re
import sys
import tempfile
import time

import ase.io

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpilib  # noqa: E402
from mpilib import BATCHMD, campaign, exactly_once, mpirun, run, same_runs  # noqa: E402

N = 100
c = mpilib.Checks()
mpilib.skip_without_mpi()


def fused(d, name, pipeline, **kw):
    t0 = time.perf_counter()
    rc, out, err = run([BATCHMD, "run", "--quiet", campaign(d, name, pipeline, **kw)])
    c.check(rc == 0, "%s: fused run exits 0 (got %s): %s" % (name, rc, err[-1500:]))
    c.check(exactly_once(d, name, N), "%s: every system exactly once" % name)
    print("%-10s 1 rank   %5.1f s" % (name, time.perf_counter() - t0), flush=True)


def piped(d, name, ref, pipeline, ranks, env=None, **kw):
    t0 = time.perf_counter()
    rc, out, err = mpirun(ranks, BATCHMD, "run", "--quiet", campaign(d, name, pipeline, **kw), env=env)
    if rc != 0 and "built without MPI" in err:
        print("SKIP: batchmd was built without MPI")
        sys.exit(0)
    c.check(rc == 0, "%s: %d-rank run exits 0 (got %s): %s" % (name, ranks, rc, err[-2500:]))
    c.check(exactly_once(d, name, N), "%s: every system exactly once across final and failed" % name)
    bad = same_runs(d, ref, name)
    c.check(not bad, "%s: bitwise equal to %s: %s" % (name, ref, "; ".join(bad[:5])))
    print("%-10s %d ranks  %5.1f s" % (name, ranks, time.perf_counter() - t0), flush=True)
    return err


with tempfile.TemporaryDirectory() as d:
    ase.io.write(os.path.join(d, "in.extxyz"), mpilib.frames(N, 7))
    fused(d, "f2", "relax + md")
    fused(d, "f3", "relax + anneal + md")
    _, fail = mpilib.outputs(d, "f2")
    c.check(len(fail) == 2 and all(a.info.get("status") == "force_blowup" for a in fail.values()),
            "two systems taken out (force_blowup) in the fused run")

    piped(d, "p_sync", "f2", "relax | md", 2, comm="sync")
    debug_env = dict(mpilib.ENV, BATCHMD_PIPELINE_DEBUG="1")
    err = piped(d, "p_async", "f2", "relax | md", 2, comm="async_recv", env=debug_env)
    for r in (0, 1):
        c.check(re.search(r"bmd-pipe\[%d\] round \d+: " % r, err) is not None, "debug log of rank %d" % r)
    c.check(re.search(r"bmd-pipe\[0\] round \d+ step \d+: \d+ systems? left the stage", err) is not None,
            "debug log of graduations per step")
    c.check(re.search(r"sent [1-9]\d*/8 sys \d+/400 atoms \d+ B to 1", err) is not None,
            "debug log of a non-empty send and the buffer's fill")
    c.check(re.search(r"sent \d+/8 sys \d+/400 atoms \d+ B \[done\] to 1", err) is not None,
            "debug log of the done message")
    piped(d, "p_full", "f2", "relax | md", 2, comm="fully_async")
    piped(d, "p_synced", "f2", "relax | md", 2, comm="sync", sync=True)
    piped(d, "p_three", "f3", "relax | anneal | md", 3)
    piped(d, "p_fused2", "f3", "relax + anneal | md", 2, comm="fully_async")

    # fast producer, slow consumer, a buffer of 2 systems: back-pressure
    slow = dict(relax=4, md=120, max_systems=3, refill=1, bs=2, ba=200, sync=True)
    fused(d, "f_slow", "relax + md", **slow)
    err = piped(d, "p_slow", "f_slow", "relax | md", 2, env=debug_env, **slow)
    held = [int(m) for m in re.findall(r"bmd-pipe\[0\] round \d+: .*held back (\d+)", err)]
    parked = [int(m) for m in re.findall(r"bmd-pipe\[1\] round \d+: .*park (\d+) sys", err)]
    c.check(max(held, default=0) > 0, "slow consumer: rank 0 held graduated systems back (buffer of 2)")
    c.check(max(parked, default=0) > 0, "slow consumer: rank 1 parked systems it had no room for")
    print("           held back up to %d, parked up to %d" % (max(held, default=0), max(parked, default=0)))

    # setup errors: every rank says so, exit 2, no hang
    path = campaign(d, "e_ranks", "relax | md")
    rc, out, err = mpirun(3, BATCHMD, "run", path)
    c.check(rc is not None and rc != 0, "2 groups on 3 ranks: fails (got %s)" % rc)
    for r in range(3):
        c.check(re.search(r"rank %d: the pipeline has 2 stage groups .* 3 MPI ranks" % r, err) is not None,
                "2 groups on 3 ranks: rank %d says so: %s" % (r, err[-800:]))
    c.check(re.search(r"Exit code:\s+2", err) is not None, "2 groups on 3 ranks: exit status 2")
    c.check(not os.path.exists(os.path.join(d, "e_ranks.final.extxyz")), "2 groups on 3 ranks: nothing written")
    rc, out, err = mpirun(2, BATCHMD, "run", campaign(d, "e_one", "relax + md"))
    c.check(rc is not None and rc != 0 and "1 stage group" in err and err.count("2 MPI ranks") == 2,
            "1 group on 2 ranks: both ranks say so (got %s): %s" % (rc, err[-800:]))
    rc, out, err = mpirun(1, BATCHMD, "run", path)
    c.check(rc == 2 or re.search(r"Exit code:\s+2", err) is not None, "2 groups on 1 rank: exit 2 (got %s)" % rc)
    c.check("mpirun -np 2" in err, "2 groups on 1 rank: says how to run it")
    rc, out, err = run([BATCHMD, "run", path])
    c.check(rc == 2 and "mpirun -np 2" in err, "2 groups without mpirun: exit 2 (got %s)" % rc)
    a = campaign(d, "e_buf_a", "relax | md", bs=8, ba=400)
    b = campaign(d, "e_buf_b", "relax | md", bs=4, ba=400)
    rc, out, err = run([mpilib.MPIRUN, "--oversubscribe", "-np", "1", BATCHMD, "run", a, ":", "-np", "1", BATCHMD,
                        "run", b])
    c.check(rc is not None and rc != 0, "mismatched buffers: fails (got %s)" % rc)
    for r in (0, 1):
        c.check(re.search(r"rank %d: batch.buffer differs between rank 0 \(systems 8, atoms 400\) and rank 1 "
                          r"\(systems 4, atoms 400\)" % r, err) is not None,
                "mismatched buffers: rank %d says so: %s" % (r, err[-800:]))
    c.check(re.search(r"Exit code:\s+2", err) is not None, "mismatched buffers: exit status 2")

c.finish()
