#!/usr/bin/python3
"""The neighbor edges a Python model receives (batch.edge_index, cell_shifts,
edge_offsets) against ASE 3.22's ase.neighborlist.neighbor_list('ijS'), as
sets of (i, j, S) in each system's own atom indices, for a triclinic crystal
with atoms outside the cell, a cell smaller than the cutoff (an atom meets
its own images), a slab (pbc T T F) and a cluster (no cell), evaluated
together in one batch:
- full: exactly ASE's set, each edge once; r_ij from the convention
  positions[j] - positions[i] + S @ cell equals ASE's D and is < cutoff;
- half: each unordered pair once (H and its reverses (j, i, -S) partition
  ASE's full set), with i < j, or S lexicographically positive for i == j;
- strict=False (skin 0.3) on the first evaluation: ASE's set at cutoff + skin;
- edges never cross systems and edge_offsets delimit them; each system's
  edges are the same alone as in the batch;
- along a 60-step trajectory the Verlet lists are rebuilt only now and
  then (skin 0.5 Å) and every call's strict edges are ASE's set at that
  call's positions."""
from pylib import Checks  # first: puts the build tree's batchmd on sys.path

import numpy as np
from ase import Atoms
from ase.build import bulk, fcc111
from ase.cluster import Icosahedron
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.neighborlist import neighbor_list

import batchmd as bmd

CUT = 5.0
c = Checks()
rng = np.random.default_rng(3)

tric = Atoms("Cu6", cell=[[4.1, 0.0, 0.0], [1.3, 4.4, 0.0], [0.7, -0.9, 3.9]], pbc=True)
tric.set_scaled_positions(rng.uniform(0, 1, (6, 3)))
tric.positions[2] += tric.cell[0] - 2 * tric.cell[1]  # unwrapped: outside the cell
tric.positions[4] -= tric.cell[2]
small = bulk("Cu", "fcc", a=3.61)  # 1 atom, |a| = 2.55 Å < cutoff
small.positions[0] += [0.1, -0.05, 0.2]
slab = fcc111("Cu", size=(2, 2, 3), vacuum=6.0)
slab.pbc = (True, True, False)
slab.info.clear()  # fcc111 leaves adsorbate_info (a dict), which extxyz cannot carry
slab.rattle(0.05, seed=4)
cluster = Icosahedron("Cu", 2)
cluster.rattle(0.05, seed=5)
cluster.cell = np.zeros((3, 3))
cluster.pbc = False
structures = {"triclinic": tric, "small cell": small, "slab": slab, "cluster": cluster}
names = list(structures)


class Recorder(bmd.models.PythonModel):
    """Zero energy and forces; keeps each evaluation's edges (copies)."""

    def __init__(self, neighbors, strict=True, skin=0.5):
        self.neighbors, self.strict, self.skin, self.cutoff = neighbors, strict, skin, CUT
        self.seen = []

    def compute(self, batch):
        ei, sh, off = batch.edge_index, batch.cell_shifts, batch.edge_offsets
        self.seen.append(dict(index=ei.copy(), shifts=sh.copy(), offsets=off.copy(), vec=batch.edge_vectors(),
                              start=batch.atom_start.copy(), sys=batch.system_index.copy(),
                              ids=batch.system_id.copy()))
        return {"energy": np.zeros(batch.n_systems), "forces": np.zeros((batch.n_atoms, 3))}


def edges_by_system(rec):
    """{system_id: list of (i, j, S) in local indices, in the order given}, checking the layout."""
    ev = rec.seen[0]
    out = {}
    ns = len(ev["ids"])
    c.check(ev["offsets"].shape == (ns + 1,) and ev["offsets"][0] == 0 and ev["offsets"][-1] == ev["index"].shape[1]
            and np.all(np.diff(ev["offsets"]) >= 0), "edge_offsets delimit the edges")
    c.check(ev["index"].dtype == np.int64 and ev["shifts"].dtype == np.int64 and ev["offsets"].dtype == np.int64,
            "int64 edge arrays")
    for s in range(ns):
        a, b = ev["offsets"][s], ev["offsets"][s + 1]
        i, j = ev["index"][0, a:b], ev["index"][1, a:b]
        c.check(np.all(ev["sys"][i] == s) and np.all(ev["sys"][j] == s), f"slot {s}: edges stay in their system")
        i0 = ev["start"][s]
        out[int(ev["ids"][s])] = ([(int(x - i0), int(y - i0), tuple(int(k) for k in S))
                                   for x, y, S in zip(i, j, ev["shifts"][a:b])], ev["vec"][a:b])
    return out


def ase_set(atoms, cutoff):
    i, j, S = neighbor_list("ijS", atoms, cutoff)
    return {(int(x), int(y), tuple(int(k) for k in s)) for x, y, s in zip(i, j, S)}


def lexpos(S):
    nz = [k for k in S if k != 0]
    return bool(nz) and nz[0] > 0


def rev(e):
    return (e[1], e[0], tuple(-k for k in e[2]))


