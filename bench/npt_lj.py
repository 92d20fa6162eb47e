#!/usr/bin/python3
"""NPT of LAMMPS's bench/in.lj liquid in batchmd (npt_mtk) and in LAMMPS (fix
npt), side by side: time per step, the ratio, and neighbor-list builds.

32,000 LJ atoms (fcc, reduced density 0.8442), cutoff 2.5σ, skin 0.3σ,
velocities at T* = 3.0 on entry (each code draws its own), dt 0.005τ, the
Martyna–Tobias–Klein barostat with Nosé–Hoover chains at in.lj's own state
point (T* 1.6, P* 5.5: the density stays near 0.8442), tdamp 0.5τ (100 dt)
and pdamp 5τ (1000 dt), LAMMPS's recommended couplings, couple iso (or
--couple aniso|tri; tri gives LAMMPS a triclinic box with zero tilts).
Both codes rebuild their lists only when they must: LAMMPS with
`neigh_modify every 1 delay 0 check yes` (its check accounts for the box's
change), batchmd by its own rule (the skin test that accounts for the cell's
strain since the last build: a barostat's small steps keep the lists). Serial, one thread each.
Prints wall time per step of each (whole process and inner loop), the
ratio batchmd/LAMMPS, the final densities, and how many list builds each
made ("Neighbor list builds" in LAMMPS's log, the "neighbor lists: N
builds" line of batchmd's summary).

--csv prints one line for `make bench` (bench/table.py): case, ms per step
of batchmd and of LAMMPS (whole processes), list builds of each, densities.

usage: bench/npt_lj.py [--steps N] [--cells C] [--couple iso|aniso|tri] [--batchmd PATH] [--csv]"""
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
ap.add_argument("--cells", type=int, default=20)  # 20^3 fcc cells = 32,000 atoms
ap.add_argument("--couple", default="iso", choices=("iso", "aniso", "tri"))
ap.add_argument("--batchmd", default=os.path.join(os.path.dirname(__file__), "..", "build", "batchmd"))
ap.add_argument("--csv", action="store_true", help="one line for bench/table.py instead of the table")
args = ap.parse_args()

T, P, TDAMP, PDAMP, DT = 1.6, 5.5, 0.5, 5.0, 0.005
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
                "stages: {md: {type: npt_mtk, dt: %g, temperature: %g, pressure: %g, tdamp: %g, pdamp: %g, "
                "couple: %s, steps: %d, init_temperature: 3.0}}\n"
                "output: {final: out.extxyz}\n" % (DT, T, P, TDAMP, PDAMP, args.couple, args.steps))
    with open(os.path.join(d, "in.lj"), "w") as f:
        f.write("units lj\natom_style atomic\nlattice fcc 0.8442\nregion box %s 0 %d 0 %d 0 %d%s\n"
                "create_box 1 box\ncreate_atoms 1 box\nmass 1 1.0\nvelocity all create 3.0 87287 loop geom\n"
                "pair_style lj/cut 2.5\npair_coeff 1 1 1.0 1.0 2.5\nneighbor 0.3 bin\n"
                "neigh_modify delay 0 every 1 check yes\ntimestep %g\n"
                "fix 1 all npt temp %g %g %g %s %g %g %g\nthermo %d\nrun %d\n"
                "print \"final density $(atoms/vol:%%.6f)\"\n"
                % ("prism" if args.couple == "tri" else "block", nc, nc, nc, " 0 0 0" if args.couple == "tri" else "",
                   DT, T, T, TDAMP, args.couple, P, P, PDAMP, args.steps, args.steps))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    r = subprocess.run([args.batchmd, "run", os.path.join(d, "c.yaml")], capture_output=True, text=True, env=env,
                       cwd=d)
    t_bmd = time.perf_counter() - t0
    if r.returncode:
        sys.exit("batchmd failed: " + r.stderr)
    t0 = time.perf_counter()
    r2 = subprocess.run(["lmp", "-in", "in.lj", "-log", "log.lammps"], capture_output=True, text=True, cwd=d, env=env)
    t_lmp = time.perf_counter() - t0
    if r2.returncode:
        sys.exit("lmp failed: " + r2.stdout[-2000:] + r2.stderr)
    with open(os.path.join(d, "out.extxyz")) as f:
        f.readline()
        lat = [float(x) for x in re.search(r'Lattice="([^"]*)"', f.readline()).group(1).split()]
    rho_bmd = n / abs(np.linalg.det(np.array(lat).reshape(3, 3)))

builds_bmd = re.search(r"neighbor lists: (\d+) builds", r.stderr)
loop_bmd = re.search(r"time ([0-9.eE+-]+) s:", r.stderr)
builds_lmp = re.search(r"Neighbor list builds = (\d+)", r2.stdout)
loop_lmp = re.search(r"Loop time of ([0-9.eE+-]+) on", r2.stdout)
rho_lmp = re.search(r"final density ([0-9.]+)", r2.stdout)

if args.csv:
    print("NPT in.lj %d atoms couple %s (%d steps),%.5g,%.5g,%s,%s,%.5f,%s,%.6g" % (
        n, args.couple, args.steps, 1e3 * t_bmd / args.steps, 1e3 * t_lmp / args.steps,
        builds_bmd.group(1) if builds_bmd else "", builds_lmp.group(1) if builds_lmp else "", rho_bmd,
        rho_lmp.group(1) if rho_lmp else "", n * args.steps / t_bmd))
    sys.exit(0)
print("NPT (MTK, couple %s) of in.lj: %d atoms, %d steps, T* %g P* %g, 1 thread" % (args.couple, n, args.steps, T, P))
print("%-34s %12s %12s" % ("", "batchmd", "LAMMPS"))
print("%-34s %12.4f %12.4f" % ("ms per step (whole process)", 1e3 * t_bmd / args.steps, 1e3 * t_lmp / args.steps))
if loop_bmd and loop_lmp:
    print("%-34s %12.4f %12.4f" % ("ms per step (run time, Loop time)", 1e3 * float(loop_bmd.group(1)) / args.steps,
                                   1e3 * float(loop_lmp.group(1)) / args.steps))
if builds_bmd and builds_lmp:
    print("%-34s %12s %12s" % ("neighbor list builds", builds_bmd.group(1), builds_lmp.group(1)))
    print("%-34s %12.2f %12.2f" % ("steps per build", args.steps / max(1, int(builds_bmd.group(1))),
                                   args.steps / max(1, int(builds_lmp.group(1)))))
print("%-34s %12.5f %12s" % ("final density", rho_bmd, rho_lmp.group(1) if rho_lmp else "?"))
print("ratio batchmd/LAMMPS time per step (whole process): %.3f" % (t_bmd / t_lmp))
if loop_bmd and loop_lmp:
    print("ratio batchmd/LAMMPS time per step (loops): %.3f" % (float(loop_bmd.group(1)) / float(loop_lmp.group(1))))
