#!/usr/bin/python3
"""A small machine-learned potential in torch, fitted here to a reference
potential and then run inflight by batchmd over a thousand structures, as
the force field of the live batch (bmd.models.PythonModel: one call per
step for every system).

1. Data: 240 copper-like structures (rattled and strained fcc crystals of
   31-32 atoms, rattled clusters of 10 to 40 atoms cut from fcc) labelled
   with energies and forces of a Lennard-Jones reference (ε 0.415 eV,
   σ 2.277 Å, cut and shifted at 4.2 Å) by bmd.evaluate, batched.
2. The model: Behler–Parrinello style. Each atom i has radial descriptors
   G_ik = Σ_j exp(-η (r_ij - μ_k)²) f_c(r_ij), k = 1..8, f_c(r) =
   ½ (cos(π r / r_c) + 1), r_c = 4.2 Å, over the pairs of a half neighbor
   list; an 8-16-16-1 tanh network maps G_i to the atom's energy; a system's
   energy is the sum over its atoms and the forces are -dE/dx by autograd,
   exactly. float64 throughout.
3. The fit: full-batch Adam on energies per atom and forces, a fixed number
   of steps (a few seconds on one core; torch.manual_seed fixes the start).
4. The run: 1,000 structures (clusters of 10 to 80 atoms cut from fcc and
   fcc crystals of 31-32 atoms, rattled) through `bmd.FIRE(fmax 0.1 eV/Å) +
   bmd.NVTLangevin(300 K, 5 fs, 50 steps)`, inflight under a
   SizeAwareSampler budget of 6,000 atoms. batchmd builds the half neighbor
   lists in C (edge_index, cell_shifts) and hands them with the positions
   as numpy arrays over its own memory; torch.from_numpy takes them without
   a copy.
5. The check: the fitted potential against ASE's own LennardJones (the
   reference, computed independently) on 40 of the final structures.

Run: PYTHONPATH=build/python /usr/bin/python3 examples/python/torch_potential.py
(after `make`). bench/torch_vs_ase.py imports its model."""
import math
import time
import warnings

import numpy as np
import torch
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.neighborlist import neighbor_list

import batchmd as bmd

torch.set_default_dtype(torch.float64)
# batchmd's arrays are read-only views of its own memory: torch.from_numpy
# takes them without a copy and warns that it could write into them (the
# model does not)
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
CUTOFF = 4.2  # Å
A_CU = 3.61   # Å, fcc lattice constant of the structures
LJ = dict(epsilon=0.415, sigma=2.277)  # eV, Å: the reference, copper-like (nearest neighbours at 2.556 Å)


class BehlerParrinello(torch.nn.Module):
    """Atomic energies from radial symmetry functions; energy per system."""

    def __init__(self, n_radial=8, hidden=16, cutoff=CUTOFF):
        super().__init__()
        self.cutoff = cutoff
        self.register_buffer("mu", torch.linspace(2.0, cutoff, n_radial))  # Å
        self.eta = 1.0 / (2.0 * ((cutoff - 2.0) / (n_radial - 1)) ** 2)    # 1/Å², Gaussians one spacing wide
        self.net = torch.nn.Sequential(torch.nn.Linear(n_radial, hidden), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden, 1))

    def forward(self, positions, edge_index, shift_vectors, system_index, n_systems):
        """positions (n, 3) Å; edge_index (2, E) int64, each pair once;
        shift_vectors (E, 3) Å (S @ cell) or None; system_index (n,) int64.
        Returns the (n_systems,) energies, eV."""
        i, j = edge_index
        rij = positions[j] - positions[i]
        if shift_vectors is not None:
            rij = rij + shift_vectors
        r = torch.sqrt((rij * rij).sum(1))
        fc = 0.5 * torch.cos((math.pi / self.cutoff) * r) + 0.5
        g = torch.exp(-self.eta * (r[:, None] - self.mu) ** 2) * fc[:, None]
        # a half list: the pair (i, j) counts for both atoms
        G = positions.new_zeros(positions.shape[0], g.shape[1]).index_add_(0, i, g).index_add_(0, j, g)
        atomic = self.net(G).squeeze(1)
        return positions.new_zeros(n_systems).index_add_(0, system_index, atomic)


