"""bmd.Calculator(LennardJones) against ASE 3.22's own LennardJones
(ase.calculators.lj), and bmd.evaluate against bmd.Calculator.

ASE 3.22's LJ always shifts the pair energy to 0 at rc (energy only: the
forces and the stress are those of the unshifted potential), so batchmd's
shift=True must equal it in energy, per-atom energies, forces and stress;
batchmd's shift=False must give ASE's energy plus e0 = 4ε[(σ/rc)¹² − (σ/rc)⁶]
for every pair closer than rc (pairs counted by ase.neighborlist), with the
same forces and stress. Structures: a strained, rattled periodic fcc Ar
crystal (cubic cell, 32 atoms), a triclinic primitive cell smaller than the
cutoff (many periodic images) and a 55-atom Ar cluster. The calculator
evaluates structures carrying constraints (ASE applies them to its
results): a FixAtoms atom's force is 0, the others are ASE's.
bmd.evaluate over all of them, in small batches, gives each structure's
Calculator energy, forces and (periodic cells) stress, on copies of the
input Atoms (info and constraints kept, whatever they hold)."""
import numpy as np
from ase.build import bulk
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.lj import LennardJones
from ase.cluster import Icosahedron
from ase.constraints import FixAtoms
from ase.neighborlist import neighbor_list

from pylib import Checks
import batchmd as bmd

EPS, SIG, RC = 0.0104, 3.40, 8.5  # eV, Å, Å
c = Checks()
rng = np.random.default_rng(5)

crystal = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 2, 2))
crystal.set_cell(crystal.cell.array @ np.array([[1.01, 0.02, 0.0], [0.0, 0.99, 0.015], [0.0, 0.0, 1.0]]),
                 scale_atoms=True)
crystal.positions += rng.normal(0, 0.05, crystal.positions.shape)
small = bulk("Ar", "fcc", a=5.3).repeat((2, 1, 1))  # triclinic primitive cells, 2 atoms: 8.5 Å reaches many images
small.positions[1] += [0.1, -0.05, 0.07]
cluster = Icosahedron("Ar", 3, latticeconstant=5.3)
cluster.positions += rng.normal(0, 0.05, cluster.positions.shape)
structures = {"crystal": crystal, "small cell": small, "cluster": cluster}


def close(a, b, tol, what):
    err = np.max(np.abs(np.asarray(a) - np.asarray(b)))
    scale = max(1.0, np.max(np.abs(b)))
    c.check(err <= tol * scale, f"{what}: differs by {err:.3g} (tolerance {tol * scale:.3g})")


e0 = 4 * EPS * ((SIG / RC) ** 12 - (SIG / RC) ** 6)
for shift in (True, False):
    model = bmd.models.LennardJones(epsilon=EPS, sigma=SIG, cutoff=RC, shift=shift)
    for name, atoms in structures.items():
        what = f"{name}, shift={shift}"
        ref = atoms.copy()
        ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
        mine = atoms.copy()
        mine.calc = bmd.Calculator(model)
        n_pairs = len(neighbor_list("i", atoms, RC)) // 2
        e_ref = ref.get_potential_energy() + (0 if shift else e0 * n_pairs)
        c.check(n_pairs > 10 * len(atoms), f"{what}: {n_pairs} pairs within rc: the test needs many")
        close(mine.get_potential_energy(), e_ref, 1e-12, f"{what}: energy")
        close(mine.get_forces(), ref.get_forces(), 1e-12, f"{what}: forces")
        e_atoms = mine.get_potential_energies()
        close(e_atoms.sum(), mine.get_potential_energy(), 1e-12, f"{what}: per-atom energies sum")
        if shift:  # ASE splits each shifted pair energy half and half, as batchmd does
            close(e_atoms, ref.get_potential_energies(), 1e-12, f"{what}: per-atom energies")
        if atoms.pbc.all():
            close(mine.get_stress(), ref.get_stress(), 1e-12, f"{what}: stress")
            c.check(np.abs(ref.get_stress()).max() > 1e-5, f"{what}: the stress checked is not ~0")
        else:
            try:
                mine.get_stress()
                c.check(False, f"{what}: a cluster's stress gave a value")
            except PropertyNotImplementedError:
                pass

# the calculator does not look at constraints: ASE applies them to what it returns
model = bmd.models.LennardJones(epsilon=EPS, sigma=SIG, cutoff=RC, shift=True)
fixed = cluster.copy()
fixed.set_constraint(FixAtoms(indices=[0, 7]))
fixed.info["a note"] = {"not": "an extxyz value"}  # info plays no part in a single point
fixed.calc = bmd.Calculator(model)
ref = cluster.copy()
ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
try:
    f = fixed.get_forces()
    f_ref = ref.get_forces()
    f_ref[[0, 7]] = 0
    close(f, f_ref, 1e-12, "constrained cluster: forces")
    close(fixed.get_potential_energy(), ref.get_potential_energy(), 1e-12, "constrained cluster: energy")
except Exception as e:
    c.check(False, f"a constrained structure through the calculator: {type(e).__name__}: {e}")

# the calculator follows the atoms: moved positions give fresh results
moved = crystal.copy()
moved.calc = bmd.Calculator(model)
e_before = moved.get_potential_energy()
moved.positions[3] += [0.2, 0, 0]
ref = moved.copy()
ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
close(moved.get_potential_energy(), ref.get_potential_energy(), 1e-12, "moved atom: energy")
c.check(moved.get_potential_energy() != e_before, "moved atom: the energy did not change")

# evaluate: batched single points equal the calculator, structure by structure, in input order
many = [crystal, small, cluster] + [a for a in (crystal.copy(), fixed.copy())]
many[4].set_constraint(FixAtoms(indices=[0, 7]))  # kept on the copy evaluate returns, with its info
many[3].positions += rng.normal(0, 0.02, many[3].positions.shape)
many[4].positions += rng.normal(0, 0.02, many[4].positions.shape)
for max_atoms in (200, 60):  # all at once, then several batches
    out = bmd.evaluate(many, model, max_atoms=max_atoms)
    c.check(len(out) == len(many), f"evaluate: {len(out)} structures back for {len(many)}")
    for i, (a, b) in enumerate(zip(many, out)):
        ref = a.copy()
        ref.calc = bmd.Calculator(model)
        what = f"evaluate (max_atoms {max_atoms}) structure {i}"
        c.check(np.array_equal(b.positions, a.positions) and np.array_equal(b.numbers, a.numbers),
                f"{what}: not the input structure (order kept?)")
        c.check(b.info == a.info and len(b.constraints) == len(a.constraints),
                f"{what}: info {b.info} / constraints {b.constraints} not the input's")
        close(b.get_potential_energy(), ref.get_potential_energy(), 1e-13, f"{what}: energy")
        close(b.get_forces(), ref.get_forces(), 1e-13, f"{what}: forces")
        close(b.calc.results["forces"], ref.calc.results["forces"], 1e-13, f"{what}: forces before constraints")
        if a.pbc.all():
            close(b.get_stress(), ref.get_stress(), 1e-13, f"{what}: stress")
        else:
            c.check("stress" not in b.calc.results, f"{what}: a cluster got a stress")
c.finish()
