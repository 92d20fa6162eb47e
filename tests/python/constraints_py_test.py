"""ASE's FixAtoms through the Python package, and fix_com on the MD classes.

- bmd.FIRE on ase.Atoms with FixAtoms (two clusters, a vacancy crystal,
  one structure unconstrained, in one batch) against ase.optimize.FIRE with
  the same constraints: the same number of steps (info steps_relax = ASE's
  nsteps), energies to 1e-10 eV; result.final gives back FixAtoms with the
  same indices (none for the unconstrained one), the fixed atoms bitwise
  where they were, and forces of the model on every atom (ASE's
  get_forces(apply_constraint=False), 1e-10 eV/Å) while atoms.get_forces()
  applies the constraint (0 on fixed atoms), as for any ASE result.
- bmd.NVTLangevin(..., fix_com=True, init_temperature=60) on a crystal with
  FixAtoms: the fixed atoms rest in place, the free atoms' total momentum
  is 0 to 1e-12 (ASE units), FixAtoms comes back; the final temperature
  ASE computes with FixAtoms and FixCom is the one the dynamics thermostats
  (checked loosely: 60 K within a factor 2, since one frame fluctuates).
- The structure dict: a FixAtoms round trip through C (system_roundtrip).
- Refused with a message: a FixCom constraint (the message names fix_com),
  FixCartesian, fix_com on an optimizer (unknown parameter) or not a bool.
- bmd.Calculator on Atoms with FixAtoms: ASE applies the constraint to the
  forces (unchanged behaviour)."""
import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.constraints import FixAtoms, FixCartesian, FixCom
from ase.optimize import FIRE

from pylib import Checks
import batchmd as bmd
from batchmd import _convert, _core

EPS, SIG, RC = 0.0104, 3.40, 8.5
c = Checks()
model = bmd.models.LennardJones(epsilon=EPS, sigma=SIG, cutoff=RC, shift=True)
rng = np.random.default_rng(8)


def fixed_indices(atoms):
    return sorted(int(i) for cs in atoms.constraints if isinstance(cs, FixAtoms) for i in cs.get_indices())


def cluster(n):
    pos = []
    while len(pos) < n:
        p = rng.uniform(-1, 1, 3) * 2.6 * n ** (1 / 3)
        if all(np.linalg.norm(p - q) > 3.4 for q in pos):
            pos.append(p)
    return Atoms("Ar%d" % n, positions=pos)


structures = [cluster(12), cluster(19), bulk("Ar", "fcc", a=5.3, cubic=True).repeat((2, 2, 2)), cluster(9)]
del structures[2][4]
structures[2].positions += rng.normal(0, 0.08, structures[2].positions.shape)
for a, fix in zip(structures, ([0, 3], [5], [1, 2, 20, 30], None)):
    if fix:
        a.set_constraint(FixAtoms(indices=fix))

# ---- FIRE against ASE
res = bmd.FIRE(model, name="relax", fmax=0.001, max_steps=1000).run([a.copy() for a in structures])
final = {a.info["system_id"]: a for a in res.final}
c.check(sorted(final) == list(range(len(structures))), "every structure in final: %s" % sorted(final))
for i, a in enumerate(structures):
    out = final.get(i)
    if out is None:
        continue
    ref = a.copy()
    ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
    opt = FIRE(ref, logfile=None)
    opt.run(fmax=0.001, steps=1000)
    fx = fixed_indices(a)
    c.check(out.info.get("steps_relax") == opt.nsteps, "structure %d: %s steps vs ASE %d"
            % (i, out.info.get("steps_relax"), opt.nsteps))
    c.check(abs(out.get_potential_energy() - ref.get_potential_energy()) <= 1e-10,
            "structure %d: energy %.15g vs ASE %.15g" % (i, out.get_potential_energy(), ref.get_potential_energy()))
    c.check(fixed_indices(out) == fx and (fx or not out.constraints),
            "structure %d: FixAtoms %s back (%s)" % (i, fx, out.constraints))
    c.check(np.array_equal(out.positions[fx], a.positions[fx]), "structure %d: fixed atoms bitwise in place" % i)
    raw = ref.get_forces(apply_constraint=False)
    c.check(np.abs(out.get_forces(apply_constraint=False) - raw).max() < 1e-10,
            "structure %d: the model's forces on every atom" % i)
    c.check(not np.any(out.get_forces()[fx]) and np.abs(out.get_forces() - ref.get_forces()).max() < 1e-10,
            "structure %d: atoms.get_forces() applies the constraint, as ASE's" % i)

