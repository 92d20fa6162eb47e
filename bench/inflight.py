#!/usr/bin/python3
"""Inflight batching: 10,000 small systems (10 to 50 atoms: perturbed
copper-like LJ clusters and small periodic fcc crystals with vacancies)
through `relax + md` (FIRE to fmax 0.05 eV/Å, at most 200 steps, then 100
Langevin steps), with a roomy and a tight batch budget.

Prints, per budget, the throughput in atom-steps/s (live atoms summed over
batch steps, divided by the whole run's wall time) and the time spent in
refill and compaction (the sampler, appending, removing: run stats t_flow)
as a share of the step time (t_step). Target: under 5 %.

Uses the driver tests/tools/inflight_run from the build (full-precision
statistics); without it, runs `batchmd run` and parses its summary.

usage: bench/inflight.py [--systems N] [--build DIR] [--threads T]"""
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

ap = argparse.ArgumentParser()
ap.add_argument("--systems", type=int, default=10000)
ap.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
ap.add_argument("--threads", type=int, default=1)
args = ap.parse_args()

SIG = 2.277
A0 = 2 ** (1 / 6) * SIG * np.sqrt(2)
rng = np.random.default_rng(5)


def cluster(n):
    k = int(np.ceil((n / 4) ** (1 / 3))) + 2
    r = np.arange(-k, k + 1, dtype=float)
    g = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    base = np.array([[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]])
    sites = (g[:, None, :] + base[None]).reshape(-1, 3) * A0 * rng.uniform(1.0, 1.08)
    sites = sites[np.argsort(np.linalg.norm(sites - rng.normal(0, 0.3, 3), axis=1), kind="stable")[:n]]
    return Atoms("Cu%d" % n, positions=sites + rng.normal(0, 0.12, sites.shape), pbc=False)


def crystal():
    unit = bulk("Cu", "fcc", a=A0 * rng.uniform(0.99, 1.03), cubic=bool(rng.random() < 0.5))
    while True:
        rep = rng.integers(1, 4, 3)
        if 10 <= len(unit) * rep.prod() <= 50:
            break
    a = unit.repeat(tuple(int(x) for x in rep))
    if len(a) > 12 and rng.random() < 0.5:
        del a[int(rng.integers(0, len(a)))]
    a.positions += rng.normal(0, 0.05, a.positions.shape)
    return a


frames = [cluster(int(rng.integers(10, 51))) if rng.random() < 0.5 else crystal() for _ in range(args.systems)]
n_atoms = sum(len(a) for a in frames)

CAMPAIGN = """units: metal
seed: 3
threads: %d
model: {type: lj, epsilon: 0.415, sigma: %r, cutoff: 5.7, shift: true}
input: in.extxyz
stages:
  relax: {type: fire, fmax: 0.05, max_steps: 200}
  md: {type: nvt_langevin, dt: 2.0, temperature: 300, friction: 0.02, steps: 100}
pipeline: relax + md
batch: {max_atoms: %d, max_systems: %d, refill_every: %d}
output: {final: final.extxyz, failed: failed.extxyz}
"""
BUDGETS = [("roomy", 50000, 4096, 5), ("tight", 2000, 1024, 1)]
driver = os.path.abspath(os.path.join(args.build, "tests", "tools", "inflight_run"))
batchmd = os.path.abspath(os.path.join(args.build, "batchmd"))
env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="PASSIVE")

print("inflight: %d systems, %d atoms (10-50 each), relax + md, %d thread(s), %s"
      % (len(frames), n_atoms, args.threads, "driver inflight_run" if os.access(driver, os.X_OK) else "batchmd run"))
print("%-6s %9s %9s %8s %12s %14s %9s %9s %10s" % ("budget", "max_atoms", "refill", "wall s", "batch steps",
                                                    "atom-steps/s", "step s", "flow s", "flow/step"))
with tempfile.TemporaryDirectory() as d:
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    for name, max_atoms, max_systems, refill in BUDGETS:
        path = os.path.join(d, name + ".yaml")
        with open(path, "w") as f:
            f.write(CAMPAIGN % (args.threads, SIG, max_atoms, max_systems, refill))
        t0 = time.perf_counter()
        if os.access(driver, os.X_OK):
            r = subprocess.run([driver, path], capture_output=True, text=True, env=env, cwd=d)
            wall = time.perf_counter() - t0
            if r.returncode:
                sys.exit("inflight_run failed: " + r.stderr)
            kv = dict(x.split("=") for x in r.stdout.split())
            steps, rate = int(kv["loop_steps"]), float(kv["atom_steps_per_s"])
            t_step, t_flow = float(kv["t_step"]), float(kv["t_flow"])
        else:
            r = subprocess.run([batchmd, "run", path], capture_output=True, text=True, env=env, cwd=d)
            wall = time.perf_counter() - t0
            if r.returncode:
                sys.exit("batchmd failed: " + r.stderr)
            m = re.search(r"throughput ([0-9.eE+-]+) atom-steps/s over (\d+) batch steps", r.stderr)
            t = re.search(r"time: step ([0-9.]+) s, flow ([0-9.]+) s", r.stderr)
            if not m or not t:
                sys.exit("cannot parse the summary of batchmd run:\n" + r.stderr)
            rate, steps = float(m.group(1)), int(m.group(2))
            t_step, t_flow = float(t.group(1)), float(t.group(2))
        share = t_flow / t_step if t_step > 0 else 0.0
        print("%-6s %9d %9d %8.2f %12d %14.4g %9.3f %9.4f %9.2f%%%s" % (
            name, max_atoms, refill, wall, steps, rate, t_step, t_flow, 100 * share,
            "" if share < 0.05 else "  (over the 5% target)"))
