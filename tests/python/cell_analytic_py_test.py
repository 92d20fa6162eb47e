#!/usr/bin/python3
"""Moving cells against an analytic model (issue #16): a Python model whose
energy depends on the volume alone,

    E(V) = B (V − V0)² / (2 V0)      stress σ = dE/dV · I (ASE's sign)

so that relaxing the cell under a pressure p (E + pV at its minimum) must
end at V = V0 (1 − p/B) with the cell's shape unchanged (a hydrostatic
stress scales it uniformly). No peer is needed: the answer is closed form,
and a pressure unit wrong by any factor moves it.

- every optimizer (fire, fire2, lbfgs, bfgs) with every filter (unit, exp,
  frechet), several cells of different shapes and sizes in one batch, each
  with its own pressure from atoms.info (bar): V/V0 = 1 − p/B to 1e-6 and
  the final cell a uniform multiple of the initial one to 1e-8;
- a collapsing cell: one structure's energy is K·V in the relaxations (a
  constant positive stress: it shrinks without limit) and A ln V under the
  barostats (a stress A/V that outgrows the atoms' kinetic pressure
  N k T / V, A > N k T), in the same batch as the others — it
  leaves as cell_degenerate or cell_too_thin, the others converge, in a
  relaxation and under npt_mtk and npt_crescale (the other systems there
  keep finite positive volumes and finish their steps)."""
from pylib import Checks  # first: puts the build tree's batchmd on sys.path

import numpy as np
from ase import Atoms, units

import batchmd as bmd

c = Checks()
B = 0.5  # eV/Å³ (80 GPa)
K_CRUSH = 0.05  # eV/Å³: a collapsing structure's E = K V (relaxations)
A_CRUSH = 2.0  # eV: a collapsing structure's E = A ln V (barostats)


class VolumeModel(bmd.models.PythonModel):
    """E = B (V − V0)²/(2 V0), V0 from the structure's info["v0"] via
    system_id; the collapsing ones have E = K V (law "linear") or A ln V
    (law "log") instead."""
    outputs = ("energy", "forces", "stress")
    cutoff = 3.0  # Å: no neighbors are used; the stage's thin-cell test needs a range

    def __init__(self, v0, crush, law="linear"):
        self.v0, self.crush, self.law = v0, crush, law

    def compute(self, batch):
        vol = np.abs(np.linalg.det(np.asarray(batch.cells)))
        ids = np.asarray(batch.system_id)
        v0 = np.array([self.v0[i] for i in ids])
        crush = np.array([i in self.crush for i in ids])
        if self.law == "log":
            e_crush, dedv_crush = A_CRUSH * np.log(vol), A_CRUSH / vol
        else:
            e_crush, dedv_crush = K_CRUSH * vol, np.full(len(vol), K_CRUSH)
        energy = np.where(crush, e_crush, 0.5 * B * (vol - v0) ** 2 / v0)
        dedv = np.where(crush, dedv_crush, B * (vol - v0) / v0)
        stress = np.zeros((len(ids), 6))
        stress[:, :3] = dedv[:, None]
        return {"energy": energy, "forces": np.zeros((len(batch.positions), 3)), "stress": stress}


def structures(crush_one):
    """Five periodic cells (cubic and triclinic, 1 to 5 atoms), each with
    its own V0 (10 % off its volume either way) and pressure; with
    crush_one, a sixth in the middle of the batch (index 2) that collapses.
    Returns (frames, {system_id: V0}, {system_id of the collapsing one})."""
    rng = np.random.default_rng(16)
    cells = [np.diag([4.0, 4.0, 4.0]), np.array([[5.0, 0, 0], [1.2, 4.5, 0], [0.7, -0.4, 6.0]]),
             np.diag([3.0, 5.0, 7.0]), np.array([[4.0, 0.3, 0], [0, 4.2, 0.5], [0.2, 0, 3.9]]),
             np.diag([6.0, 6.0, 6.0])]
    pressures = [0.0, 20000.0, -15000.0, 5000.0, 40000.0]  # bar
    frames, v0s = [], []
    for k, (cell, p) in enumerate(zip(cells, pressures)):
        n = 1 + k
        a = Atoms("Ar%d" % n, cell=cell, pbc=True, scaled_positions=rng.uniform(size=(n, 3)))
        a.info["pressure"] = p
        frames.append(a)
        v0s.append(abs(np.linalg.det(cell)) * (1.0 + 0.05 * (k - 2)))
    crush = set()
    if crush_one:
        a = Atoms("Ar2", cell=np.diag([5.0, 5.0, 5.0]), pbc=True, scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5]])
        a.info["pressure"] = 0.0
        frames.insert(2, a)
        v0s.insert(2, 125.0)
        crush = {2}
    return frames, dict(enumerate(v0s)), crush


