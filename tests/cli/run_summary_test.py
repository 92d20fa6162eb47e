#!/usr/bin/python3
"""The end-of-run summary of `batchmd run` (issue #7): atom-steps/s, the time
split (neighbor, force, integrate, flow, io, other: seconds and % of wall)
and the peak RSS, checked against what the test knows independently:

  - every part is present and >= 0, and the five timed parts sum to no more
    than the wall time (other >= 0);
  - throughput x wall = atoms x batch steps (the campaign fixes both);
  - neighbor time follows the neighbor work: a crystal run with skin 0 at
    T* = 3 (every atom moves, so every list is rebuilt at every step) spends
    a far larger share of its model time in neighbor than the same crystal
    at rest with skin 1 Å (built once, then displacement checks only):
    each run three times, the smallest share at rest against the largest
    rebuilding one (a preemption only adds wall time to whichever part it
    lands in; the best of three is what the work costs, whatever the load);
  - a run of many small systems with refill_every 1 and a small budget
    (a compaction and refill after every step) reports flow > 0, io > 0;
  - the peak RSS agrees with what /usr/bin/time -v reports for the process
    (the kernel's ru_maxrss of the child, as its parent sees it), and bytes
    per atom = RSS / the peak batch's atoms."""
import os
import re
import subprocess
import tempfile

import numpy as np
import ase.io
from ase import Atoms

from testlib import BATCHMD, Checks

TIME = "/usr/bin/time"
PARTS = ("neighbor", "force", "integrate", "flow", "io", "other")
NUM = r"([-+0-9.eE]+)"


def fcc_argon(nc, rattle=0.0, seed=1):
    a = 3.40 * (4.0 / 0.8442) ** (1.0 / 3.0)
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(nc) for j in range(nc) for k in range(nc)], dtype=float)
    pos = ((grid[:, None, :] + base[None, :, :]).reshape(-1, 3)) * a
    pos += np.random.default_rng(seed).normal(0, rattle, pos.shape)
    return Atoms("Ar%d" % len(pos), positions=pos, cell=[nc * a] * 3, pbc=True)


def run_summary(d, campaign, frames):
    """Runs the campaign in d under /usr/bin/time -v when there is one;
    returns (summary dict, peak RSS in KiB that time reports or None, stderr)."""
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(campaign)
    # not os.wait4 on a child of this (large) Python: Linux keeps the peak of
    # the image before exec in ru_maxrss; time is a small process to fork from
    timed = os.path.exists(TIME)
    r = subprocess.run(([TIME, "-v"] if timed else []) + [BATCHMD, "run", "c.yaml"], cwd=d, capture_output=True,
                       text=True, timeout=600)
    err = r.stderr
    s = {"rc": r.returncode}
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err) if timed else None
    kib = int(m.group(1)) if m else None
    m = re.search(r"throughput %s atom-steps/s over (\d+) batch steps" % NUM, err)
    if m:
        s["rate"], s["steps"] = float(m.group(1)), int(m.group(2))
    m = re.search(r"time %s s:(.*)" % NUM, err)
    if m:
        s["wall"] = float(m.group(1))
        for name in PARTS:
            t = re.search(r"\b%s %s s \(%s%%\)" % (name, NUM, NUM), m.group(2))
            if t:
                s[name], s[name + "%"] = float(t.group(1)), float(t.group(2))
    m = re.search(r"memory: peak RSS %s MiB, %s bytes per atom of the peak batch \((\d+) atoms\)" % (NUM, NUM), err)
    if m:
        s["rss_mib"], s["bytes_per_atom"], s["peak_atoms"] = float(m.group(1)), float(m.group(2)), int(m.group(3))
    return s, kib, err


def check_split(c, s, what):
    ok = all(k in s for k in ("wall", "rate", "steps") + PARTS)
    c.check(ok, "%s: summary has throughput and every part of the split: %s" % (what, s))
    if not ok:
        return
    c.check(all(s[k] >= 0 for k in PARTS), "%s: every part >= 0: %s" % (what, s))
    timed = sum(s[k] for k in PARTS[:5])
    # printed with 4 significant digits: allow their rounding
    c.check(timed <= s["wall"] * (1 + 1e-3) + 5e-4, "%s: parts sum %.6g <= wall %.6g" % (what, timed, s["wall"]))
    c.check(abs(sum(s[k + "%"] for k in PARTS) - 100) < 0.5, "%s: shares add up to 100%%" % what)


def model_share(s):
    return s["neighbor"] / max(s["neighbor"] + s["force"], 1e-12)


