"""batchmd models in ASE: `Calculator(model)` (an ASE calculator) and
`evaluate(structures, model)` (batched single points into Atoms)."""
import numpy as np
from ase.calculators.calculator import Calculator as _AseCalculator, all_changes
from ase.calculators.singlepoint import SinglePointCalculator

from . import _convert, _core, models as _models, sampler as _sampler


class Calculator(_AseCalculator):
    """An ASE calculator backed by any batchmd model (LJ, Morse, EAM, KIM,
    plug-ins, Python models): energy (eV), forces (eV/Å), stress (eV/Å³,
    Voigt, ASE's sign; periodic cells only) and per-atom energies (eV)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.model = _models.as_model(model)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        d = _convert.atoms_to_dict(self.atoms, None, self.model.units, single_point=True)
        per_atom = "energies" in properties
        energy, forces, virial, energies = _core.single_point(self.model._c, d, per_atom)
        self.results["energy"] = energy
        self.results["free_energy"] = energy
        self.results["forces"] = np.frombuffer(forces, dtype=np.float64).reshape(-1, 3).copy()
        if energies is not None:
            self.results["energies"] = np.frombuffer(energies, dtype=np.float64).copy()
        if "stress" in properties:
            w = np.frombuffer(virial, dtype=np.float64)
            if not self.atoms.pbc.all() or not np.all(np.isfinite(w)):
                from ase.calculators.calculator import PropertyNotImplementedError
                raise PropertyNotImplementedError(
                    "stress needs a periodic cell (all three axes) and a model that gives the virial")
            # W_ab = dE/dε_ab, stress = W / V (ASE's sign)
            self.results["stress"] = w / self.atoms.get_volume()


def evaluate(structures, model, max_atoms=50000, max_systems=1024):
    """Energy (eV), forces (eV/Å) and, for fully periodic cells, stress
    (eV/Å³) of every structure, batched; returns ase.Atoms in input order,
    each with a SinglePointCalculator holding them.

    A list of Atoms comes back as copies of its Atoms (info, constraints,
    tags and all kept as they are: a single point looks at none of them);
    the structures of a path or of a three-method dataset come back as
    batchmd reads them."""
    from ase import Atoms
    model = _models.as_model(model)
    units = model.units
    if isinstance(structures, Atoms):
        structures = [structures]
    originals = None
    if isinstance(structures, (list, tuple)) and all(isinstance(a, Atoms) for a in structures):
        originals = structures
        ds = _core.dataset_memory([_convert.atoms_to_dict(a, i, units, single_point=True)
                                   for i, a in enumerate(structures)])
    else:
        ds = _sampler.make_dataset(structures, units)
    out = [_convert.dict_to_atoms(d, units) for d in _core.evaluate(model._c, ds, int(max_atoms), int(max_systems))]
    if originals is None:
        return out
    kept = []
    for a, b in zip(originals, out):
        c = a.copy()
        c.calc = SinglePointCalculator(c, **b.calc.results)
        kept.append(c)
    return kept
