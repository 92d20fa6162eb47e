"""Structures between ASE and batchmd's C core.

An ``ase.Atoms`` becomes the structure dict of python/src/pybmd.h and back.
Units are ASE's everywhere a user sees them (Å, eV, eV/Å, eV/Å³, ASE's
velocity unit); the C core keeps velocities in Å/fs (v_C = v_ASE * units.fs).
Info values cross as the text an extended XYZ info line holds, and come
back parsed as ASE's extxyz reader parses them, so ``result.final`` carries
what ``batchmd run`` writes into ``final``.
"""
import numbers

import numpy as np
from ase import Atoms, units
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixAtoms
from ase.data import atomic_masses

# ASE calculator results are never taken as batchmd's (the C side drops
# them too): a result at the input's positions is not the model's.
_DROPPED_INFO = {"energy", "free_energy", "stress", "dipole", "magmom"}


def _info_text(key, value):
    """The extxyz text of an info value (what batchmd's reader would hold)."""
    if isinstance(value, (bool, np.bool_)):
        return "T" if value else "F"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, str):
        return value
    arr = np.asarray(value)
    if arr.ndim == 1 and arr.dtype.kind in "biuf" and arr.size > 0:
        return " ".join(_info_text(key, x.item()) for x in arr)
    raise TypeError(f"atoms.info['{key}']: {type(value).__name__} cannot be passed to batchmd "
                    "(expected a number, a bool, a string or a 1-D array of numbers)")


def _ase_time(units_kind):
    """ASE's time unit in the C core's (fs in metal units; 1 in lj units, as
    the command's extxyz reader and writer count it)."""
    return units.fs if units_kind == "metal" else 1.0


def _masses(atoms, units_kind):
    """The masses a structure runs with, as the extxyz reader takes them:
    those set on the Atoms (a masses array: set_masses, or a masses column
    read), else the element's standard mass in metal units (amu) and 1 in
    lj units (docs/campaign.md, units)."""
    if atoms.has("masses") or units_kind == "metal":
        return np.ascontiguousarray(atoms.get_masses(), dtype=np.float64)
    return np.ones(len(atoms))


def atoms_to_dict(atoms, index=None, units_kind="metal", single_point=False):
    """The structure dict of an ase.Atoms (index: where it is, for messages).

    single_point: for one evaluation at the positions as they are (the ASE
    calculator): constraints are ASE's to apply to the results, and info
    plays no part, so neither is looked at."""
    where = f"structure {index}" if index is not None else "structure"
    if not isinstance(atoms, Atoms):
        raise TypeError(f"{where}: expected an ase.Atoms, got {type(atoms).__name__}")
    fixed = None if single_point else _fixed_atoms(atoms, where)
    # other per-atom arrays (tags, charges, initial_magmoms ...) change
    # nothing under batchmd's models: not used, as the command's extxyz
    # reader does not use those columns (docs/campaign.md, inputs)

    masses = _masses(atoms, units_kind)
    vel = None
    if atoms.has("momenta"):
        # as the extxyz reader: v = p / m * ase_time (Å/fs)
        p = atoms.get_momenta()
        vel = np.ascontiguousarray(p / masses[:, None] * _ase_time(units_kind), dtype=np.float64)
    info = []
    for k, v in ({} if single_point else atoms.info).items():
        if k in _DROPPED_INFO:
            continue
        info.append((str(k), _info_text(k, v)))
    return {
        "numbers": np.ascontiguousarray(atoms.numbers, dtype=np.int32),
        "positions": np.ascontiguousarray(atoms.positions, dtype=np.float64),
        "masses": masses,
        "velocities": vel,
        "forces": None,
        "cell": np.ascontiguousarray(atoms.cell.array, dtype=np.float64),
        "pbc": tuple(bool(p) for p in atoms.pbc),
        "energy": None,
        "stress": None,
        "system_id": index if index is not None else -1,
        "info": info,
        "dof": 0,
        "fixed": fixed,
    }


def _fixed_atoms(atoms, where):
    """The fixed-atom flags (uint8, 1: fixed) of atoms' FixAtoms constraints,
    or None when none is fixed; any other constraint is refused."""
    fixed = np.zeros(len(atoms), dtype=np.uint8)
    for c in atoms.constraints:
        if not isinstance(c, FixAtoms):
            hint = " (for FixCom give the MD stage fix_com=True)" if type(c).__name__ == "FixCom" else ""
            raise ValueError(f"{where}: has a {type(c).__name__} constraint, which batchmd does not apply{hint}; "
                             "batchmd holds atoms fixed with FixAtoms only: remove it (atoms.set_constraint()) "
                             "or replace it")
        fixed[c.get_indices()] = 1
    return fixed if fixed.any() else None


def _parse_value(text):
    """An info value as ASE's extxyz reader parses it."""
    if text in ("T", "True", "true"):
        return True
    if text in ("F", "False", "false"):
        return False
    parts = text.split()
    if len(parts) > 1:
        try:
            ints = [int(p) for p in parts]
            return np.array(ints)
        except ValueError:
            pass
        try:
            return np.array([float(p) for p in parts])
        except ValueError:
            return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def dict_to_atoms(d, units_kind="metal"):
    """An ase.Atoms from a structure dict: results as a SinglePointCalculator."""
    numbers = np.frombuffer(d["numbers"], dtype=np.int32).astype(int)
    pos = np.frombuffer(d["positions"], dtype=np.float64).reshape(-1, 3).copy()
    cell = np.frombuffer(d["cell"], dtype=np.float64).reshape(3, 3).copy()
    atoms = Atoms(numbers=numbers, positions=pos, cell=cell, pbc=d["pbc"])
    masses = np.frombuffer(d["masses"], dtype=np.float64)
    if not np.array_equal(masses, atomic_masses[numbers]):
        atoms.set_masses(masses.copy())
    if d["velocities"] is not None:
        # as the extxyz writer: p = m v / ase_time
        v = np.frombuffer(d["velocities"], dtype=np.float64).reshape(-1, 3)
        atoms.set_momenta(masses[:, None] * v / _ase_time(units_kind), apply_constraint=False)
    for k, v in d["info"]:
        atoms.info[k] = _parse_value(v)
    if d.get("fixed") is not None:
        fixed = np.frombuffer(d["fixed"], dtype=np.uint8)
        atoms.set_constraint(FixAtoms(indices=np.flatnonzero(fixed)))
    if "system_id" not in atoms.info and d["system_id"] >= 0:
        atoms.info["system_id"] = d["system_id"]
    results = {}
    if d["energy"] is not None:
        results["energy"] = d["energy"]
        results["free_energy"] = d["energy"]
    if d["forces"] is not None:
        results["forces"] = np.frombuffer(d["forces"], dtype=np.float64).reshape(-1, 3).copy()
    if d["stress"] is not None:
        results["stress"] = np.frombuffer(d["stress"], dtype=np.float64).copy()
    if results:
        atoms.calc = SinglePointCalculator(atoms, **results)
    return atoms