c = Checks()
CRYSTAL = """units: metal
seed: 7
threads: 1
model: {type: lj, epsilon: 0.0104, sigma: 3.40, cutoff: 8.5, skin: %(skin)r}
input: in.extxyz
stages: {md: {type: nve, dt: 5.0, steps: %(steps)d%(temp)s}}
output: {final: final.extxyz}
"""
with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2, tempfile.TemporaryDirectory() as d3:
    # hot, skin 0: every list rebuilt at every step
    xtal = fcc_argon(6, rattle=0.05)
    n, steps = len(xtal), 60
    hot, rss_kib, err = run_summary(d1, CRYSTAL % dict(skin=0.0, steps=steps, temp=", init_temperature: 362"),
                                    [xtal])
    c.check(hot["rc"] == 0, "hot crystal run exit 0: %s" % err[-2000:])
    check_split(c, hot, "hot crystal, skin 0")
    if "rate" in hot and "wall" in hot:
        c.check(hot["steps"] == steps, "batch steps %s = the stage's %d" % (hot["steps"], steps))
        c.check(abs(hot["rate"] * hot["wall"] / (n * hot["steps"]) - 1) < 0.01,
                "throughput x wall = atoms x steps: %.6g x %.6g vs %d x %d" % (hot["rate"], hot["wall"], n, steps))
    # memory against the kernel's own count for the child
    c.check("rss_mib" in hot, "memory line present (%s)" % err[-600:])
    if "rss_mib" in hot and rss_kib:  # (no /usr/bin/time: no reference to compare with)
        kernel_mib = rss_kib / 1024.0
        c.check(abs(hot["rss_mib"] - kernel_mib) <= 0.5 + 0.05 * kernel_mib,
                "peak RSS %.1f MiB vs /usr/bin/time's %.1f MiB" % (hot["rss_mib"], kernel_mib))
    if "rss_mib" in hot:
        c.check(hot["peak_atoms"] == n, "peak batch = the crystal's %d atoms" % n)
        c.check(abs(hot["bytes_per_atom"] - hot["rss_mib"] * 1048576 / n) <= 0.05 * 1048576 / n + 1,
                "bytes per atom = RSS / atoms (RSS printed to 0.1 MiB)")

    # at rest (a perfect lattice: zero forces, nothing moves), skin 1 Å: one build, then checks only
    # (more steps than the hot run: a run of a few ms would be at the mercy of one preemption)
    cold, _, err = run_summary(d2, CRYSTAL % dict(skin=1.0, steps=5 * steps, temp=""), [fcc_argon(6)])
    c.check(cold["rc"] == 0, "cold crystal run exit 0: %s" % err[-2000:])
    check_split(c, cold, "crystal at rest, skin 1")
    if "neighbor" in hot and "neighbor" in cold:
        c.check(hot["neighbor"] > 0, "rebuilding every step shows neighbor time > 0")
        hots, colds = [model_share(hot)], [model_share(cold)]
        for _ in range(2):
            h = run_summary(d1, CRYSTAL % dict(skin=0.0, steps=steps, temp=", init_temperature: 362"), [xtal])[0]
            k = run_summary(d2, CRYSTAL % dict(skin=1.0, steps=5 * steps, temp=""), [fcc_argon(6)])[0]
            hots += [model_share(h)] if "neighbor" in h else []
            colds += [model_share(k)] if "neighbor" in k else []
        c.check(max(hots) > 3 * min(colds), "neighbor share of model time, best of %d runs: rebuilding every step "
                "%.3f vs built once %.3f" % (len(hots), max(hots), min(colds)))

    # many small systems, a refill after every step
    rng = np.random.default_rng(3)
    small = []
    for k in range(120):
        nat = 6 + k % 9
        pos = []
        while len(pos) < nat:
            p = rng.uniform(-1, 1, 3) * 3.0 * nat ** (1 / 3)
            if all(np.linalg.norm(p - q) > 3.6 for q in pos):
                pos.append(p)
        small.append(Atoms("Ar%d" % nat, positions=pos))
    flow, _, err = run_summary(d3, """units: metal
seed: 1
threads: 1
model: {type: lj, epsilon: 0.0104, sigma: 3.40, cutoff: 8.5, shift: true}
input: in.extxyz
stages: {relax: {type: fire, fmax: 0.01, max_steps: 40}}
batch: {max_systems: 8, refill_every: 1}
output: {final: final.extxyz}
""", small)
    c.check(flow["rc"] == 0, "refill run exit 0: %s" % err[-2000:])
    check_split(c, flow, "refill_every 1")
    if "flow" in flow:
        c.check(flow["flow"] > 0, "inflight batching shows flow time > 0: %s" % flow)
        c.check(flow["io"] > 0, "writing 120 structures shows io time > 0: %s" % flow)
print(hot, cold, flow, sep="\n") if os.environ.get("VERBOSE") else None
c.finish()