def half_list(a, cutoff):
    """ASE's neighbor list of an Atoms as a half list, each pair once as
    batchmd gives it: (i, j, S) with i < j, and an atom's pair with its own
    periodic image (a cell shorter than the cutoff) with the S whose first
    nonzero component is positive. Returns edge_index (2, E), S (E, 3)."""
    i, j, S = neighbor_list("ijS", a, cutoff)
    first = S[np.arange(len(S)), np.argmax(S != 0, axis=1)]  # first nonzero component (0 if none)
    keep = (i < j) | ((i == j) & (first > 0))
    return np.stack([i[keep], j[keep]]).astype(np.int64), S[keep].astype(np.int64)


def shift_vectors(cell_shifts, cells, edge_system):
    """S @ cell of each edge (Å), None when no edge crosses a boundary."""
    cross = np.flatnonzero(cell_shifts.any(axis=1))
    if cross.size == 0:
        return None
    out = np.zeros((len(cell_shifts), 3))
    out[cross] = np.einsum("ek,ekl->el", cell_shifts[cross].astype(np.float64), cells[edge_system[cross]])
    return torch.from_numpy(out)


def energy_and_forces(net, positions, edge_index, cell_shifts, cells, system_index, n_systems, forces=True):
    """The model on numpy arrays (batchmd's or ASE's): energies (s,) eV and
    forces (n, 3) eV/Å = -dE/dx, as torch tensors."""
    pos = torch.from_numpy(positions).requires_grad_(forces)
    sys_index = torch.from_numpy(system_index).long()
    edges = torch.from_numpy(edge_index)
    energy = net(pos, edges, shift_vectors(cell_shifts, cells, system_index[edge_index[0]]), sys_index, n_systems)
    f = -torch.autograd.grad(energy.sum(), pos)[0] if forces else None
    return energy.detach(), f


class TorchPotential(bmd.models.PythonModel):
    """The network as batchmd's force field: batchmd builds half neighbor
    lists within the cutoff (C, skin reuse) and calls compute once per step
    with every system that needs evaluating."""

    neighbors = "half"
    species = ["Cu"]

    def __init__(self, net):
        self.net = net
        self.cutoff = net.cutoff

    def compute(self, batch):
        energy, forces = energy_and_forces(self.net, batch.positions, batch.edge_index, batch.cell_shifts,
                                           batch.cells, batch.system_index, batch.n_systems, batch.compute_forces)
        out = {"energy": energy}
        if forces is not None:
            out["forces"] = forces
        return out


# ---- data, fit, structures ----

def fcc_cluster(rng, n):
    """The n fcc sites nearest to a random point (a compact cluster)."""
    grid = bulk("Cu", "fcc", a=A_CU, cubic=True).repeat((5, 5, 5))
    centre = grid.cell.sum(axis=0) / 2 + rng.uniform(-1, 1, 3)
    near = np.argsort(np.linalg.norm(grid.positions - centre, axis=1))[:n]
    a = grid[near]
    a.cell, a.pbc = np.zeros((3, 3)), False
    a.positions -= a.positions.mean(axis=0)
    return a


def crystal(rng, rattle, strain=0.0):
    a = bulk("Cu", "fcc", a=A_CU * (1 + strain), cubic=True).repeat((2, 2, 2))
    if rng.random() < 0.5:
        del a[int(rng.integers(len(a)))]
    a.positions += rng.normal(0, rattle, a.positions.shape)
    return a


def lj_data(rng, reference):
    """Rattled and strained crystals and rattled clusters, labelled by the
    reference model with bmd.evaluate (batched single points)."""
    todo = []
    for k in range(240):
        if k % 3 == 0:
            a = crystal(rng, rng.uniform(0.02, 0.1), rng.uniform(-0.03, 0.03))
        else:
            a = fcc_cluster(rng, int(rng.integers(10, 41)))
            a.positions += rng.normal(0, rng.uniform(0.02, 0.1), a.positions.shape)
        todo.append(a)
    return [(a, a.get_potential_energy(), a.get_forces()) for a in bmd.evaluate(todo, reference)]


