#!/usr/bin/python3
"""A float64 torch potential (tests/python/torchmodel.py: Morse + one
message-passing layer, weights from torch.manual_seed) through the bridge:
- batched through batchmd (bmd.evaluate: one call for the whole batch, the
  edges batchmd builds) = the same net evaluated directly, one system at a
  time, on ASE's neighbor_list: energies, forces, stress to 1e-12
  (relative to the largest value: the two edge orders sum differently);
  the stress given as (s, 3, 3), Voigt (s, 6) or as the virial W = σV
  (s, 6) comes out the same;
- forces = -dE/dx by central finite differences of the bridged energy
  (h = 5e-5 Å: truncation h²/6 |E'''| ~ 1e-8 eV/Å, rounding ~1e-11), stress = ASE's
  numerical stress (Calculator.calculate_numerical_stress);
- a system alone = the same system in a batch among others;
- NVE (velocity Verlet) conserves the total energy: the largest deviation
  over the run (the stage's drift, eV/atom) is small and shrinks as dt²
  (a force that were not -dE/dx would drift at any dt);
- species: the model's check (bmd_model_check_system, which the command
  and Python runs ask before a run) refuses a structure with an element
  it lacks, naming the element."""
from pylib import Checks  # first: puts the build tree's batchmd on sys.path

import numpy as np
import torch
from ase import Atoms
from ase.build import bulk, fcc111
from ase.cluster import Icosahedron
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
from ase.neighborlist import neighbor_list

import batchmd as bmd
from torchmodel import CUTOFF, Net, TorchModel, energy_and_grads

c = Checks()
rng = np.random.default_rng(5)

cu = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
cu.rattle(0.05, seed=1)
alloy = bulk("Cu", "fcc", a=3.7).repeat((2, 1, 1))  # triclinic, |a| = 2.6 Å < cutoff
alloy.numbers[1] = 47
alloy.positions += rng.normal(0, 0.05, alloy.positions.shape)
cluster = Icosahedron("Cu", 2)
cluster.numbers[[0, 5, 9]] = 47
cluster.rattle(0.05, seed=2)
cluster.cell = np.zeros((3, 3))
cluster.pbc = False
slab = fcc111("Ag", size=(2, 2, 2), vacuum=5.0, a=4.09)
slab.info.clear()
slab.pbc = (True, True, False)
slab.rattle(0.05, seed=3)
frames = [cu, alloy, cluster, slab]
names = ["Cu fcc 32", "CuAg triclinic", "cluster", "slab"]

net = Net()
model = TorchModel(net)


def direct(atoms):
    """The net on one system with ASE's neighbor list: (E, F, stress 3x3 or None)."""
    i, j, S = neighbor_list("ijS", atoms, CUTOFF)
    n = len(atoms)
    e, f, w = energy_and_grads(net, atoms.positions, atoms.numbers, atoms.cell.array[None], np.zeros(n, np.int64), 1,
                               i, j, S)
    stress = w[0].numpy() / atoms.get_volume() if atoms.pbc.all() else None
    return float(e[0]), f.numpy(), stress


