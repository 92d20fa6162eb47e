"""A small float64 torch potential for the bridge tests: a Morse pair term
(Girifalco–Weizer's Cu parameters, so that fcc Cu is stable) plus one
message-passing layer with random weights (torch.manual_seed), smooth at
the cutoff ((1 - (r/rc)²)³ envelope), for Cu and Ag.

energy_and_grads() takes edges in any order (i, j, S: r_ij = pos[j] -
pos[i] + S @ cell, full lists) and gives per-system energies (eV), forces
(eV/Å, -dE/dx by autograd) and the virial W = dE/dε (eV, 3x3) by autograd
through a homogeneous strain of positions and cell. TorchModel runs it as a
batchmd PythonModel on the edges batchmd hands over; the tests run it on
ASE's neighbor lists, one system at a time."""
import warnings

import numpy as np
import torch

import batchmd as bmd

CUTOFF = 4.5
SPECIES = (29, 47)  # Cu, Ag


class Net(torch.nn.Module):
    def __init__(self, seed=7, n_rbf=8, hidden=16):
        super().__init__()
        torch.manual_seed(seed)
        kw = dict(dtype=torch.float64)
        self.embed = torch.nn.Linear(len(SPECIES), hidden, bias=False, **kw)
        self.filt = torch.nn.Sequential(torch.nn.Linear(n_rbf, hidden, **kw), torch.nn.SiLU(),
                                        torch.nn.Linear(hidden, hidden, **kw))
        self.out = torch.nn.Sequential(torch.nn.Linear(hidden, hidden, **kw), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, 1, **kw))
        self.register_buffer("centres", torch.linspace(1.5, CUTOFF, n_rbf, dtype=torch.float64))
        self.D0, self.alpha, self.r0 = 0.3429, 1.3588, 2.866

    def forward(self, pos, species, cell, sys, n_sys, i, j, shifts):
        """Per-system energies (n_sys,), eV. pos (n, 3), species (n,) index
        into SPECIES, cell (n_sys, 3, 3), sys (n,) system of each atom."""
        d = pos[j] - pos[i] + torch.einsum("ek,ekl->el", shifts, cell[sys[i]])
        r = torch.linalg.norm(d, dim=1)
        env = (1 - (r / CUTOFF) ** 2) ** 3  # C2 at the cutoff
        ex = torch.exp(-self.alpha * (r - self.r0))
        pair = self.D0 * (ex * ex - 2 * ex) * env  # Morse, smoothly cut
        rbf = torch.exp(-4.0 * (r[:, None] - self.centres) ** 2)
        onehot = torch.nn.functional.one_hot(species, len(SPECIES)).to(torch.float64)
        h = self.embed(onehot)
        msg = self.filt(rbf) * env[:, None] * h[j]
        h = h + torch.zeros_like(h).index_add(0, i, msg)
        e_atom = 0.05 * self.out(h)[:, 0] + pos.new_zeros(len(pos)).index_add(0, i, 0.5 * pair)
        return torch.zeros(n_sys, dtype=torch.float64).index_add(0, sys, e_atom)


def species_index(numbers):
    lut = np.full(119, -1, dtype=np.int64)
    for k, z in enumerate(SPECIES):
        lut[z] = k
    return torch.from_numpy(lut[np.asarray(numbers)])


def energy_and_grads(net, positions, numbers, cells, sys, n_sys, i, j, shifts, stress=True):
    """(energy (n_sys,), forces (n, 3), virial (n_sys, 3, 3) or None) as float64 tensors."""
    pos = torch.as_tensor(positions, dtype=torch.float64).requires_grad_()
    cell = torch.as_tensor(cells, dtype=torch.float64)
    sys = torch.as_tensor(sys, dtype=torch.int64)
    eps = torch.zeros((n_sys, 3, 3), dtype=torch.float64, requires_grad=stress)
    strain = torch.eye(3, dtype=torch.float64) + eps
    # homogeneous strain of each system: x -> x (1 + ε) (row vectors), cell likewise
    pos_s = torch.einsum("na,nab->nb", pos, strain[sys])
    cell_s = torch.einsum("ska,sab->skb", cell, strain)
    e = net(pos_s, species_index(numbers), cell_s, sys, n_sys, torch.as_tensor(i), torch.as_tensor(j),
            torch.as_tensor(shifts, dtype=torch.float64))
    grads = torch.autograd.grad(e.sum(), [pos, eps] if stress else [pos])
    return e.detach(), -grads[0], grads[1] if stress else None


class TorchModel(bmd.models.PythonModel):
    """Net as a batchmd model: full edges, strict at CUTOFF; energy, forces
    and stress (eV/Å³, 3x3; NaN without a volume)."""

    cutoff = CUTOFF
    neighbors = "full"
    species = ["Cu", "Ag"]
    outputs = ("energy", "forces", "stress")

    def __init__(self, net=None):
        self.net = net or Net()
        self.calls = 0

    def compute(self, batch):
        self.calls += 1
        with warnings.catch_warnings():  # the batch arrays are read-only: torch warns, we never write
            warnings.simplefilter("ignore", UserWarning)
            pos = torch.from_numpy(batch.positions)
            ei = torch.from_numpy(batch.edge_index)
            shifts = torch.from_numpy(batch.cell_shifts)
        e, f, w = energy_and_grads(self.net, pos, batch.numbers, batch.cells, batch.system_index.astype(np.int64),
                                   batch.n_systems, ei[0], ei[1], shifts, stress=batch.compute_stress)
        out = {"energy": e, "forces": f}
        if w is not None:
            vol = torch.abs(torch.linalg.det(torch.from_numpy(batch.cells.copy())))
            out["stress"] = torch.where(vol[:, None, None] > 0, w / vol[:, None, None], float("nan"))
        return out
