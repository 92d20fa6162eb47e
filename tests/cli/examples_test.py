#!/usr/bin/python3
"""The example campaigns (examples/*/campaign.yaml) work as shipped: each
passes `batchmd validate`; its make_*.py generator, run in a scratch copy,
gives back the committed structures (fixed seed); and each quick one runs
(`batchmd run --quiet`; a pipeline with '|' under `mpirun -np GROUPS`) in
a scratch copy of its folder (the repository stays clean) with exit status
0 and every input structure exactly once in output.final, none failed."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import ase.io
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import BATCHMD, Checks, run  # noqa: E402

SOURCE = os.environ.get("BATCHMD_SOURCE") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SLOW = set()  # example folders too slow for the test suite (validated only)

c = Checks()
campaigns = sorted(glob.glob(os.path.join(SOURCE, "examples", "*", "campaign.yaml")))
c.check(len(campaigns) >= 3, "at least the quickstart, vacancy and lj_liquid examples (found %d)" % len(campaigns))


def same_structures(a, b):
    return len(a) == len(b) and all(
        len(x) == len(y) and (x.numbers == y.numbers).all() and np.allclose(x.positions, y.positions, atol=1e-8)
        and np.allclose(x.cell.array, y.cell.array, atol=1e-8) and (x.pbc == y.pbc).all() for x, y in zip(a, b))


for path in campaigns:
    folder = os.path.dirname(path)
    name = os.path.basename(folder)
    r = run("validate", path)
    c.check(r.returncode == 0, "%s: batchmd validate exits %d: %s" % (name, r.returncode, r.stderr.strip()))
    inputs = sorted(glob.glob(os.path.join(folder, "*.extxyz")))
    c.check(len(inputs) == 1, "%s: one input file beside the campaign (found %d)" % (name, len(inputs)))
    if len(inputs) != 1:
        continue
    frames = ase.io.read(inputs[0], ":")
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, name)
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns("results", "__pycache__"))
        # The generator gives back the committed data.
        makers = glob.glob(os.path.join(work, "make_*.py"))
        c.check(len(makers) == 1, "%s: one make_*.py generator (found %d)" % (name, len(makers)))
        if len(makers) == 1:
            target = os.path.join(work, os.path.basename(inputs[0]))
            os.remove(target)
            g = subprocess.run([sys.executable, makers[0]], cwd=work, capture_output=True, text=True, timeout=300)
            c.check(g.returncode == 0 and os.path.exists(target), "%s: %s failed: %s" % (name, makers[0], g.stderr))
            if os.path.exists(target):
                c.check(same_structures(frames, ase.io.read(target, ":")),
                        "%s: %s does not reproduce %s" % (name, os.path.basename(makers[0]), inputs[0]))
            shutil.copy(inputs[0], target)  # run on the committed data
        if name in SLOW:
            continue
        # a pipeline with '|' runs one stage group per MPI rank
        groups = 1
        with open(os.path.join(work, "campaign.yaml")) as f:
            for line in f:
                if line.startswith("pipeline:"):
                    groups = line.split("#")[0].count("|") + 1
        if groups > 1:
            mpirun = shutil.which("mpirun")
            if not mpirun or "built without MPI" in run("validate", path).stdout:
                print("%s: not run (a %d-rank pipeline needs mpirun and an MPI build)" % (name, groups))
                continue
            env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                       OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1")
            r = subprocess.run([mpirun, "-np", str(groups), BATCHMD, "run", "--quiet",
                                os.path.join(work, "campaign.yaml")], capture_output=True, text=True, timeout=300,
                               env=env)
        else:
            r = run("run", "--quiet", os.path.join(work, "campaign.yaml"))
        c.check(r.returncode == 0, "%s: batchmd run exits %d: %s" % (name, r.returncode, r.stderr.strip()))
        c.check(r.stderr == "", "%s: --quiet run printed on stderr: %s" % (name, r.stderr.strip()))
        final = os.path.join(work, "results", "final.extxyz")
        failed = os.path.join(work, "results", "failed.extxyz")
        out = ase.io.read(final, ":") if os.path.exists(final) else []
        ids = sorted(a.info.get("system_id", -1) for a in out)
        c.check(ids == list(range(len(frames))),
                "%s: system_ids in final are %s, expected each of 0..%d once" % (name, ids, len(frames) - 1))
        c.check(all(a.info.get("status") == "done" for a in out), "%s: a final frame without status=done" % name)
        n_failed = len(ase.io.read(failed, ":")) if os.path.exists(failed) and os.path.getsize(failed) else 0
        c.check(n_failed == 0, "%s: %d systems failed" % (name, n_failed))

c.finish()
