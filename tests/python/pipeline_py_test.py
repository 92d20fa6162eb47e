"""`a | b` from Python: a pipeline over MPI ranks equals the fused run.

A script (written below) runs on every rank under `mpirun -np 2 python3
script.py`: `(relax | md).run(...)` (FIRE, then NVTLangevin) of the
quickstart's argon clusters plus two that rank 0 takes out (atoms too
close, force blow-up), which must travel to the last rank's `failed`. Compared with `(relax + md).run(...)` of the same
structures in this process:

  - the last rank's Result.final / .failed: the same systems, positions,
    momenta, forces, energies and info (steps_relax, converged_md, status,
    the per-structure temperature=60 ...) bit for bit (piped and fused runs
    draw the same random numbers: the Langevin noise and md's initial
    velocities are keyed by the sub-stage's place in the whole pipeline);
    rank 0's Result has rank 0, is_last False and empty final/failed;
  - a hook of a stage runs on that stage's rank only (a counting hook on
    relax fires on rank 0 alone, one on md on rank 1 alone);
  - a second run in the same MPI world with final / failed as paths (written
    by the last rank only) and log= (one file per rank): the files hold the
    fused run's systems bit for bit (read back by ASE), and the two ranks'
    log rows together are the fused log's rows;
  - every rank finalizes MPI at exit (else mpirun reports a rank "exiting
    improperly").

Errors, each under a hang guard (a hang is a failure): a Pipeline run
without mpirun raises BatchmdError saying how to launch it; launched on 3
ranks, the ranks say that 2 are needed and the job fails; a dataset that
does not exist (read on rank 0 only) raises FileNotFoundError on rank 0 and
"rank 0 failed" on rank 1; a hook on md raising on rank 1 raises that very
exception on rank 1 and "rank 1 failed" on rank 0; after both, a pipeline
run in the same world still completes."""
import importlib.util
import json
import os
import pickle
import sys
import tempfile
import time

import numpy as np
from ase.io import read, write

from pylib import BUILD, SOURCE, Checks
import batchmd as bmd

sys.path.insert(0, os.path.join(SOURCE, "tests", "mpi"))
import mpilib  # noqa: E402  (mpirun under a hang guard, its environment)

SCRIPT = r'''
"""Runs on every rank: python3 script.py MODE DIR (see pipeline_py_test.py)."""
import json
import os
import pickle
import sys

from ase.io import read

import batchmd as bmd

KW = dict(seed=7, max_atoms=300, refill_every=5)


def stages(hooks_relax=(), hooks_md=()):
    model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
    relax = bmd.FIRE(model, name="relax", fmax=0.01, max_steps=2000, hooks=list(hooks_relax))
    md = bmd.NVTLangevin(model, name="md", dt=5.0, temperature=30, friction=0.01, steps=300, init_temperature=30,
                         hooks=list(hooks_md))
    return relax, md


def caught(fn):
    try:
        fn()
        return None
    except Exception as e:
        return [type(e).__name__, str(e)]


if __name__ == "__main__":
    mode, d = sys.argv[1], sys.argv[2]
    structures = read(os.path.join(d, "in.extxyz"), index=":")
    if mode == "pipe":
        counts = {"relax": 0, "md": 0}

        def counter(name):
            def hook(batch):
                counts[name] += 1
            return hook

        relax, md = stages([counter("relax")], [counter("md")])
        r1 = (relax | md).run(structures, buffer_systems=4, buffer_atoms=200, **KW)
        r2 = (relax | md).run(structures, final=os.path.join(d, "p.final.extxyz"),
                              failed=os.path.join(d, "p.failed.extxyz"), log=os.path.join(d, "log.csv"),
                              comm="fully_async", **KW)
        with open(os.path.join(d, "pipe.rank%d.pkl" % r1.rank), "wb") as f:
            pickle.dump(dict(rank=r1.rank, is_last=r1.is_last, final=r1.final, failed=r1.failed, stats=r1.stats,
                             counts=counts, rank2=r2.rank, final2=len(r2.final), failed2=len(r2.failed)), f)
    elif mode == "errors":
        relax, md = stages()
        e1 = caught(lambda: (relax | md).run(os.path.join(d, "missing.extxyz"), **KW))

        def boom(batch):
            raise RuntimeError("boom from a hook on md")

        relax, md = stages(hooks_md=[boom])
        e2 = caught(lambda: (relax | md).run(structures, **KW))
        relax, md = stages()
        r = (relax | md).run(structures[:6], **KW)
        with open(os.path.join(d, "errors.rank%d.json" % r.rank), "w") as f:
            json.dump(dict(missing=e1, hook=e2, after=[r.is_last, len(r.final) + len(r.failed)]), f)
'''

