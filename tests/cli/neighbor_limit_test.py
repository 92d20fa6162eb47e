#!/usr/bin/python3
"""quarantine.max_neighbors (issue #8, "a neighbor count beyond limits"): a
structure with an atom that has more neighbors within the model's cutoff
than the limit (periodic images included) leaves as `too_many_neighbors`
before its first evaluation; the others run on.

The expected verdict of every structure comes from ASE's neighbor list
(ase.neighborlist.neighbor_list, the largest per-atom count within the
cutoff), not from batchmd: argon fcc crystals at their density and
compressed (nearest neighbors 3.7 and 2.9 Å, far above min_distance), a
very dense periodic box (answered from its mean density without a list), a
cluster, and a slab. The limit is put between the counts, then exactly on
one (a count equal to the limit passes: LAMMPS's `neigh_modify one`
semantics), and 0 turns the check off."""
import os
import subprocess
import tempfile

import numpy as np
import ase.io
from ase.build import bulk
from ase.neighborlist import neighbor_list

from testlib import BATCHMD, Checks

c = Checks()
CUTOFF = 8.5


def structures():
    out = []
    for a, rep in ((5.26, 3), (4.1, 3), (2.2, 2)):  # nn distance a/sqrt(2): 3.72, 2.90, 1.56 Å
        out.append(bulk("Ar", "fcc", a=a, cubic=True).repeat(rep))
    rng = np.random.default_rng(3)
    cl = bulk("Ar", "fcc", a=4.5, cubic=True).repeat(3)
    cl.pbc = False
    cl.center(vacuum=6.0)
    cl.positions += rng.normal(0, 0.05, cl.positions.shape)
    out.append(cl)
    slab = bulk("Ar", "fcc", a=4.8, cubic=True).repeat((3, 3, 2))
    slab.pbc = (True, True, False)
    slab.center(vacuum=8.0, axis=2)
    out.append(slab)
    for i, s in enumerate(out):
        s.info["name"] = "s%d" % i
    return out


def most_neighbors(atoms):
    i = neighbor_list("i", atoms, CUTOFF)
    return int(np.bincount(i, minlength=len(atoms)).max())


def run(d, limit):
    q = "" if limit is None else "quarantine: {max_neighbors: %d}\n" % limit
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write("model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: %g}\n" % CUTOFF +
                "input: in.extxyz\n"
                "stages:\n  relax: {type: fire, fmax: 0.01, max_steps: 3}\n"
                "output: {final: out/final.extxyz, failed: out/failed.extxyz}\n" + q)
    r = subprocess.run([BATCHMD, "run", "--quiet", "c.yaml"], cwd=d, capture_output=True, text=True, timeout=300)
    status = {}
    for name in ("final", "failed"):
        p = os.path.join(d, "out", name + ".extxyz")
        if os.path.exists(p) and os.path.getsize(p) > 0:
            for f in ase.io.read(p, ":"):
                status[f.info["name"]] = f.info["status"]
    return r, status


frames = structures()
counts = [most_neighbors(s) for s in frames]
print("largest neighbor counts within %g Å (ASE):" % CUTOFF, counts)
c.check(counts[0] < counts[1] < counts[2], "the compressed crystals have more neighbors: %s" % counts)
with tempfile.TemporaryDirectory() as d:
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    ordered = sorted(set(counts))
    limits = [(ordered[0] + ordered[1]) // 2, counts[1], counts[1] - 1, 0, None]
    for limit in limits:
        r, status = run(d, limit)
        what = "max_neighbors %s" % ("default (2000)" if limit is None else limit)
        c.check(r.returncode == 0, "%s: exit 0 (%s)" % (what, r.stderr[-500:]))
        c.check(len(status) == len(frames), "%s: every structure once in final or failed: %s" % (what, status))
        eff = 2000 if limit is None else limit
        for s, n in zip(frames, counts):
            want = "too_many_neighbors" if eff > 0 and n > eff else "done"
            got = status.get(s.info["name"])
            c.check(got == want, "%s: %s (largest count %d): status %s, expected %s" % (what, s.info["name"], n,
                                                                                       got, want))
    # a bad value is refused at its place
    text = open(os.path.join(d, "c.yaml")).read()
    text = text[:text.index("quarantine:")] if "quarantine:" in text else text
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(text + "quarantine: {max_neighbors: -3}\n")
    r = subprocess.run([BATCHMD, "validate", "c.yaml"], cwd=d, capture_output=True, text=True, timeout=60)
    c.check(r.returncode == 2 and "c.yaml:6:" in r.stderr and "max_neighbors" in r.stderr,
            "max_neighbors: -3 refused with its place: %r" % r.stderr)
c.finish()
