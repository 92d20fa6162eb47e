#!/usr/bin/python3
"""`batchmd validate` warns about the structures the run will take out as
they arrive for atoms closer than quarantine.min_distance (atoms_too_close),
naming FILE:LINE of the structure, and still exits 0 (the run goes on with
the rest). Which structures are too close comes from ASE's minimum-image
distances (an independent computation); the run then quarantines exactly
the structures validate warned about (an MD stage: a FIRE stage lets a
structure whose forces cancel, e.g. one atom against its images, converge
on arrival before the run's check looks at it). Once with the default
min_distance (0.5 Å), once with quarantine.min_distance: 0.7."""
import os
import re
import tempfile

import numpy as np
import ase.io
from ase import Atoms

from testlib import Checks, run

MODEL = "model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5}\ninput: in.extxyz\n"
STAGES = "stages: {md: {type: nve, dt: 1.0, steps: 2}}\noutput: {final: out/final.extxyz, failed: out/failed.extxyz}\n"


def structures():
    """Structures around the thresholds: free and periodic, the close pair
    across a periodic boundary, an atom against its own image."""
    box = [[10.0, 0, 0], [0, 10.0, 0], [0, 0, 10.0]]
    far = [[5.0, 5.0, 5.0], [5.0, 8.8, 5.0]]
    out = [Atoms("Ar3", positions=[[0, 0, 0], [3.8, 0, 0], [1.9, 3.3, 0]])]  # fine
    for gap in (0.3, 0.65, 0.8):  # across the periodic boundary along x
        out.append(Atoms("Ar4", positions=[[0.1, 1, 1], [10.1 - gap, 1, 1]] + far, cell=box, pbc=True))
    out.append(Atoms("Ar2", positions=[[0, 0, 0], [0.45, 0.1, 0]]))  # a free pair
    out.append(Atoms("Ar", positions=[[0.1, 0.2, 0.3]], cell=[[0.6, 0, 0], [0, 6, 0], [0, 0, 6]], pbc=True))
    return out


def min_distance(a):
    """Smallest distance between two atoms, or an atom and its own image."""
    d = a.get_all_distances(mic=True) if len(a) > 1 else np.array([[np.inf]])
    d[np.diag_indices_from(d)] = np.inf
    if a.pbc.any():  # an atom against its own images (ASE's mic skips i == i)
        for v in a.cell.array[a.pbc]:
            d[0, 0] = min(d[0, 0], np.linalg.norm(v))
    return d.min()


c = Checks()
with tempfile.TemporaryDirectory() as d:
    frames = structures()
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    with open(os.path.join(d, "in.extxyz")) as f:  # the line each structure starts on
        lines = f.read().splitlines()
    starts, i = [], 0
    while i < len(lines):
        starts.append(i + 1)
        i += int(lines[i]) + 2
    c.check(len(starts) == len(frames), "one start line per structure")
    for label, quarantine, dmin in (("default", "", 0.5), ("min_distance 0.7", "quarantine: {min_distance: 0.7}\n", 0.7)):
        with open(os.path.join(d, "c.yaml"), "w") as f:
            f.write(MODEL + STAGES + quarantine)
        close = [k for k, a in enumerate(frames) if min_distance(a) < dmin]
        c.check(len(close) >= 2 and len(close) < len(frames), "%s: the structures straddle the threshold" % label)
        r = run("validate", os.path.join(d, "c.yaml"))
        c.check(r.returncode == 0 and "valid" in r.stdout, "%s: validate exit 0: %d %s" % (label, r.returncode, r.stderr))
        warned = re.findall(r"^batchmd: warning: (\S+):(\d+): structure (\d+): .*atoms_too_close$", r.stderr, re.M)
        c.check(r.stderr.count("\n") == len(warned), "%s: only warnings on stderr: %s" % (label, r.stderr))
        c.check([int(w[2]) for w in warned] == close,
                "%s: warned about %s, ASE finds %s closer than %g" % (label, [w[2] for w in warned], close, dmin))
        for file, line, k in warned:
            c.check(file.endswith("in.extxyz") and int(line) == starts[int(k)],
                    "%s: structure %s warned at %s:%s, starts at line %d" % (label, k, file, line, starts[int(k)]))
        r = run("run", "--quiet", os.path.join(d, "c.yaml"))
        c.check(r.returncode == 0, "%s: run goes on with the rest: %s" % (label, r.stderr))
        failed = ase.io.read(os.path.join(d, "out/failed.extxyz"), ":") if r.returncode == 0 else []
        taken = sorted(a.info["system_id"] for a in failed if a.info.get("status") == "atoms_too_close")
        c.check(taken == close, "%s: the run takes out %s as atoms_too_close, validate warned about %s" % (label, taken, close))
c.finish()
