#!/usr/bin/python3
"""in.lj in metal units: argon (ε 0.0104 eV, σ 3.40 Å, 39.948 amu), fcc at
reduced density 0.8442 (a = 5.7106 Å), 4 C³ atoms (default C = 20: 32,000),
cutoff 8.5 Å, skin 1.0 Å, NVE dt 10 fs (≈ 0.005 τ) from 362 K (T* = 3),
the neighbor list checked every step (LAMMPS: delay 0 every 1 check yes).

Runs batchmd (`batchmd run`, `threads: T`) and LAMMPS (`lmp`, serial and
`-sf opt`, or `mpirun -np R`) as whole processes, same machine, same run,
each REPEAT times (best wall time kept), and prints one CSV line per
program on stdout when --csv is given:
    case,program,wall_s,atom_steps_per_s,peak_rss_MiB,rebuilds

usage: bench/in_lj_metal.py [--steps N] [--cells C] [--threads T] [--ranks R]
                            [--repeat K] [--batchmd PATH] [--csv] [--no-lammps]
                            [--keep DIR]   (keep the campaign files in DIR, to profile)"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=200)
ap.add_argument("--cells", type=int, default=20)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--ranks", type=int, default=1)
ap.add_argument("--repeat", type=int, default=2)
ap.add_argument("--batchmd", default=os.path.join(HERE, "..", "build", "batchmd"))
ap.add_argument("--csv", action="store_true")
ap.add_argument("--no-lammps", action="store_true")
ap.add_argument("--keep", metavar="DIR", help="write the campaign (c.yaml, in.extxyz, in.lj) into DIR and keep it")
args = ap.parse_args()
args.batchmd = os.path.abspath(args.batchmd)

EPS, SIG, MASS = 0.0104, 3.40, 39.948
KB = 8.617333262e-5
A = SIG * (4.0 / 0.8442) ** (1.0 / 3.0)
T0 = 3.0 * EPS / KB
DT = 10.0  # fs
nc = args.cells
base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
grid = np.array([[i, j, k] for i in range(nc) for j in range(nc) for k in range(nc)], dtype=float)
pos = ((grid[:, None, :] + base[None, :, :]).reshape(-1, 3)) * A
n, L = len(pos), nc * A


def run(cmd, cwd, env):
    """whole-process wall time and peak RSS (MiB) of the child and its children"""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    t = time.perf_counter() - t0
    import resource
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    if p.returncode:
        sys.exit("%s failed:\n%s\n%s" % (cmd[0], out[-2000:], err[-2000:]))
    return t, out, err, rss


def peak_rss(cmd, cwd, env):
    """peak RSS of one child (MiB) via /usr/bin/time -v when present"""
    if not os.path.exists("/usr/bin/time"):
        return float("nan")
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, cwd=cwd, env=env, capture_output=True, text=True)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    return int(m.group(1)) / 1024.0 if m else float("nan")


rows = []
with (tempfile.TemporaryDirectory() if not args.keep else open(os.devnull)) as d:
    if args.keep:
        d = os.path.abspath(args.keep)
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "in.extxyz"), "w") as f:
        f.write("%d\nLattice=\"%r 0 0 0 %r 0 0 0 %r\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n" % (n, L, L, L))
        for p in pos:
            f.write("Ar %r %r %r\n" % tuple(p))
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write("units: metal\nseed: 87287\nthreads: %d\n"
                "model: {type: lj, epsilon: %r, sigma: %r, cutoff: 8.5, skin: 1.0}\n"
                "batch: {max_atoms: %d}\n"
                "input: in.extxyz\n"
                "stages: {md: {type: nve, dt: %r, steps: %d, init_temperature: %r}}\n"
                "output: {final: out.extxyz}\n" % (args.threads, EPS, SIG, max(50000, n), DT, args.steps, T0))
    with open(os.path.join(d, "in.lj"), "w") as f:
        f.write("units metal\natom_style atomic\nlattice fcc %r\nregion box block 0 %d 0 %d 0 %d\n"
                "create_box 1 box\ncreate_atoms 1 box\nmass 1 %r\nvelocity all create %r 87287 loop geom\n"
                "pair_style lj/cut 8.5\npair_coeff 1 1 %r %r 8.5\nneighbor 1.0 bin\n"
                "neigh_modify delay 0 every 1 check yes\ntimestep %r\nfix 1 all nve\nthermo 100\nrun %d\n"
                % (A, nc, nc, nc, MASS, T0, EPS, SIG, DT / 1000.0, args.steps))
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    bcmd = [args.batchmd, "run", os.path.join(d, "c.yaml")]
    best, bbuilds = None, None
    for _ in range(args.repeat):
        t, out, err, _ = run(bcmd, d, env)
        best = t if best is None or t < best else best
        # the summary's count includes the first build (LAMMPS's leaves out
        # the one at setup), and batchmd rebuilds when the two largest
        # displacements add up to more than the skin (LAMMPS: any > skin/2)
        m = re.search(r"neighbor lists: (\d+) builds", err)
        bbuilds = m.group(1) if m else None
    rows.append(("batchmd T=%d" % args.threads, best, peak_rss(bcmd, d, env), bbuilds))
    if not args.no_lammps:
        lenv = dict(os.environ, OMP_NUM_THREADS="1")
        variants = []
        if args.ranks > 1:
            variants.append(("LAMMPS mpirun -np %d" % args.ranks,
                             ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(args.ranks)]))
        else:
            variants.append(("LAMMPS serial", []))
        sfx = [("", [])] if args.ranks > 1 else [("", []), (" -sf opt", ["-sf", "opt"])]
        for name, pre in variants:
            for sname, sargs in sfx:
                lcmd = pre + ["lmp", "-in", "in.lj", "-log", "none"] + sargs
                bl, builds = None, None
                for _ in range(args.repeat):
                    t, out, err, _ = run(lcmd, d, lenv)
                    bl = t if bl is None or t < bl else bl
                    m = re.search(r"Neighbor list builds = (\d+)", out)
                    builds = m.group(1) if m else None
                rss = peak_rss(lcmd, d, lenv) if args.ranks == 1 else float("nan")
                rows.append((name + sname, bl, rss, builds))

case = "in.lj metal %d atoms %d steps %s" % (n, args.steps, "T=%d R=%d" % (args.threads, args.ranks))
if args.csv:
    for name, t, rss, builds in rows:
        print("%s,%s,%.4f,%.5g,%.1f,%s" % (case, name, t, n * args.steps / t, rss, builds or ""))
else:
    print(case)
    for name, t, rss, builds in rows:
        print("  %-26s %8.3f s %12.4g atom-steps/s  peak %7.1f MiB  builds %s" %
              (name, t, n * args.steps / t, rss, builds or "-"))
    lbest = min((r[1] for r in rows[1:]), default=None)
    if lbest:
        print("  ratio (best LAMMPS / batchmd time): %.3f" % (lbest / rows[0][1]))
