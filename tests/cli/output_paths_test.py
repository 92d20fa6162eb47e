#!/usr/bin/python3
"""Outputs of two campaigns never mix (issue #14, item 8), the summary's
list of outputs, and small things of the command's text (item 9).

  two campaigns in one folder, a.yaml (final out/a.extxyz) and b.yaml
  (final out/b.extxyz), neither naming `failed`, each with its own input
  of LJ argon clusters (sizes 5-20 and 25-40 atoms, built here) of which
  some have atoms 0.3 Å apart (quarantine.min_distance 0.5 Å takes them out
  at entry, positions untouched): each campaign's failed file is
  out/X.failed.extxyz and holds exactly its own close-atom structures,
  found by numpy pair distances of the inputs, frame by frame equal to the
  input (atom count, positions within 1e-12 Å); run a, then b, then the
  files are checked;
  the summary of a (with log, trajectory where HDF5 is built in, and
  checkpoint) lists exactly the files that exist in out/ for a;
  no output section: results/final.extxyz and results/failed.extxyz, as
  before; `failed` named: that file;
  two outputs on one file: exit 2 naming output.failed at its line, nothing
  written; so for one file spelled two ways (t.extxyz, ./t.extxyz);
  one structure through one stage: "1 structure", "1 stage" (validate and
  summary), not "1 structures"/"1 stages";
  `batchmd run --help` names --device in its usage line and no test-only
  variable (BATCHMD_TEST_*)."""
import os
import re
import subprocess
import tempfile

import numpy as np
import ase.io
from ase import Atoms

from testlib import BATCHMD, Checks

T = Checks()
rng = np.random.default_rng(21)


def cluster(n):
    pos = []
    while len(pos) < n:
        p = rng.uniform(-1, 1, 3) * 2.8 * n ** (1 / 3)
        if all(np.linalg.norm(p - q) > 3.5 for q in pos):
            pos.append(p)
    return Atoms("Ar%d" % n, positions=pos)


def structures(lo, hi, bad):
    out = [cluster(int(rng.integers(lo, hi))) for _ in range(6)]
    for i in bad:
        out[i].positions[1] = out[i].positions[0] + [0.3, 0, 0]
    return out


def closest(a):
    d = np.linalg.norm(a.positions[:, None] - a.positions[None], axis=-1)
    return d[np.triu_indices(len(a), 1)].min()


CAMPAIGN = """model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5, shift: true}
input: %s
stages:
  relax: {type: fire, fmax: 0.05, max_steps: 50}
quarantine: {min_distance: 0.5}
"""


def write(d, name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)
    return name


def run(d, *args):
    return subprocess.run([BATCHMD, *args], cwd=d, capture_output=True, text=True, timeout=300)


def read(path):
    return ase.io.read(path, ":") if os.path.getsize(path) else []


with tempfile.TemporaryDirectory() as d:
    inputs = {"a": structures(5, 21, [1, 4]), "b": structures(25, 41, [2])}
    hdf5 = True
    for k in ("a", "b"):
        ase.io.write(os.path.join(d, k + ".extxyz"), inputs[k])
        inputs[k] = ase.io.read(os.path.join(d, k + ".extxyz"), ":")  # the numbers batchmd reads
        extra = ("  log: out/a.log.csv\n  trajectory: out/a.h5\n  checkpoint: {file: out/a.ckpt}\n" if k == "a"
                 else "")
        text = CAMPAIGN % (k + ".extxyz") + "output:\n  final: out/%s.extxyz\n" % k
        write(d, k + ".yaml", text + extra)
        r = run(d, "run", k + ".yaml")
        if r.returncode == 2 and "HDF5" in r.stderr:  # built without HDF5: no trajectory
            hdf5 = False
            write(d, k + ".yaml", text + extra.replace("  trajectory: out/a.h5\n", ""))
            r = run(d, "run", k + ".yaml")
        T.check(r.returncode == 0, "%s: exit 0 (%s)" % (k, r.stderr))
        if k == "a":
            summary_a = r.stderr
    for k in ("a", "b"):
        bad = [i for i, a in enumerate(inputs[k]) if closest(a) < 0.5]
        path = os.path.join(d, "out", k + ".failed.extxyz")
        T.check(os.path.exists(path), "%s: failed goes to out/%s.failed.extxyz" % (k, k))
        got = read(path) if os.path.exists(path) else []
        ids = [a.info["system_id"] for a in got]
        T.check(sorted(ids) == bad, "%s: its failed file holds its close-atom structures %s (got %s)" % (k, bad, ids))
        T.check(all(len(a) == len(inputs[k][a.info["system_id"]]) and
                    np.allclose(a.positions, inputs[k][a.info["system_id"]].positions, rtol=0, atol=1e-12)
                    for a in got), "%s: each failed frame is its own input structure" % k)
        final = [a.info["system_id"] for a in read(os.path.join(d, "out", k + ".extxyz"))]
        T.check(sorted(final + ids) == list(range(6)), "%s: every structure once across its final + failed" % k)
    T.check(not os.path.exists(os.path.join(d, "results")), "nothing in the old shared results/failed.extxyz")

    # the summary of a names every file a wrote, and nothing else
    listed = {m.group(1): os.path.normpath(os.path.join(d, m.group(2)))
              for m in re.finditer(r"^  (final|failed|log|trajectory|checkpoint): +(\S+)$", summary_a, re.M)}
    written = {os.path.join(d, "out", f) for f in os.listdir(os.path.join(d, "out")) if f.startswith("a.")}
    want = {"final", "failed", "log", "checkpoint"} | ({"trajectory"} if hdf5 else set())
    T.check(set(listed) == want, "summary: a line for each of %s (got %s)" % (sorted(want), sorted(listed)))
    T.check(set(listed.values()) == written, "summary lists exactly the files written: %s vs %s" %
            (sorted(listed.values()), sorted(written)))