def check_relaxed(res, frames, v0, crush, what):
    got = {a.info["system_id"]: a for a in res.final}
    failed = {a.info["system_id"]: a.info.get("status") for a in res.failed}
    want_ids = sorted(set(range(len(frames))) - crush)
    c.check(sorted(got) == want_ids, f"{what}: every ordinary cell relaxed ({sorted(got)}; failed {failed})")
    for i in crush:
        c.check(failed.get(i) in ("cell_degenerate", "cell_too_thin"),
                f"{what}: the collapsing cell leaves as cell_degenerate or cell_too_thin ({failed.get(i)})")
    for i, a in got.items():
        p = frames[i].info["pressure"] * units.bar
        want = v0[i] * (1.0 - p / B)
        vol = a.get_volume()
        scale = np.cbrt(vol / frames[i].get_volume())
        shape = np.abs(a.cell[:] - scale * frames[i].cell[:]).max() / np.abs(frames[i].cell[:]).max()
        c.check(abs(vol / want - 1.0) <= 1e-6,
                f"{what} {i}: V = {vol:.10g} Å³, V0 (1 − p/B) = {want:.10g} (rel {vol / want - 1.0:.1e})")
        c.check(shape <= 1e-8, f"{what} {i}: the cell is the initial one scaled uniformly (off by {shape:.1e})")


for crush_one in (False, True):
    frames, v0, crush = structures(crush_one)
    model = VolumeModel(v0, crush)
    for opt in ("FIRE", "FIRE2", "LBFGS", "BFGS"):
        for filt in ("unit", "exp", "frechet"):
            what = f"{opt} {filt}{' + collapsing cell' if crush_one else ''}"
            dyn = getattr(bmd, opt)(model, cell={"filter": filt}, fmax=1e-7, max_steps=3000)
            check_relaxed(dyn.run([a.copy() for a in frames]), frames, v0, crush, what)

# MD with a barostat at 300 K: the collapsing cell (A = 2 eV > N k T = 0.05
# eV) leaves, the others finish their steps
frames, v0, crush = structures(True)
model = VolumeModel(v0, crush, law="log")
for dyn in (bmd.NPTMTK(model, dt=1.0, temperature=300.0, pressure=0.0, tdamp=50.0, pdamp=200.0, steps=400,
                       init_temperature=300.0),
            bmd.NPTCRescale(model, dt=1.0, temperature=300.0, pressure=0.0, tau_p=200.0, compressibility=1e-4,
                            tdamp=50.0, steps=400, init_temperature=300.0)):
    res = dyn.run([a.copy() for a in frames])
    got = {a.info["system_id"]: a for a in res.final}
    failed = {a.info["system_id"]: a.info.get("status") for a in res.failed}
    name = type(dyn).__name__
    c.check(sorted(got) == [0, 1, 3, 4, 5], f"{name}: the ordinary cells finish ({sorted(got)}; failed {failed})")
    c.check(failed.get(2) in ("cell_degenerate", "cell_too_thin"),
            f"{name}: the collapsing cell leaves as cell_degenerate or cell_too_thin ({failed.get(2)})")
    c.check(all(np.isfinite(a.get_volume()) and a.get_volume() > 0 for a in got.values()),
            f"{name}: the others keep finite positive volumes")
c.finish()