frames = [structures[n] for n in names]
full, half = Recorder("full"), Recorder("half")
bmd.evaluate(frames, full)
bmd.evaluate(frames, half)
c.check(len(full.seen) == 1 and len(half.seen) == 1, "one model call for the whole batch")
got_full, got_half = edges_by_system(full), edges_by_system(half)
for sid, name in enumerate(names):
    atoms = structures[name]
    ref = ase_set(atoms, CUT)
    edges, vec = got_full[sid]
    c.check(len(edges) == len(set(edges)), f"{name}: full edges distinct")
    c.check(set(edges) == ref, f"{name}: full edges = ASE's neighbor_list ({len(set(edges))} vs {len(ref)}; "
                               f"missing {sorted(ref - set(edges))[:3]}, extra {sorted(set(edges) - ref)[:3]})")
    c.check(edges == sorted(edges), f"{name}: sorted by i, j, S")
    # the shift convention: our r_ij = ASE's D for the same (i, j, S)
    i, j, S, D = neighbor_list("ijSD", atoms, CUT)
    dref = {(int(x), int(y), tuple(int(k) for k in s)): d for x, y, s, d in zip(i, j, S, D)}
    err = max((np.abs(vec[k] - dref[e]).max() for k, e in enumerate(edges) if e in dref), default=0.0)
    c.check(err < 1e-12, f"{name}: r_ij = pos[j] - pos[i] + S @ cell equals ASE's D (max diff {err:.1e})")
    c.check(len(vec) == 0 or np.linalg.norm(vec, axis=1).max() < CUT, f"{name}: every edge shorter than the cutoff")
    if name == "small cell":
        c.check(any(e[0] == e[1] for e in edges), "small cell: an atom meets its own periodic images")
    hedges, _ = got_half[sid]
    h = set(hedges)
    c.check(len(hedges) == len(h), f"{name}: half edges distinct")
    c.check(not (h & {rev(e) for e in h}) and h | {rev(e) for e in h} == ref,
            f"{name}: half edges hold each unordered pair of ASE's set once ({len(h)} of {len(ref)})")
    c.check(all(e[0] < e[1] or (e[0] == e[1] and lexpos(e[2])) for e in h),
            f"{name}: half edges are i < j, or i == j with S lexicographically positive")

# strict=False: the Verlet list's pairs, r < cutoff + skin at the (first) build
loose = Recorder("full", strict=False, skin=0.3)
bmd.evaluate(frames, loose)
got_loose = edges_by_system(loose)
for sid, name in enumerate(names):
    ref = ase_set(structures[name], CUT + 0.3)
    c.check(set(got_loose[sid][0]) == ref, f"{name}: strict=False gives ASE's set at cutoff + skin")

# alone vs in the batch: the same edges, in the same order (local indices)
for sid, name in enumerate(names):
    alone = Recorder("full")
    bmd.evaluate([structures[name]], alone)
    c.check(edges_by_system(alone)[0][0] == got_full[sid][0], f"{name}: the same edges alone as in the batch")

# along a trajectory: the Verlet lists are reused (fewer builds than calls)
# and yet every call's strict edges are ASE's set at that call's positions
class Moving(Recorder):
    def compute(self, batch):
        out = super().compute(batch)
        self.seen[-1]["pos"] = batch.positions.copy()
        self.seen[-1]["cells"] = batch.cells.copy()
        self.seen[-1]["pbc"] = batch.pbc.copy()
        self.seen[-1]["count"] = batch.atom_count.copy()
        m = batch.mask
        self.seen[-1]["mask"] = np.ones(batch.n_systems, bool) if m is None else m.astype(bool)
        return out


hot = []
for k, a in enumerate((tric, small, slab)):
    a = a.copy()
    MaxwellBoltzmannDistribution(a, temperature_K=3000, rng=np.random.default_rng(k))
    hot.append(a)
mov = Moving("half")
bmd.NVE(mov, dt=2.0, steps=60).run(hot)  # no forces: free flight, ~0.4 Å per 60 steps
bad = unmasked = 0
for ev in mov.seen:
    for s in range(len(ev["ids"])):
        if not ev["mask"][s]:  # not evaluated this call: no edges
            unmasked += 1
            bad += ev["offsets"][s] != ev["offsets"][s + 1]
            continue
        a0, n = ev["start"][s], ev["count"][s]
        at = Atoms(numbers=[29] * n, positions=ev["pos"][a0:a0 + n], cell=ev["cells"][s], pbc=ev["pbc"][s].astype(bool))
        o0, o1 = ev["offsets"][s], ev["offsets"][s + 1]
        got = {(int(i - a0), int(j - a0), tuple(int(x) for x in S))
               for i, j, S in zip(ev["index"][0, o0:o1], ev["index"][1, o0:o1], ev["shifts"][o0:o1])}
        ref = ase_set(at, CUT)
        bad += got | {rev(e) for e in got} != ref
c.check(bad == 0, f"a 60-step trajectory: every call's half edges are ASE's pairs then, none for systems out "
                  f"of the call's mask ({bad} calls differ; {unmasked} systems out of a mask)")
builds = mov.list_builds()
c.check(len(hot) < builds < len(hot) * len(mov.seen),
        f"Verlet lists reused along it: {builds} builds for {len(hot)} systems x {len(mov.seen)} calls")

# no neighbors asked: no edge arrays, a clear message
class NoEdges(bmd.models.PythonModel):
    def compute(self, batch):
        try:
            batch.edge_index
        except AttributeError as e:
            self.msg = str(e)
        return {"energy": np.zeros(batch.n_systems), "forces": np.zeros((batch.n_atoms, 3))}


ne = NoEdges()
bmd.evaluate([cluster], ne)
c.check("neighbors" in getattr(ne, "msg", ""), f"without neighbors, edge_index is an AttributeError saying why "
                                               f"({getattr(ne, 'msg', None)!r})")
c.finish()