# ---- Langevin with fix_com
crystal = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 2, 2))
crystal.positions += rng.normal(0, 0.03, crystal.positions.shape)
crystal.set_constraint(FixAtoms(indices=[0, 9, 17]))
res = bmd.NVTLangevin(model, dt=2.0, temperature=60, friction=0.02, init_temperature=60, steps=300,
                      fix_com=True).run([crystal.copy()], seed=3)
out = res.final[0] if res.final else None
c.check(out is not None, "the Langevin run gives its structure back: %s" % res)
if out is not None:
    fx = [0, 9, 17]
    c.check(fixed_indices(out) == fx, "Langevin: FixAtoms back (%s)" % out.constraints)
    c.check(np.array_equal(out.positions[fx], crystal.positions[fx]) and not np.any(out.get_momenta()[fx]),
            "Langevin: fixed atoms in place and at rest")
    c.check(np.abs(out.get_momenta().sum(axis=0)).max() < 1e-12,
            "Langevin: centre-of-mass momentum %s" % out.get_momenta().sum(axis=0))
    free = [i for i in range(len(crystal)) if i not in fx]
    c.check(np.abs(out.positions[free] - crystal.positions[free]).max() > 0.05, "Langevin: free atoms move")
    t = out.copy()
    t.set_constraint([FixAtoms(indices=fx), FixCom()])
    c.check(30 < t.get_temperature() < 120, "Langevin: final temperature %.1f K near 60 K" % t.get_temperature())

# ---- the structure dict through C
d = _convert.atoms_to_dict(structures[2], 0)
c.check(list(np.flatnonzero(d["fixed"])) == [1, 2, 20, 30], "dict: fixed flags %s" % d["fixed"])
back = _convert.dict_to_atoms(_core.system_roundtrip(d))
c.check(fixed_indices(back) == [1, 2, 20, 30], "round trip through C keeps FixAtoms (%s)" % back.constraints)
c.check(_convert.atoms_to_dict(structures[3], 3)["fixed"] is None and
        not _convert.dict_to_atoms(_core.system_roundtrip(_convert.atoms_to_dict(structures[3], 3))).constraints,
        "no constraint: no fixed flags, none back")


# ---- refusals
def refused(what, fn, exc, *words):
    try:
        fn()
    except exc as e:
        c.check(all(w in str(e) for w in words), "%s: message %r names %s" % (what, str(e), words))
        return
    except Exception as e:  # noqa: BLE001
        c.check(False, "%s: %s instead of %s: %s" % (what, type(e).__name__, exc.__name__, e))
        return
    c.check(False, "%s: accepted" % what)


com = crystal.copy()
com.set_constraint(FixCom())
refused("FixCom", lambda: bmd.NVE(model, dt=1.0, steps=2).run([com]), ValueError, "FixCom", "fix_com")
cart = crystal.copy()
cart.set_constraint(FixCartesian(2, mask=[1, 0, 0]))
refused("FixCartesian", lambda: bmd.NVE(model, dt=1.0, steps=2).run([cart]), ValueError, "FixCartesian",
        "FixAtoms")
refused("fix_com on FIRE", lambda: bmd.FIRE(model, fix_com=True), TypeError, "fix_com")
refused("fix_com not a bool", lambda: bmd.NVE(model, dt=1.0, steps=2, fix_com=1), TypeError, "fix_com",
        "True or False")
c.check("fix_com" in bmd.NVE.__doc__ and "fix_com" not in bmd.FIRE.__doc__, "fix_com in the MD classes' docs")

# ---- the calculator leaves constraints to ASE
a = structures[0].copy()
a.calc = bmd.Calculator(model)
ref = structures[0].copy()
ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
c.check(np.abs(a.get_forces() - ref.get_forces()).max() < 1e-10 and not np.any(a.get_forces()[[0, 3]]),
        "Calculator: FixAtoms applied by ASE")
c.finish()
