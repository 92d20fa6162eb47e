#!/usr/bin/python3
"""Batched FIRE against ASE: N perturbed LJ clusters (4 to 200 atoms, grown
atom by atom) and small periodic fcc crystals with a vacancy, relaxed with
FIRE (ASE's defaults, fmax 0.05 eV/Å, at most 1000 steps), LJ ε 0.415 eV,
σ 2.277 Å, rc 5.7 Å (shifted, as ASE's LennardJones).

batchmd relaxes all N in one run (`batchmd run`, 1 thread, whole process);
ASE relaxes the first K one by one (FIRE + its LennardJones calculator, one
core). Structures/s of each, the ratio, and a check that the K shared
structures took identical step counts. --csv prints
    case,program,wall_s,structures_per_s,peak_rss_MiB,steps_identical,atom_steps_per_s,peak_atoms
(the last two: batchmd's, from its end-of-run summary).

usage: bench/fire_ase.py [--n N] [--ase K] [--batchmd PATH] [--csv]"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import ase.io
from ase import Atoms
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.optimize import FIRE

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=2000)
ap.add_argument("--ase", type=int, default=40)
ap.add_argument("--batchmd", default=os.path.join(HERE, "..", "build", "batchmd"))
ap.add_argument("--csv", action="store_true")
args = ap.parse_args()
args.batchmd = os.path.abspath(args.batchmd)
EPS, SIG, RC, FMAX = 0.415, 2.277, 5.7, 0.05
rng = np.random.default_rng(11)


def grown_cluster(n):
    pos = [np.zeros(3)]
    while len(pos) < n:
        base = pos[rng.integers(len(pos))]
        d = rng.normal(size=3)
        p = base + d / np.linalg.norm(d) * rng.uniform(2.5, 2.9)
        P = np.array(pos)
        if np.min(np.linalg.norm(P - p, axis=1)) > 2.4:
            pos.append(p)
    return Atoms("Cu%d" % n, positions=pos)


def crystal():
    a = bulk("Cu", "fcc", a=3.615 * rng.uniform(0.99, 1.02), cubic=True).repeat((2, 2, 2))
    del a[int(rng.integers(len(a)))]
    a.positions += rng.normal(0, 0.08, a.positions.shape)
    return a


frames = []
for k in range(args.n):
    frames.append(crystal() if k % 5 == 4 else grown_cluster(int(rng.integers(4, 201))))
n_atoms = sum(len(a) for a in frames)

with tempfile.TemporaryDirectory() as d:
    inp = os.path.join(d, "in.extxyz")
    ase.io.write(inp, frames, format="extxyz")
    frames = ase.io.read(inp, ":")
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write("units: metal\nseed: 1\nthreads: 1\n"
                "model: {type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}\n"
                "input: in.extxyz\nstages: {relax: {type: fire, fmax: %r, max_steps: 1000}}\n"
                "output: {final: final.extxyz, failed: failed.extxyz}\n" % (EPS, SIG, RC, FMAX))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = ["/usr/bin/time", "-v", args.batchmd, "run", "c.yaml"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True)
    t_bmd = time.perf_counter() - t0
    if r.returncode:
        sys.exit("batchmd failed: " + r.stderr[-3000:])
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    rss = int(m.group(1)) / 1024.0 if m else float("nan")
    m = re.search(r"throughput ([-+0-9.eE]+) atom-steps/s", r.stderr)  # batchmd's own summary
    rate_as = float(m.group(1)) if m else float("nan")
    m = re.search(r"batch: peak (\d+) atoms", r.stderr)
    peak_atoms = int(m.group(1)) if m else 0
    out = ase.io.read(os.path.join(d, "final.extxyz"), ":")
    steps = {int(a.info["system_id"]): int(a.info["steps_relax"]) for a in out}
    total_steps = sum(steps.values())

    K = min(args.ase, len(frames))
    t0 = time.perf_counter()
    same = 0
    for k in range(K):
        a = frames[k].copy()
        a.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
        opt = FIRE(a, logfile=None)
        opt.run(fmax=FMAX, steps=1000)
        same += steps.get(k) == opt.nsteps
    t_ase = time.perf_counter() - t0

case = "FIRE LJ %d structures (%d atoms)" % (len(frames), n_atoms)
s_bmd, s_ase = len(frames) / t_bmd, K / t_ase
if args.csv:
    print("%s,batchmd T=1,%.4f,%.5g,%.1f,%d/%d,%.5g,%d" % (case, t_bmd, s_bmd, rss, same, K, rate_as, peak_atoms))
    print("%s,ASE FIRE (%d structures),%.4f,%.5g,,%d/%d,," % (case, K, t_ase, s_ase, same, K))
else:
    print(case)
    print("  batchmd: %.2f s, %.1f structures/s, %d FIRE steps in all, peak %.1f MiB" % (t_bmd, s_bmd, total_steps, rss))
    print("  ASE:     %.2f s for %d, %.2f structures/s" % (t_ase, K, s_ase))
    print("  ratio %.1fx; identical step counts on %d/%d shared structures" % (s_bmd / s_ase, same, K))