def close(a, b, tol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    scale = max(1.0, np.abs(b).max())
    return np.abs(a - b).max() <= tol * scale, np.abs(a - b).max()


# ---- batched through batchmd = direct, per system ----
model.calls = 0
out = bmd.evaluate(frames, model)
c.check(model.calls == 1, f"one model call for the batch of {len(frames)} (got {model.calls})")
batched = {}
for a, ref, name in zip(out, frames, names):
    e0, f0, s0 = direct(ref)
    ok, d = close(a.get_potential_energy(), e0)
    c.check(ok, f"{name}: energy through the bridge = direct ({d:.1e})")
    ok, d = close(a.get_forces(), f0)
    c.check(ok, f"{name}: forces through the bridge = direct ({d:.1e})")
    if s0 is not None:
        # ASE's stress is Voigt xx yy zz yz xz xy; the model gave a 3x3 (symmetric) tensor
        v = np.array([s0[0, 0], s0[1, 1], s0[2, 2], s0[1, 2], s0[0, 2], s0[0, 1]])
        ok, d = close(a.get_stress(), v)
        c.check(ok, f"{name}: stress through the bridge (W = stress*V, back to W/V) = direct ({d:.1e})")
    else:
        c.check("stress" not in a.calc.results, f"{name}: not fully periodic, no stress")
    batched[name] = a

# ---- the other stress forms: Voigt stress (s, 6) and the virial W (s, 6) ----
def voigt(m):
    return torch.stack([m[:, 0, 0], m[:, 1, 1], m[:, 2, 2], m[:, 1, 2], m[:, 0, 2], m[:, 0, 1]], dim=1)


class VoigtStress(TorchModel):
    def compute(self, batch):
        out = super().compute(batch)
        if "stress" in out:
            out["stress"] = voigt(out["stress"])
        return out


class Virial(TorchModel):
    def compute(self, batch):
        out = super().compute(batch)
        if "stress" in out:
            vol = torch.abs(torch.linalg.det(torch.from_numpy(batch.cells.copy())))
            out["virial"] = voigt(out.pop("stress")) * vol[:, None]  # W = σ V, eV
        return out


for form, m in (("Voigt stress (s, 6)", VoigtStress(net)), ("virial (s, 6)", Virial(net))):
    for a in bmd.evaluate([cu, alloy], m):
        ref = batched["Cu fcc 32" if len(a) == len(cu) else "CuAg triclinic"].get_stress()
        ok, d = close(a.get_stress(), ref)
        c.check(ok, f"{form}: the same stress as the 3x3 form ({d:.1e})")

# ---- forces and stress as derivatives of the bridged energy ----
calc = bmd.Calculator(model)
for atoms, name in ((alloy, "CuAg triclinic"), (cluster, "cluster")):
    at = atoms.copy()
    at.calc = calc
    f = at.get_forces()
    h, fd = 5e-5, np.zeros_like(f)
    for k in range(len(at)):
        for x in range(3):
            p0 = at.positions[k, x]
            at.positions[k, x] = p0 + h
            ep = at.get_potential_energy()
            at.positions[k, x] = p0 - h
            em = at.get_potential_energy()
            at.positions[k, x] = p0
            fd[k, x] = -(ep - em) / (2 * h)
    err = np.abs(f - fd).max()
    c.check(err < 1e-7, f"{name}: forces = -dE/dx by central differences (max diff {err:.1e} eV/Å, "
                        f"max |F| {np.abs(f).max():.2f})")
    if at.pbc.all():
        s = at.get_stress()
        sn = calc.calculate_numerical_stress(at, d=1e-5)
        err = np.abs(s - sn).max()
        c.check(err < 1e-7, f"{name}: stress = ASE's numerical stress (max diff {err:.1e} eV/Å³)")

# ---- alone = in a batch ----
for k in (0, 2):
    alone = bmd.evaluate([frames[k]], model)[0]
    a = batched[names[k]]
    same_e = alone.get_potential_energy() == a.get_potential_energy()
    ok_e, de = close(alone.get_potential_energy(), a.get_potential_energy())
    ok_f, df = close(alone.get_forces(), a.get_forces())
    c.check(ok_e and ok_f, f"{names[k]}: alone = in the batch (energy {de:.1e}, forces {df:.1e}; "
                           f"energy bitwise {same_e})")

# ---- NVE: energy conserved, the error shrinking as dt² ----
md = cu.copy()
MaxwellBoltzmannDistribution(md, temperature_K=300, rng=np.random.default_rng(9))
Stationary(md)
drift = {}
for dt, steps in ((2.0, 250), (1.0, 500)):
    r = bmd.NVE(model, dt=dt, steps=steps).run([md])
    c.check(len(r.final) == 1 and not r.failed, f"NVE dt={dt}: the system ends in final")
    drift[dt] = r.stats["stages"][0]["max_drift_eV_per_atom"]
    # the run's own record (E_pot + E_kin at the end) against the start
    if r.final:
        f = r.final[0]
        e_end = f.get_potential_energy() + f.get_kinetic_energy()
        st = md.copy()
        st.calc = calc
        e_start = st.get_potential_energy() + st.get_kinetic_energy()
        c.check(abs(e_end - e_start) / len(md) <= drift[dt] + 1e-12,
                f"NVE dt={dt}: |E_end - E_start| / N = {abs(e_end - e_start) / len(md):.2e} within the run's "
                f"drift {drift[dt]:.2e} eV/atom")
# velocity Verlet conserves a shadow energy: the total energy oscillates
# with a relative amplitude ~(ω dt)²/8 of the kinetic energy and does not
# drift. Cu's highest phonons, ω ≈ 2π · 7 THz = 0.044 /fs, at dt = 1 fs and
# 300 K (E_kin ≈ 1.5 k_B T = 0.039 eV/atom): ~1e-5 eV/atom; a force that
# were not -dE/dx would drift without bound. Bound: 3e-5 eV/atom.
c.check(drift[1.0] < 3e-5, f"NVE dt=1 fs: max |ΔE_total| / N = {drift[1.0]:.2e} eV/atom < 3e-5")
ratio = drift[2.0] / drift[1.0] if drift[1.0] > 0 else float("inf")
c.check(2.5 < ratio < 6.0, f"NVE: the energy error scales as dt² (dt 2 fs / 1 fs: {ratio:.2f}, expected ~4)")

# ---- species: the model's check refuses an element it lacks, by name ----
fe = cluster.copy()
fe.numbers[3] = 26
try:
    bmd.Calculator(model).get_potential_energy(fe)
    msg = None
except bmd.BatchmdError as e:
    msg = str(e)
c.check(msg is not None and "Fe" in msg and "TorchModel" in msg,
        f"species: a structure with Fe is refused, naming Fe and the model ({msg!r})")
c.finish()