with tempfile.TemporaryDirectory() as d:
    ase.io.write(os.path.join(d, "in.extxyz"), [cluster(8)])
    write(d, "c.yaml", CAMPAIGN % "in.extxyz")
    r = run(d, "run", "c.yaml")
    T.check(r.returncode == 0 and os.path.exists(os.path.join(d, "results/final.extxyz")) and
            os.path.exists(os.path.join(d, "results/failed.extxyz")),
            "no output section: results/final.extxyz and results/failed.extxyz (%s)" % r.stderr)
    T.check(r.stderr.startswith("batchmd: 1 structure in "), "summary: '1 structure': %r" % r.stderr[:60])
    r = run(d, "validate", "c.yaml")
    T.check(r.returncode == 0 and "valid: 1 structure, 1 stage, " in r.stdout, "validate: %r" % r.stdout)
    write(d, "f.yaml", CAMPAIGN % "in.extxyz" + "output: {final: o/x.extxyz, failed: o/bad.extxyz}\n")
    r = run(d, "run", "-q", "f.yaml")
    T.check(r.returncode == 0 and os.path.exists(os.path.join(d, "o/bad.extxyz")) and
            not os.path.exists(os.path.join(d, "o/x.failed.extxyz")), "failed named: that file")
    write(d, "s.yaml", CAMPAIGN % "in.extxyz" + "output:\n  final: s/x.extxyz\n  failed: s/x.extxyz\n")
    r = run(d, "run", "-q", "s.yaml")
    T.check(r.returncode == 2 and "s.yaml:8:" in r.stderr and "output.failed" in r.stderr and
            "output.final" in r.stderr, "one file for final and failed: exit 2 at its line (%d: %s)" %
            (r.returncode, r.stderr))
    T.check(not os.path.exists(os.path.join(d, "s")), "refused: nothing written")
    # one file, spelled two ways (the folder is the campaign's own)
    write(d, "t.yaml", CAMPAIGN % "in.extxyz" + "output:\n  final: t.extxyz\n  log: ./t.extxyz\n")
    r = run(d, "run", "-q", "t.yaml")
    T.check(r.returncode == 2 and "output.log" in r.stderr and "output.final" in r.stderr,
            "t.extxyz and ./t.extxyz are one file: exit 2 (%d: %s)" % (r.returncode, r.stderr))
    T.check(not os.path.exists(os.path.join(d, "t.extxyz")), "refused: nothing written")

r = subprocess.run([BATCHMD, "run", "--help"], capture_output=True, text=True, timeout=60)
usage = r.stdout.splitlines()[0] if r.stdout else ""
T.check(r.returncode == 0 and "--device" in usage, "run --help: --device in the usage line: %r" % usage)
T.check("BATCHMD_TEST" not in r.stdout, "run --help names no test-only variable")
T.finish()