c = Checks()
if not mpilib.MPIRUN:
    c.check(False, "mpirun is not on PATH (install openmpi-bin)")
    c.finish()


def mpirun(ranks, *args):
    env = dict(mpilib.ENV, PYTHONPATH=os.path.join(BUILD, "python"))
    t0 = time.perf_counter()
    rc, out, err = mpilib.run([mpilib.MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", str(ranks), "-x",
                               "PYTHONPATH", "-x", "OMP_NUM_THREADS", "/usr/bin/python3", *args], env=env)
    print("mpirun -np %d %s: %.1f s" % (ranks, " ".join(args[1:2]), time.perf_counter() - t0), flush=True)
    c.check(rc is not None, "mpirun -np %d %s: the job ends (it hung for %d s): %s"
            % (ranks, " ".join(args), mpilib.HANG, err[-1500:]))
    return rc, out, err


def same(a, b):
    """Bitwise the same state and record (ASE 3.22's extxyz reader copies the energy into info)."""
    ia = {k: v for k, v in a.info.items() if k != "energy"}
    ib = {k: v for k, v in b.info.items() if k != "energy"}
    return (np.array_equal(a.numbers, b.numbers) and np.array_equal(a.positions, b.positions)
            and np.array_equal(a.get_momenta(), b.get_momenta()) and np.array_equal(a.get_forces(), b.get_forces())
            and a.get_potential_energy() == b.get_potential_energy() and ia == ib)


def compare(what, ref, got):
    r = {a.info["system_id"]: a for a in ref}
    g = {a.info["system_id"]: a for a in got}
    c.check(sorted(r) == sorted(g) and len(g) == len(got), "%s: systems %s, fused %s" % (what, sorted(g), sorted(r)))
    bad = [i for i in sorted(set(r) & set(g)) if not same(r[i], g[i])]
    c.check(not bad, "%s: systems %s differ from the fused run's (first: %s vs %s)"
            % (what, bad, g[bad[0]].info if bad else "", r[bad[0]].info if bad else ""))


