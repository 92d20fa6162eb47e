#!/usr/bin/python3
"""Size sweeps (issue #7): is the cost per atom-step flat?

  one    one periodic system, 864 to 1,000,188 atoms: in.lj in metal units
         (argon fcc at ρ* = 0.8442, a = 5.7106 Å, 4 C³ atoms for C = 6, 10,
         20, 40, 63; LJ ε 0.0104 eV, σ 3.40 Å, cutoff 8.5 Å, skin 1.0 Å;
         NVE dt 10 fs from 362 K), as bench/in_lj_metal.py
  many   10 to 100,000 systems of 50 atoms in one live batch: argon
         clusters (the 50 fcc sites nearest an off-lattice point, each
         rattled by 0.05 Å with its own seed; same LJ, not periodic), NVE
         dt 5 fs from 20 K

Each point runs `batchmd run` (threads: 1, OMP_NUM_THREADS=1, a whole
process under /usr/bin/time -v) twice, for S and 3 S steps, and reads
batchmd's end-of-run summary. The cost (ns per atom-step) is the step time
(batchmd's neighbor + force + integrate timers) of the longer run minus the
shorter one's over the 2 S steps between them: what one more step costs,
without the fixed costs of a run (the first list build, the first force
evaluation), which a short run of a large system would otherwise spread
over too few steps. (The process's CPU time, differenced the same way,
stands beside it; it also counts reading and writing, whose run-to-run
variance swamps a short window of a big batch: 100,000 clusters are 5 M
atoms read twice.) 2 S x atoms make about --work, S within [--min-steps,
--max-steps] and at least 20, so that the window holds list rebuilds. The spread is each point's cost over the smallest point's;
the whole-run time per atom-step of the longer run (reading and writing
included) stands beside it. Peak memory is the process's peak RSS
(batchmd's own VmHWM), in MiB and in KiB per atom (target: under 1 KiB per
atom for LJ, lists included).

The many-systems input is written once for the largest count and each point
reads a prefix of it (the first N frames).

Columns: cost ns = the step time difference above (wall-clock timers, so
measure on an idle machine), with its split; cpu ns = the process's CPU
time (user + system, /usr/bin/time) differenced the same way; run ns = the
longer run's whole wall time per atom-step; list = steps of a system per
neighbor-list build in the longer run.

usage: bench/sweep.py [--which one,many] [--work N] [--quick] [--batchmd PATH] [--csv]
  --csv prints rows for bench/run-all:
    sweep,case,atoms,systems,steps,cost_ns,cpu_ns,run_ns,peak_MiB,KiB_per_atom,split,list_every"""
import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--which", default="one,many")
ap.add_argument("--work", type=float, default=1e7, help="atom-steps between the two runs of a point")
ap.add_argument("--min-steps", type=int, default=5)
ap.add_argument("--max-steps", type=int, default=2000)
ap.add_argument("--quick", action="store_true", help="small sizes only (a smoke test)")
ap.add_argument("--batchmd", default=os.path.join(HERE, "..", "build", "batchmd"))
ap.add_argument("--csv", action="store_true")
args = ap.parse_args()
args.batchmd = os.path.abspath(args.batchmd)

EPS, SIG = 0.0104, 3.40
KB = 8.617333262e-5
A = SIG * (4.0 / 0.8442) ** (1.0 / 3.0)
BASE = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
NUM = r"([-+0-9.eE]+)"


def steps_for(atoms, least):
    return int(min(args.max_steps, max(least, args.min_steps, round(args.work / (2 * atoms)))))


def summary(err):
    """batchmd's end-of-run summary: atom-steps, wall, the split, peak RSS"""
    s = {}
    m = re.search(r"throughput %s atom-steps/s" % NUM, err)
    t = re.search(r"time %s s:(.*)" % NUM, err)
    r = re.search(r"memory: peak RSS %s MiB" % NUM, err)
    if not (m and t and r):
        sys.exit("bench/sweep.py: no summary in batchmd's output:\n" + err[-3000:])
    s["wall"] = float(t.group(1))
    s["atom_steps"] = float(m.group(1)) * s["wall"]
    for name in ("neighbor", "force", "integrate", "flow", "io"):
        s[name] = float(re.search(r"\b%s %s s" % (name, NUM), t.group(2)).group(1))
    s["rss"] = float(r.group(1))
    lb = re.search(r"neighbor lists: \d+ builds, one per %s steps" % NUM, err)
    s["list_every"] = float(lb.group(1)) if lb else float("nan")
    u = re.search(r"User time \(seconds\): %s" % NUM, err)
    k = re.search(r"System time \(seconds\): %s" % NUM, err)
    s["cpu"] = float(u.group(1)) + float(k.group(1)) if u and k else float("nan")
    return s


def run(d, campaign):
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(campaign)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = ([] if not os.path.exists("/usr/bin/time") else ["/usr/bin/time", "-v"]) + [args.batchmd, "run", "c.yaml"]
    p = subprocess.run(cmd, cwd=d, env=env, capture_output=True, text=True)
    if p.returncode:
        sys.exit("bench/sweep.py: batchmd failed:\n" + p.stderr[-3000:])
    return summary(p.stderr)


def write_fcc(path, nc):
    grid = np.array([[i, j, k] for i in range(nc) for j in range(nc) for k in range(nc)], dtype=float)
    pos = ((grid[:, None, :] + BASE[None, :, :]).reshape(-1, 3)) * A
    L = nc * A
    with open(path, "w") as f:
        f.write("%d\nLattice=\"%r 0 0 0 %r 0 0 0 %r\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n" % (len(pos), L, L, L))
        np.savetxt(f, pos, fmt="Ar %.10f %.10f %.10f")
    return len(pos)


