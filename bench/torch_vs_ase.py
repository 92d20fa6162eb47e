#!/usr/bin/python3
"""A torch potential relaxing 1,000 small structures: batchmd batched and
inflight against ASE one structure at a time, with the same model.

The model is examples/python/torch_potential.py's Behler–Parrinello
network (8 radial functions, 4.2 Å, 8-16-16-1, float64, forces by
autograd), fitted there to a Lennard-Jones reference (a few seconds, not
timed). The structures: 1,000 copper-like clusters of 10 to 100 atoms cut
from fcc and fcc crystals with a vacancy (31 to 71 atoms), rattled by
0.1 Å. Both relax with FIRE (ASE's defaults, fmax 0.05 eV/Å, at most 1000
steps):

  batchmd  (bmd.FIRE(TorchPotential(net))).run(sampler=SizeAwareSampler(
           structures, max_atoms=...)): one model call per step for the
           whole live batch; batchmd builds the half neighbor lists in C;
  ASE      ase.optimize.FIRE on each structure in turn, the same network
           wrapped as an ASE calculator (ase.neighborlist.neighbor_list
           'ijS' each call, then the same energy_and_forces), the first
           --ase K structures.

The time of each is the wall time of the relaxations in this process
(torch and OpenMP on 1 thread, the structures in memory); structures/s of
each, the ratio (target >= 20 on CPU; the ratio of CPU times beside it,
steadier on a shared machine), and a check that the K shared
structures took identical FIRE step counts (asserted). --csv prints

    case,program,wall_s,structures_per_s,steps_identical,atom_steps_per_s,peak_atoms,cpu_s

usage: bench/torch_vs_ase.py [--n N] [--ase K] [--max-atoms A] [--build DIR] [--csv]"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=1000)
ap.add_argument("--ase", type=int, default=25)
ap.add_argument("--max-atoms", type=int, default=8000)
ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
ap.add_argument("--csv", action="store_true")
args = ap.parse_args()
os.environ["OMP_NUM_THREADS"] = "1"  # before OpenMP starts (batchmd's and torch's)
sys.path.insert(0, os.path.join(os.path.abspath(args.build), "python"))
sys.path.insert(0, os.path.join(HERE, "..", "examples", "python"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from ase.build import bulk  # noqa: E402
from ase.calculators.calculator import Calculator, all_changes  # noqa: E402
from ase.optimize import FIRE  # noqa: E402

import batchmd as bmd  # noqa: E402
import torch_potential as tp  # noqa: E402

FMAX, MAX_STEPS = 0.05, 1000


class TorchCalculator(Calculator):
    """The network as an ASE calculator, one structure per call."""

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, net):
        super().__init__()
        self.net = net

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        a = self.atoms
        edges, shifts = tp.half_list(a, self.net.cutoff)  # ASE's neighbor_list, each pair once
        energy, forces = tp.energy_and_forces(self.net, np.ascontiguousarray(a.positions, dtype=np.float64), edges,
                                              shifts, a.cell.array[None].copy(),
                                              np.zeros(len(a), dtype=np.int32), 1)
        self.results["energy"] = self.results["free_energy"] = float(energy[0])
        self.results["forces"] = forces.numpy()


def structures(rng, n):
    out = []
    for k in range(n):
        if k % 5 == 4:
            a = bulk("Cu", "fcc", a=tp.A_CU, cubic=True).repeat((2, 2, 1 + k % 2))
            del a[int(rng.integers(len(a)))]
        else:
            a = tp.fcc_cluster(rng, int(rng.integers(10, 101)))
        a.positions += rng.normal(0, 0.1, a.positions.shape)
        out.append(a)
    return out


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    net = tp.BehlerParrinello()
    reference = bmd.models.LennardJones(cutoff=tp.CUTOFF, shift=True, **tp.LJ)
    tp.fit(net, tp.lj_data(rng, reference))
    frames = structures(np.random.default_rng(3), args.n)
    n_atoms = sum(len(a) for a in frames)

    model = tp.TorchPotential(net)
    relax = bmd.FIRE(model, name="relax", fmax=FMAX, max_steps=MAX_STEPS)
    t0, c0 = time.perf_counter(), time.process_time()
    res = relax.run(sampler=bmd.SizeAwareSampler(frames, max_atoms=args.max_atoms, max_systems=args.n), seed=1)
    t_bmd, c_bmd = time.perf_counter() - t0, time.process_time() - c0
    assert not res.failed and len(res.final) == len(frames), res.stats
    steps = {a.info["system_id"]: a.info["steps_relax"] for a in res.final}
    rate_as = res.stats["atom_steps"] / res.stats["seconds"]

    K = min(args.ase, len(frames))
    same, mismatch = 0, []
    t0, c0 = time.perf_counter(), time.process_time()
    for k in range(K):
        a = frames[k].copy()
        a.calc = TorchCalculator(net)
        opt = FIRE(a, logfile=None)
        opt.run(fmax=FMAX, steps=MAX_STEPS)
        if steps[k] == opt.nsteps:
            same += 1
        else:
            mismatch.append((k, steps[k], opt.nsteps))
    t_ase, c_ase = time.perf_counter() - t0, time.process_time() - c0

    case = "torch BP FIRE %d structures (%d atoms)" % (len(frames), n_atoms)
    s_bmd, s_ase = len(frames) / t_bmd, K / t_ase
    # CPU time beside the wall time: both sides run on one thread, so on a
    # machine shared with other work the CPU-time ratio is the steadier one
    cpu_ratio = (len(frames) / c_bmd) / (K / c_ase)
    if args.csv:
        print("%s,batchmd T=1,%.4f,%.5g,%d/%d,%.5g,%d,%.4f" % (case, t_bmd, s_bmd, same, K, rate_as,
                                                                res.stats["peak_atoms"], c_bmd))
        print("%s,ASE FIRE + torch calculator (%d structures),%.4f,%.5g,%d/%d,,,%.4f" % (case, K, t_ase, s_ase, same,
                                                                                     K, c_ase))
    else:
        print(case)
        print("  batchmd: %.2f s (CPU %.2f s), %.1f structures/s, %d FIRE steps in all, %.3g atom-steps/s, peak "
              "batch %d atoms" % (t_bmd, c_bmd, s_bmd, sum(steps.values()), rate_as, res.stats["peak_atoms"]))
        print("  ASE:     %.2f s (CPU %.2f s) for %d, %.2f structures/s" % (t_ase, c_ase, K, s_ase))
        print("  ratio %.1fx (CPU time: %.1fx; target >= 20); identical FIRE step counts on %d/%d shared structures"
              % (s_bmd / s_ase, cpu_ratio, same, K))
    if mismatch:
        sys.exit("FIRE step counts differ (structure, batchmd, ASE): %s" % mismatch)


if __name__ == "__main__":
    main()