def fit(net, data, epochs=300):
    """Full-batch Adam (cosine learning-rate decay) on the squared errors of
    the energy per atom (eV) and the force components (eV/Å); returns the
    two RMSEs of the last step."""
    pos, edges, shifts, cells, sys_index, e_ref, f_ref, natoms, start = [], [], [], [], [], [], [], [], 0
    for k, (a, e, f) in enumerate(data):
        edge_index, S = half_list(a, net.cutoff)
        edges.append(edge_index + start)
        shifts.append(S)
        pos.append(a.positions)
        cells.append(a.cell.array)
        sys_index.append(np.full(len(a), k))
        e_ref.append(e)
        f_ref.append(f)
        natoms.append(len(a))
        start += len(a)
    pos, edges, shifts = np.concatenate(pos), np.concatenate(edges, axis=1), np.concatenate(shifts)
    cells, sys_index = np.array(cells), np.concatenate(sys_index)
    e_ref, f_ref, natoms = torch.tensor(e_ref), torch.from_numpy(np.concatenate(f_ref)), torch.tensor(natoms)
    sv = shift_vectors(shifts, cells, sys_index[edges[0]])
    pos_t = torch.from_numpy(pos).requires_grad_(True)
    edges_t, sys_t = torch.from_numpy(edges), torch.from_numpy(sys_index)
    with torch.no_grad():  # start from the mean energy per atom
        net.net[-1].bias.fill_(float((e_ref / natoms).mean()))
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    for epoch in range(epochs):
        opt.zero_grad()
        energy = net(pos_t, edges_t, sv, sys_t, len(data))
        forces = -torch.autograd.grad(energy.sum(), pos_t, create_graph=True)[0]
        loss_e = (((energy - e_ref) / natoms) ** 2).mean()
        loss_f = ((forces - f_ref) ** 2).mean()
        (loss_e + loss_f).backward()
        opt.step()
        schedule.step()
    return math.sqrt(loss_e.item()), math.sqrt(loss_f.item())


def structures(rng, n):
    out = []
    for k in range(n):
        if k % 5 == 4:
            a = crystal(rng, 0.1)
            a.info["kind"] = "crystal"
        else:
            a = fcc_cluster(rng, int(rng.integers(10, 81)))
            a.positions += rng.normal(0, 0.1, a.positions.shape)
            a.info["kind"] = "cluster"
        out.append(a)
    return out


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    reference = bmd.models.LennardJones(cutoff=CUTOFF, shift=True, **LJ)
    data = lj_data(rng, reference)
    t1 = time.perf_counter()
    net = BehlerParrinello()
    rmse_e, rmse_f = fit(net, data)
    t2 = time.perf_counter()
    print("data: %d structures, %d atoms (%.1f s); fit: RMSE %.1f meV/atom, %.3f eV/Å (%.1f s)"
          % (len(data), sum(len(a) for a, _, _ in data), t1 - t0, 1000 * rmse_e, rmse_f, t2 - t1))

    model = TorchPotential(net)
    relax = bmd.FIRE(model, name="relax", fmax=0.1, max_steps=500)
    md = bmd.NVTLangevin(model, name="md", dt=5.0, temperature=300, friction=0.02, steps=50, init_temperature=300)
    todo = structures(rng, 1000)
    sampler = bmd.SizeAwareSampler(todo, max_atoms=6000, max_systems=1000)
    t3 = time.perf_counter()
    result = (relax + md).run(sampler=sampler, seed=1, ordered=True)
    t4 = time.perf_counter()
    s = result.stats
    print("batchmd: %d structures (%d atoms), FIRE + 50 Langevin steps, in %.1f s: %d done, %d failed; "
          "%.3g atom-steps/s; peak batch %d atoms, %d systems"
          % (len(todo), sum(len(a) for a in todo), t4 - t3, s["done"], s["failed"], s["atom_steps"] / s["seconds"],
             s["peak_atoms"], s["peak_systems"]))
    print("%-8s %6s %10s %12s %16s" % ("kind", "count", "atoms", "relax steps", "converged relax"))
    for kind in ("cluster", "crystal"):
        sel = [a for a in result.final if a.info["kind"] == kind]
        print("%-8s %6d %10.1f %12.1f %16d" % (kind, len(sel), np.mean([len(a) for a in sel]),
                                               np.mean([a.info["steps_relax"] for a in sel]),
                                               sum(bool(a.info["converged_relax"]) for a in sel)))

    # the fitted potential against ASE's LennardJones on structures it never saw
    e_err, f_err = [], []
    for a in result.final[::25]:
        b = a.copy()
        b.calc = LennardJones(rc=CUTOFF, **LJ)
        e_err.append((a.get_potential_energy() - b.get_potential_energy()) / len(a))
        f_err.append(a.get_forces() - b.get_forces())
    f_err = np.concatenate(f_err)
    print("against ASE's LennardJones on %d final structures: energy MAE %.1f meV/atom, force RMSE %.3f eV/Å"
          % (len(e_err), 1000 * np.mean(np.abs(e_err)), np.sqrt(np.mean(f_err ** 2))))
    assert not result.failed and len(result.final) == len(todo)


if __name__ == "__main__":
    main()
