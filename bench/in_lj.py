#!/usr/bin/python3
"""LAMMPS's bench/in.lj in batchmd and in LAMMPS, in the same run.

32,000 LJ atoms (fcc, reduced density 0.8442), cutoff 2.5σ, skin 0.3σ,
NVE with dt 0.005τ, velocities at T* = 3.0, in LJ units — LAMMPS's own
benchmark input (neighbor list rebuilt every step it needs: `neigh_modify
delay 0 every 20 check no` in LAMMPS's file; here LAMMPS uses its default
check-based rebuild like batchmd). Both are timed as whole processes;
LAMMPS's own Loop time is printed too. Prints timesteps/s of each and the
ratio batchmd / LAMMPS (serial, 1 thread).

usage: bench/in_lj.py [--steps N] [--batchmd PATH]"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=500)
ap.add_argument("--batchmd", default=os.path.join(os.path.dirname(__file__), "..", "build", "batchmd"))
ap.add_argument("--cells", type=int, default=20)  # 20^3 fcc cells = 32,000 atoms
args = ap.parse_args()

rho, nc = 0.8442, args.cells
a = (4.0 / rho) ** (1.0 / 3.0)
base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
grid = np.array([[i, j, k] for i in range(nc) for j in range(nc) for k in range(nc)], dtype=float)
pos = ((grid[:, None, :] + base[None, :, :]).reshape(-1, 3)) * a
n, L = len(pos), nc * a

with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "in.extxyz"), "w") as f:
        f.write("%d\nLattice=\"%r 0 0 0 %r 0 0 0 %r\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n" % (n, L, L, L))
        for p in pos:
            f.write("Ar %r %r %r\n" % tuple(p))
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write("units: lj\nseed: 87287\nthreads: 1\n"
                "model: {type: lj, epsilon: 1.0, sigma: 1.0, cutoff: 2.5, skin: 0.3}\n"
                "input: in.extxyz\n"
                "stages: {md: {type: nve, dt: 0.005, steps: %d, init_temperature: 3.0}}\n"
                "output: {final: out.extxyz}\n" % args.steps)
    with open(os.path.join(d, "in.lj"), "w") as f:
        f.write("units lj\natom_style atomic\nlattice fcc 0.8442\nregion box block 0 %d 0 %d 0 %d\n"
                "create_box 1 box\ncreate_atoms 1 box\nmass 1 1.0\nvelocity all create 3.0 87287 loop geom\n"
                "pair_style lj/cut 2.5\npair_coeff 1 1 1.0 1.0 2.5\nneighbor 0.3 bin\n"
                "neigh_modify delay 0 every 1 check yes\nfix 1 all nve\nthermo 100\nrun %d\n" % (nc, nc, nc, args.steps))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    r = subprocess.run([args.batchmd, "run", os.path.join(d, "c.yaml")], capture_output=True, text=True, env=env)
    t_bmd = time.perf_counter() - t0
    if r.returncode:
        sys.exit("batchmd failed: " + r.stderr)
    step_time = re.search(r"time: step ([0-9.]+) s", r.stderr)
    t0 = time.perf_counter()
    r2 = subprocess.run(["lmp", "-in", os.path.join(d, "in.lj"), "-log", "none"], capture_output=True, text=True,
                        cwd=d, env=env)
    t_lmp = time.perf_counter() - t0
    if r2.returncode:
        sys.exit("lmp failed: " + r2.stdout[-2000:] + r2.stderr)
    loop = re.search(r"Loop time of ([0-9.eE+-]+) on", r2.stdout)

print("in.lj: %d atoms, %d steps, 1 thread" % (n, args.steps))
print("%-28s %12s %14s" % ("", "timesteps/s", "atom-steps/s"))
rows = [("batchmd (whole process)", args.steps / t_bmd), ("LAMMPS (whole process)", args.steps / t_lmp)]
if step_time:
    rows.append(("batchmd (step loop)", args.steps / float(step_time.group(1))))
if loop:
    rows.append(("LAMMPS (Loop time)", args.steps / float(loop.group(1))))
for name, tps in rows:
    print("%-28s %12.2f %14.4g" % (name, tps, tps * n))
print("ratio batchmd/LAMMPS (whole process): %.3f" % (t_lmp / t_bmd))
if step_time and loop:
    print("ratio batchmd/LAMMPS (step loop vs Loop time): %.3f" % (float(loop.group(1)) / float(step_time.group(1))))
