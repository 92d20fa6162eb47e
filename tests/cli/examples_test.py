#!/usr/bin/python3
"""The example campaigns (examples/*/campaign.yaml) work as shipped: each
passes `batchmd validate`; its make_*.py generator, run in a scratch copy,
gives back the committed structures (fixed seed); and each quick one runs
(`batchmd run --quiet`; a pipeline with '|' under `mpirun -np GROUPS`) in
a scratch copy of its folder (the repository stays clean) with exit status
0 and every input structure exactly once in output.final, none failed.

The Python examples (examples/python/*.py) run with /usr/bin/python3 and
the package from the build (PYTHONPATH=BUILD/python), in a scratch folder,
each within its time limit, exit 0 with nothing on stderr, and print what
they promise: relax_md.py one table row per structure with its Langevin
mean temperature near its bath; kim_ase.py the published figures of the
Mishin 2001 copper potential (cohesive energy -3.54 eV, vacancy formation
1.27 eV, migration 0.69 eV: Phys. Rev. B 63, 224106); torch_potential.py
all 1,000 structures done and its fitted network within 20 meV/atom and
0.3 eV/Å of ASE's LennardJones, the reference it was fitted to."""
import glob
import os
import re
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


# ---- the Python examples ----
BUILD = os.environ.get("BATCHMD_BUILD") or os.path.dirname(os.path.abspath(BATCHMD))
# name: a limit against hangs, s (they take 2 to 30 s; the limit is no speed test)
PY_EXAMPLES = {"relax_md.py": 300, "kim_ase.py": 300, "torch_potential.py": 600}
found = sorted(os.path.basename(p) for p in glob.glob(os.path.join(SOURCE, "examples", "python", "*.py")))
c.check(found == sorted(PY_EXAMPLES), "examples/python holds %s, the test knows %s" % (found, sorted(PY_EXAMPLES)))


def figure(out, label):
    """The number after `label` on its line of an example's output."""
    for line in out.splitlines():
        if line.startswith(label):
            return float(line[len(label):].split()[0])
    return None


py_env = dict(os.environ, PYTHONPATH=os.environ.get("PYTHONPATH") or os.path.join(BUILD, "python"),
              OMP_NUM_THREADS="1")
outputs = {}
for name, limit in sorted(PY_EXAMPLES.items()):
    with tempfile.TemporaryDirectory() as tmp:
        try:
            r = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "examples", "python", name)], cwd=tmp,
                               env=py_env, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            c.check(False, "examples/python/%s took longer than %d s" % (name, limit))
            continue
    c.check(r.returncode == 0, "examples/python/%s exits %d: %s" % (name, r.returncode, r.stderr[-3000:]))
    c.check(r.stderr == "", "examples/python/%s printed on stderr: %s" % (name, r.stderr[-3000:]))
    outputs[name] = r.stdout

# relax_md.py: 40 rows (id name atoms steps E_relaxed T_bath <T> E_final), each mean temperature of the
# second half of 1000 Langevin steps within 25 % of its bath (13-atom clusters fluctuate most)
rows = [r for r in (line.split() for line in outputs.get("relax_md.py", "").splitlines())
        if len(r) == 8 and r[0].isdigit()]
c.check(sorted(int(r[0]) for r in rows) == list(range(40)), "relax_md.py: rows for ids %s" % [r[0] for r in rows])
for r in rows:
    c.check(abs(float(r[6]) / float(r[5]) - 1) < 0.25, "relax_md.py: system %s at %s K for a %s K bath"
            % (r[0], r[6], r[5]))
c.check(sum(r[5] == "60" for r in rows) == 3, "relax_md.py: three structures with temperature=60 in their info")

# kim_ase.py against Mishin et al. 2001
out = outputs.get("kim_ase.py", "")
for label, ref, tol in (("cohesive energy", -3.54, 0.005), ("vacancy formation", 1.27, 0.02),
                        ("vacancy migration", 0.69, 0.02)):
    v = figure(out, label)
    c.check(v is not None and abs(v - ref) <= tol, "kim_ase.py: %s %s eV, published %s" % (label, v, ref))

# torch_potential.py: every structure done, none failed; the fitted network against ASE's own
# LennardJones (the reference it was fitted to, computed independently) on structures it never saw
out = outputs.get("torch_potential.py", "")
c.check("1000 done, 0 failed" in out, "torch_potential.py: not every structure done: %s" % out[-2000:])
m = re.search(r"against ASE's LennardJones on (\d+) final structures: energy MAE ([0-9.]+) meV/atom, "
              r"force RMSE ([0-9.]+) eV/Å", out)
c.check(m is not None and int(m.group(1)) == 40 and float(m.group(2)) < 20 and float(m.group(3)) < 0.3,
        "torch_potential.py: the fitted potential against ASE's LennardJones: %s (expected under 20 meV/atom and "
        "0.3 eV/Å)" % (m.group(0) if m else out[-2000:]))

c.finish()