def write_clusters(path, count, nat=50):
    """count clusters of nat atoms; returns the byte offset where each frame ends"""
    g = np.arange(-3, 4)
    sites = (np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T[:, None, :] + BASE[None]).reshape(-1, 3)
    sites = sites * A  # fcc sites, Å
    centre = np.array([0.13, 0.21, 0.07]) * A
    order = np.argsort(np.linalg.norm(sites - centre, axis=1), kind="stable")
    core = sites[order[:nat]] - sites[order[:nat]].mean(axis=0)
    ends = []
    head = "%d\nProperties=species:S:1:pos:R:3 pbc=\"F F F\"\n" % nat
    with open(path, "w") as f:
        for k0 in range(0, count, 1000):
            k1 = min(count, k0 + 1000)
            rng = np.random.default_rng(k0)
            pos = core[None] + rng.normal(0, 0.05, (k1 - k0, nat, 3))
            for k in range(k1 - k0):
                f.write(head)
                f.write("".join("Ar %.6f %.6f %.6f\n" % tuple(p) for p in pos[k]))
                ends.append(f.tell())
    return ends


ONE = """units: metal
seed: 87287
threads: 1
model: {type: lj, epsilon: %(eps)r, sigma: %(sig)r, cutoff: 8.5, skin: 1.0}
input: %(input)s
stages: {md: {type: nve, dt: 10.0, steps: %(steps)d, init_temperature: %(T)r}}
batch: {max_atoms: %(atoms)d}
output: {final: final.extxyz}
"""
MANY = """units: metal
seed: 1
threads: 1
model: {type: lj, epsilon: %(eps)r, sigma: %(sig)r, cutoff: 8.5, skin: 1.0}
input: %(input)s
stages: {md: {type: nve, dt: 5.0, steps: %(steps)d, init_temperature: 20}}
batch: {max_atoms: %(atoms)d, max_systems: %(systems)d}
output: {final: final.extxyz}
"""


def report(kind, name, rows):
    c0 = rows[0]["step_ns"]
    for r in rows:
        r["spread"] = r["step_ns"] / c0 - 1
    if args.csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        for r in rows:
            w.writerow([kind, r["case"], r["atoms"], r["systems"], r["steps"], "%.2f" % r["step_ns"], "%.2f" % r["cpu_ns"],
                        "%.2f" % r["run_ns"], "%.1f" % r["rss"], "%.3f" % (r["rss"] * 1024 / r["atoms"]), r["split"],
                        "%.3g" % r["list_every"]])
        sys.stdout.flush()
        return
    print(name)
    print("  %-30s %8s %10s %7s %8s %7s %7s %7s %8s %6s  %s" % (
        "case", "atoms", "steps", "cost ns", "vs first", "cpu ns", "run ns", "MiB", "KiB/atom", "list",
        "split of cost (neighbor/force/integrate)"))
    for r in rows:
        print("  %-30s %8d %10s %7.1f %+7.1f%% %7.1f %7.1f %7.1f %8.3f %6.3g  %s" % (
            r["case"], r["atoms"], r["steps"], r["step_ns"], 100 * r["spread"], r["cpu_ns"], r["run_ns"], r["rss"],
            r["rss"] * 1024 / r["atoms"], r["list_every"], r["split"]))
    worst = max(abs(r["spread"]) for r in rows)
    print("  largest spread vs the smallest: %.1f%% (target within 20%%)" % (100 * worst))


def row(case, n, n_sys, steps, campaign, **kw):
    """runs S and 3 S steps: the cost of the 2 S steps between"""
    a = run(d, campaign % dict(kw, steps=steps))
    b = run(d, campaign % dict(kw, steps=3 * steps))
    parts = {k: max(b[k] - a[k], 0.0) for k in ("neighbor", "force", "integrate")}
    step, work = sum(parts.values()), b["atom_steps"] - a["atom_steps"]
    return dict(case=case, atoms=n, systems=n_sys, steps="%d-%d" % (steps, 3 * steps),
                cpu_ns=1e9 * (b["cpu"] - a["cpu"]) / work, step_ns=1e9 * step / work,
                run_ns=1e9 * b["wall"] / b["atom_steps"], rss=max(a["rss"], b["rss"]), list_every=b["list_every"],
                split="%.0f/%.0f/%.0f%%" % tuple(100 * parts[k] / step for k in ("neighbor", "force", "integrate")))


which = args.which.split(",")
with tempfile.TemporaryDirectory() as d:
    if "one" in which:
        rows = []
        for nc in ((6, 10) if args.quick else (6, 10, 20, 40, 63)):
            inp = os.path.join(d, "fcc.extxyz")
            n = write_fcc(inp, nc)
            rows.append(row("in.lj metal %d atoms" % n, n, 1, steps_for(n, 20), ONE, eps=EPS, sig=SIG, input=inp,
                            T=3.0 * EPS / KB, atoms=n))
        report("one", "one system (in.lj metal, NVE, 1 thread)", rows)
    if "many" in which:
        counts = (10, 100) if args.quick else (10, 100, 1000, 10000, 100000)
        big = os.path.join(d, "clusters.extxyz")
        ends = write_clusters(big, counts[-1])
        rows = []
        for count in counts:
            inp = os.path.join(d, "clusters_%d.extxyz" % count)
            with open(big, "rb") as src, open(inp, "wb") as dst:
                dst.write(src.read(ends[count - 1]))
            n = 50 * count
            rows.append(row("%d clusters of 50 atoms" % count, n, count, steps_for(n, 20), MANY, eps=EPS, sig=SIG,
                            input=inp, atoms=n, systems=count))
            os.unlink(inp)
        report("many", "many systems (50-atom argon clusters, NVE, one batch, 1 thread)", rows)
