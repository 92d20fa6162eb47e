#!/usr/bin/python3
"""What driving batchmd from Python costs.

1. The LJ quickstart (examples/quickstart: 24 argon clusters, FIRE to
   0.01 eV/Å then 2000 Langevin steps, fused) run by the command
   (`batchmd run`, the wall time of the whole process) and from
   Python (`(relax + anneal).run(...)` with the campaign's parameters, the
   wall time of the call, in a fresh interpreter each time, batchmd already
   imported), two ways:
     files   the dataset is the extxyz path and the outputs are the
             campaign's (ExtXYZ final and failed, the CSV log): the same
             work as the command;
     atoms   a list of ase.Atoms in (read by ASE before the clock starts)
             and Result.final / .failed as ase.Atoms out (the log still
             written): the conversions both ways are inside the timed call.
   Overhead = Python / command - 1; target under 3 %. Both on 1 OpenMP
   thread; each run --repeat times, interleaved, the fastest counts (the
   median is printed beside it, and the CPU time of each: the Python call's
   process time, the command's whole process), the run loop's own time
   (the summary's "in X s", stats["seconds"]) too.

2. The bridge (bmd.models.PythonModel): time per step spent outside the
   model's own code, against the model's own time (perf_counter around the
   body of its compute, summed over the run). Outside = the run loop's
   wall time (Result.stats["seconds"]) minus the model's, per loop step:
   batchmd's integrator, its neighbor edges (built in C, for models that
   ask for them), the flow, and the bridge itself (the call into Python,
   the batch view, checking and copying the outputs back). Copper-like
   clusters of 10 to 100 atoms (examples/python/torch_potential.py's),
   Langevin dynamics at 300 K (5 fs, 200 steps; every system lives the
   whole run), in batches of about 500, 2,000 and 8,000 atoms, with
     empty        neighbors None, energies and forces zero (returned as
                  preallocated arrays): all that is left is the overhead;
     empty+edges  the same with a half neighbor list (4.2 Å) asked for and
                  not used: the edges' cost (strict: exactly r < cutoff);
     empty+verlet the same with strict=False (the Verlet list's pairs);
     torch LJ     a Lennard-Jones pair potential written in torch over the
                  half list (ε 0.415 eV, σ 2.277 Å, 4.2 Å, shifted), forces
                  by autograd: a cheap model per atom;
     torch BP     the example's Behler-Parrinello network, fitted as there
                  (a few seconds, not timed).
   Outside is split into the neighbor edges (stats t_neighbor), the
   integrator (t_integrate) and the rest, the bridge and the flow. Target:
   under 5 % of the model's time for models taking 1 ms per step or more;
   both the whole outside and the bridge-and-flow part are printed.

--csv prints the rows bench/run-all gathers:
    python_overhead,VARIANT,python_s,command_s,overhead_pct,python_median_s,command_median_s,
        python_loop_s,command_loop_s,python_cpu_s,command_cpu_s
    bridge,MODEL,atoms,model_ms_per_step,outside_ms_per_step,outside_pct,neighbor_ms,integrate_ms,
        bridge_ms,bridge_pct,steps
(one line each)

usage: bench/python_overhead.py [--build DIR] [--repeat N] [--csv]"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
ap.add_argument("--repeat", type=int, default=5)
ap.add_argument("--csv", action="store_true")
ap.add_argument("--child", help=argparse.SUPPRESS)  # files|atoms: one timed Python run in this process
args = ap.parse_args()
BUILD = os.path.abspath(args.build)
PY = "/usr/bin/python3"
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.path.join(BUILD, "python"))


def python_quickstart(variant):
    """One Python run of the quickstart in the current folder (a copy of
    examples/quickstart); prints {"wall": s, "loop": s} as JSON."""
    sys.path.insert(0, os.path.join(BUILD, "python"))
    import batchmd as bmd
    from ase.io import read

    model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
    relax = bmd.FIRE(model, name="relax", fmax=0.01, max_steps=2000)
    anneal = bmd.NVTLangevin(model, name="anneal", dt=5.0, temperature=30, friction=0.01, steps=2000,
                             init_temperature=30)
    stage = relax + anneal
    os.makedirs("results", exist_ok=True)
    if variant == "files":
        t0, c0 = time.perf_counter(), time.process_time()
        res = stage.run("structures.extxyz", seed=7, max_atoms=2000, refill_every=5,
                        final=bmd.ExtXYZ("results/final.extxyz"), failed=bmd.ExtXYZ("results/failed.extxyz"),
                        log="results/log.csv", log_every=10)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = res.stats["done"]
    else:
        structures = read("structures.extxyz", index=":")
        t0, c0 = time.perf_counter(), time.process_time()
        res = stage.run(structures, seed=7, max_atoms=2000, refill_every=5, log="results/log.csv", log_every=10)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        n = len(res.final)
    assert n == 24 and res.stats["failed"] == 0, res.stats
    print(json.dumps({"wall": wall, "cpu": cpu, "loop": res.stats["seconds"]}))


def quickstart():
    src = os.path.join(HERE, "..", "examples", "quickstart")
    times = {"command": [], "files": [], "atoms": []}
    loops = {"command": [], "files": [], "atoms": []}
    cpus = {"command": [], "files": [], "atoms": []}
    with tempfile.TemporaryDirectory() as d:
        work = os.path.join(d, "qs")
        shutil.copytree(src, work, ignore=shutil.ignore_patterns("results"))
        for _ in range(args.repeat):
            t0, ru = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            r = subprocess.run([os.path.join(BUILD, "batchmd"), "run", "campaign.yaml"], cwd=work, env=ENV,
                               capture_output=True, text=True)
            times["command"].append(time.perf_counter() - t0)
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus["command"].append(ru1.ru_utime + ru1.ru_stime - ru.ru_utime - ru.ru_stime)
            if r.returncode:
                sys.exit("batchmd run failed: " + r.stderr[-2000:])
            # the command's own figure for the same loop: "24 structures in X s"
            loops["command"].append(float(r.stderr.split(" structures in ")[1].split(" s")[0]))
            for v in ("files", "atoms"):
                r = subprocess.run([PY, os.path.abspath(__file__), "--build", BUILD, "--child", v], cwd=work,
                                   env=ENV, capture_output=True, text=True)
                if r.returncode:
                    sys.exit("python run (%s) failed: %s" % (v, r.stderr[-2000:]))
                out = json.loads(r.stdout)
                times[v].append(out["wall"])
                cpus[v].append(out["cpu"])
                loops[v].append(out["loop"])
    rows = []
    cmd = min(times["command"])
    for v in ("files", "atoms"):
        py = min(times[v])
        rows.append((v, py, cmd, 100 * (py / cmd - 1), statistics.median(times[v]),
                     statistics.median(times["command"]), min(loops[v]), min(loops["command"]), min(cpus[v]),
                     min(cpus["command"])))
    return rows


def bridge_models():
    import numpy as np
    import torch
    import batchmd as bmd

    class Empty(bmd.models.PythonModel):
        """Zero energies and forces: the bridge with (almost) no model."""

        def __init__(self, neighbors, strict=True):
            self.neighbors, self.cutoff, self.seconds = neighbors, 4.2 if neighbors else 0.0, 0.0
            self.strict = strict
            self.energy, self.forces = np.zeros(0), np.zeros((0, 3))

        def compute(self, batch):
            t0 = time.perf_counter()
            if len(self.energy) != batch.n_systems or len(self.forces) != batch.n_atoms:
                self.energy, self.forces = np.zeros(batch.n_systems), np.zeros((batch.n_atoms, 3))
            out = {"energy": self.energy, "forces": self.forces}
            self.seconds += time.perf_counter() - t0
            return out

    class TorchLJ(bmd.models.PythonModel):
        """4ε[(σ/r)^12 - (σ/r)^6], shifted to 0 at the cutoff, over the half
        list; forces by autograd."""
        neighbors, cutoff = "half", 4.2

        def __init__(self, epsilon=0.415, sigma=2.277):
            self.epsilon, self.sigma, self.seconds = epsilon, sigma, 0.0
            sr6 = (sigma / self.cutoff) ** 6
            self.shift = 4 * epsilon * (sr6 * sr6 - sr6)

        def compute(self, batch):
            t0 = time.perf_counter()
            pos = torch.from_numpy(batch.positions).requires_grad_(batch.compute_forces)
            i, j = torch.from_numpy(batch.edge_index)
            rij = pos[j] - pos[i]
            shifts = batch.cell_shifts
            cross = np.flatnonzero(shifts.any(axis=1))
            if cross.size:  # periodic images: + S @ cell (constant)
                sv = np.zeros((len(shifts), 3))
                sv[cross] = np.einsum("ek,ekl->el", shifts[cross].astype(float),
                                      batch.cells[batch.system_index[batch.edge_index[0][cross]]])
                rij = rij + torch.from_numpy(sv)
            sr6 = (self.sigma ** 2 / (rij * rij).sum(1)) ** 3
            pair = 4 * self.epsilon * (sr6 * sr6 - sr6) - self.shift
            sys_index = torch.from_numpy(batch.system_index).long()
            energy = torch.zeros(batch.n_systems).index_add_(0, sys_index[i], pair)
            out = {"energy": energy.detach()}
            if batch.compute_forces:
                out["forces"] = -torch.autograd.grad(energy.sum(), pos)[0]
            self.seconds += time.perf_counter() - t0
            return out

    class Timed(bmd.models.PythonModel):
        """A model with its compute timed (the example's TorchPotential)."""

        def __init__(self, inner):
            self.inner, self.seconds = inner, 0.0
            self.neighbors, self.cutoff, self.species = inner.neighbors, inner.cutoff, inner.species

        def compute(self, batch):
            t0 = time.perf_counter()
            out = self.inner.compute(batch)
            self.seconds += time.perf_counter() - t0
            return out

    return Empty, TorchLJ, Timed


def bridge():
    sys.path.insert(0, os.path.join(BUILD, "python"))
    sys.path.insert(0, os.path.join(HERE, "..", "examples", "python"))
    import warnings
    import numpy as np
    import torch
    import batchmd as bmd
    import torch_potential as tp

    warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    Empty, TorchLJ, Timed = bridge_models()
    # the example's Behler-Parrinello network, fitted as there
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    net = tp.BehlerParrinello()
    tp.fit(net, tp.lj_data(rng, bmd.models.LennardJones(cutoff=tp.CUTOFF, shift=True, **tp.LJ)))
    rng = np.random.default_rng(5)
    pool = []
    for _ in range(400):
        a = tp.fcc_cluster(rng, int(rng.integers(10, 101)))
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        pool.append(a)
    rows = []
    for target in (500, 2000, 8000):
        frames, n = [], 0
        for a in pool:
            if n >= target:
                break
            frames.append(a)
            n += len(a)
        for name, make in (("empty", lambda: Empty(None)), ("empty+edges", lambda: Empty("half")),
                           ("empty+verlet", lambda: Empty("half", strict=False)), ("torch LJ", TorchLJ),
                           ("torch BP", lambda: Timed(tp.TorchPotential(net)))):
            best = None
            for _ in range(args.repeat):
                model = make()
                md = bmd.NVTLangevin(model, dt=5.0, temperature=300, friction=0.02, steps=200, init_temperature=300)
                res = md.run(frames, seed=1, max_atoms=n, max_systems=len(frames))
                st = res.stats
                assert st["done"] == len(frames) and st["peak_atoms"] == n, st
                steps = st["loop_steps"]
                row = (name, n, 1e3 * model.seconds / steps, 1e3 * (st["seconds"] - model.seconds) / steps,
                       1e3 * st["t_neighbor"] / steps, 1e3 * st["t_integrate"] / steps, steps)
                if best is None or row[3] < best[3]:
                    best = row
            rows.append(best)
    return rows


def main():
    if args.child == "bridge":
        for r in bridge():
            print(json.dumps(r))
        return
    if args.child:
        return python_quickstart(args.child)
    rows = quickstart()
    for v, py, cmd, pct, pymed, cmdmed, pyloop, cmdloop, pycpu, cmdcpu in rows:
        if args.csv:
            print("python_overhead,%s,%.4f,%.4f,%.2f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f" % (v, py, cmd, pct, pymed, cmdmed,
                                                                                      pyloop, cmdloop, pycpu, cmdcpu))
        else:
            print("quickstart from Python (%s): %.3f s (median %.3f) vs batchmd run %.3f s (median %.3f): "
                  "overhead %+.1f %% (target < 3 %%); run loop %.3f s vs %.3f s; CPU %.3f s vs %.3f s (%+.1f %%)"
                  % (v, py, pymed, cmd, cmdmed, pct, pyloop, cmdloop, pycpu, cmdcpu, 100 * (pycpu / cmdcpu - 1)))
    # the bridge, in a process of its own (1 thread for OpenMP and torch)
    r = subprocess.run([PY, os.path.abspath(__file__), "--build", BUILD, "--repeat", str(args.repeat), "--child",
                        "bridge"], env=ENV, capture_output=True, text=True)
    if r.returncode:
        sys.exit("bridge benchmark failed: " + r.stderr[-3000:])
    for line in r.stdout.splitlines():
        name, atoms, model_ms, outside_ms, nb_ms, int_ms, steps = json.loads(line)
        bridge_ms = outside_ms - nb_ms - int_ms  # the call, the view, checks and copies, the flow
        has_model = model_ms >= 0.05
        pct = 100 * outside_ms / model_ms if has_model else float("nan")
        bpct = 100 * bridge_ms / model_ms if has_model else float("nan")
        if args.csv:
            print("bridge,%s,%d,%.5f,%.5f,%.2f,%.5f,%.5f,%.5f,%.2f,%d" % (name, atoms, model_ms, outside_ms, pct, nb_ms,
                                                                        int_ms, bridge_ms, bpct, steps))
        else:
            print("bridge %-12s %5d atoms: model %7.3f ms/step; outside it %6.3f ms/step%s = neighbor edges %.3f + "
                  "integrate %.3f + bridge and flow %.3f%s"
                  % (name, atoms, model_ms, outside_ms, " (%.1f %%)" % pct if has_model else "", nb_ms, int_ms,
                     bridge_ms, " (%.1f %% of the model's time)" % bpct if has_model else ""))


if __name__ == "__main__":
    main()