with tempfile.TemporaryDirectory() as d:
    structures = read(os.path.join(SOURCE, "examples", "quickstart", "structures.extxyz"), index=":")
    # two that rank 0 takes out: atoms 0.3 Å apart (under quarantine.min_distance, 0.5 Å, as it arrives) and
    # 0.8 Å apart (LJ forces ~1e3 eV/Å at the first evaluation, over quarantine.max_force)
    for at, (i, dist) in ((10, (3, 0.3)), (17, (4, 0.8))):
        bad = structures[i].copy()
        bad.positions[1] = bad.positions[0] + [dist, 0, 0]
        structures.insert(at, bad)
    write(os.path.join(d, "in.extxyz"), structures)
    structures = read(os.path.join(d, "in.extxyz"), index=":")  # exactly what the ranks read
    script = os.path.join(d, "script.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    spec = importlib.util.spec_from_file_location("pipeline_script", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    # the fused reference, in this process
    relax, md = mod.stages()
    fused = (relax + md).run(structures, log=os.path.join(d, "fused.csv"), **mod.KW)
    c.check(len(fused.final) == len(structures) - 2
            and sorted((a.info["system_id"], a.info["status"]) for a in fused.failed)
            == [(10, "atoms_too_close"), (17, "force_blowup")],
            "fused: %d final, failed %s" % (len(fused.final), [a.info for a in fused.failed]))

    # without mpirun: a clear refusal
    try:
        (relax | md).run(structures, **mod.KW)
        c.check(False, "a pipeline run without mpirun raised nothing")
    except bmd.BatchmdError as e:
        c.check("mpirun -np 2 python3" in str(e) and "not started by an MPI launcher" in str(e),
                "without mpirun: %s" % e)

    # 2 ranks: equal to the fused run
    rc, out, err = mpirun(2, script, "pipe", d)
    c.check(rc == 0, "mpirun -np 2 script.py pipe: exit 0 (got %s): %s" % (rc, err[-2500:]))
    c.check("exiting improperly" not in err, "every rank finalizes MPI at exit: %s" % err[-1500:])
    ranks = []
    for r in (0, 1):
        p = os.path.join(d, "pipe.rank%d.pkl" % r)
        c.check(os.path.exists(p), "rank %d wrote its result" % r)
        if os.path.exists(p):
            with open(p, "rb") as f:
                ranks.append(pickle.load(f))
    if len(ranks) == 2:
        r0, r1 = ranks
        c.check(r0["rank"] == 0 and not r0["is_last"] and r0["final"] == [] and r0["failed"] == [],
                "rank 0: rank %s, is_last %s, %d final, %d failed" % (r0["rank"], r0["is_last"], len(r0["final"]),
                                                                       len(r0["failed"])))
        c.check(r1["rank"] == 1 and r1["is_last"], "rank 1: rank %s, is_last %s" % (r1["rank"], r1["is_last"]))
        compare("the last rank's final", fused.final, r1["final"])
        compare("the last rank's failed", fused.failed, r1["failed"])
        c.check(r0["counts"]["relax"] > 0 and r0["counts"]["md"] == 0, "rank 0's hook calls %s" % r0["counts"])
        c.check(r1["counts"]["md"] > 0 and r1["counts"]["relax"] == 0, "rank 1's hook calls %s" % r1["counts"])
        n = len(structures)
        c.check(r1["stats"]["done"] == n - 2 and r1["stats"]["failed"] == 2 and r0["stats"]["done"] == 0
                and r0["stats"]["pipeline"]["total"] == n and r1["stats"]["pipeline"]["done"] == n - 2,
                "stats: rank 0 %s, rank 1 %s" % (r0["stats"], r1["stats"]))
        c.check([s["name"] for s in r1["stats"]["stages"]] == ["relax", "md"]
                and r1["stats"]["stages"][1]["converged"] == n - 2,
                "the last rank's stages %s" % r1["stats"]["stages"])
        c.check(r0["final2"] == r1["final2"] == 0 and r0["failed2"] == r1["failed2"] == 0,
                "with final/failed paths, no Atoms in memory: %s" % [(x["final2"], x["failed2"]) for x in ranks])
    compare("final.extxyz of the last rank", fused.final, read(os.path.join(d, "p.final.extxyz"), index=":"))
    compare("failed.extxyz of the last rank", fused.failed, read(os.path.join(d, "p.failed.extxyz"), index=":"))
    rows = []
    for r in (0, 1):
        p = os.path.join(d, "log.rank%d.csv" % r)
        c.check(os.path.exists(p), "log= wrote %s" % p)
        if os.path.exists(p):
            with open(p) as f:
                lines = f.read().splitlines()
            stages_here = {x.split(",")[1] for x in lines[1:]}
            c.check(stages_here == {("relax", "md")[r]}, "rank %d logs stages %s" % (r, stages_here))
            rows += lines[1:]
    with open(os.path.join(d, "fused.csv")) as f:
        fused_rows = f.read().splitlines()[1:]
    c.check(sorted(rows) == sorted(fused_rows), "the ranks' log rows (%d) are the fused log's (%d)"
            % (len(rows), len(fused_rows)))

    # 3 ranks for 2 groups: every rank refuses, saying how to launch it
    rc, out, err = mpirun(3, script, "pipe", d)
    c.check(rc not in (0, None), "3 ranks: the job fails (exit %s)" % rc)
    # (mpirun ends the job at the first rank's exit: not every rank's traceback need get out)
    c.check("launched on 3 ranks: run it with `mpirun -np 2 python3" in err, "3 ranks: says why: %s" % err[-2500:])

    # an error on one rank stops the other; the world goes on
    rc, out, err = mpirun(2, script, "errors", d)
    c.check(rc == 0, "mpirun -np 2 script.py errors: exit 0 (got %s): %s" % (rc, err[-2500:]))
    c.check("exiting improperly" not in err, "errors: every rank finalizes MPI at exit: %s" % err[-1500:])
    res = []
    for r in (0, 1):
        p = os.path.join(d, "errors.rank%d.json" % r)
        c.check(os.path.exists(p), "errors: rank %d wrote its result" % r)
        if os.path.exists(p):
            with open(p) as f:
                res.append(json.load(f))
    if len(res) == 2:
        m0, m1 = res[0]["missing"], res[1]["missing"]
        c.check(m0 is not None and m0[0] == "FileNotFoundError" and "missing.extxyz" in m0[1],
                "missing dataset, rank 0: %s" % m0)
        c.check(m1 is not None and m1[0] == "BatchmdError" and "rank 0 failed" in m1[1],
                "missing dataset, rank 1: %s" % m1)
        h0, h1 = res[0]["hook"], res[1]["hook"]
        c.check(h1 == ["RuntimeError", "boom from a hook on md"], "hook raising on rank 1, rank 1: %s" % h1)
        c.check(h0 is not None and h0[0] == "BatchmdError" and "rank 1 failed" in h0[1],
                "hook raising on rank 1, rank 0: %s" % h0)
        c.check(res[0]["after"] == [False, 0] and res[1]["after"] == [True, 6],
                "a run after the errors: %s" % [x["after"] for x in res])
c.finish()
