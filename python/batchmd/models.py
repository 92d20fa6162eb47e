"""Interatomic models: batchmd's built-in ones (the campaign's `model:`
types, with the same keys) and Python models (PythonModel, ASECalculator).

Every model is evaluated once per step for every live system of a batch.
Units (metal): Å, eV, eV/Å; lj units: σ, ε (docs/campaign.md)."""
import os
import weakref
from collections.abc import Mapping

import numpy as np

from . import _core, _yaml
from .hooks import Batch


class Model:
    """A batchmd model. ``spec`` is the campaign's ``model:`` mapping."""

    def __init__(self, spec, units="metal", base_dir="."):
        self.spec = dict(spec)
        self.units = units
        text = _yaml.dump({"units": units, "model": self.spec})
        name = f"<{type(self).__name__}>"
        with _yaml.reader_errors(name):
            self._c = _core.model_from_yaml(text, name, os.path.abspath(base_dir))

    @property
    def cutoff(self):
        """Largest interaction range (Å; σ in lj units)."""
        return self._c.cutoff()

    @property
    def type(self):
        return self._c.type()

    def list_builds(self):
        """Neighbor-list builds so far, summed over systems (-1: the model keeps none)."""
        return self._c.list_builds()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.spec.items() if k != "type")
        return f"{type(self).__name__}({args})"


def _pair_spec(kind, kwargs, names):
    spec = {"type": kind}
    pairs = kwargs.pop("pairs", None)
    for k in names + ("cutoff", "shift", "skin"):
        if k in kwargs:
            spec[k] = kwargs.pop(k)
    if pairs is not None:
        spec["pairs"] = pairs
    if kwargs:
        raise TypeError(f"unknown argument(s) {sorted(kwargs)} (expected {', '.join(names)}, cutoff, shift, skin, pairs)")
    return spec


class LennardJones(Model):
    """φ(r) = 4ε[(σ/r)¹² − (σ/r)⁶] (shifted to 0 at the cutoff when shift=True).

    epsilon (eV), sigma (Å), cutoff (Å), shift, skin (Å, Verlet skin), or
    pairs=[{species: [Ar, Ar], epsilon, sigma, cutoff}, ...]."""

    def __init__(self, units="metal", **kwargs):
        super().__init__(_pair_spec("lj", kwargs, ("epsilon", "sigma")), units)


class Morse(Model):
    """φ(r) = D0[e^{−2α(r−r0)} − 2e^{−α(r−r0)}]: D0 (eV), alpha (1/Å), r0 (Å), cutoff (Å)."""

    def __init__(self, units="metal", **kwargs):
        super().__init__(_pair_spec("morse", kwargs, ("D0", "alpha", "r0")), units)


class EAM(Model):
    """Embedded-atom method from LAMMPS potential files: file (setfl/funcfl
    path or a list of funcfl paths), style (eam, eam/alloy, eam/fs; default
    from the name), skin (Å)."""

    def __init__(self, file, style=None, skin=None):
        spec = {"type": "eam", "file": list(file) if isinstance(file, (list, tuple)) else file}
        if style is not None:
            spec["style"] = style
        if skin is not None:
            spec["skin"] = skin
        super().__init__(spec, "metal")


class KIM(Model):
    """An OpenKIM model by its full name (kim-api-collections-management list)."""

    def __init__(self, name, skin=None):
        spec = {"type": "kim", "name": name}
        if skin is not None:
            spec["skin"] = skin
        super().__init__(spec, "metal")


class Plugin(Model):
    """A plug-in shared library (include/batchmd/model_plugin.h) with its params."""

    def __init__(self, path, **params):
        spec = {"type": "plugin", "path": os.path.abspath(path) if os.sep in path else path}
        if params:
            spec["params"] = {k: str(v) for k, v in params.items()}
        super().__init__(spec, "metal")


# ---- Python models (python/src/bridge.c) ----

class ModelBatch(Batch):
    """The live batch as a Python model sees it (a Batch: the arrays listed
    there, read-only, valid only during the call), plus:

    mask (s,) uint8 or None: the systems to evaluate this call (None: all);
    the model's outputs are taken for these systems only.
    compute_forces, compute_stress, compute_energies (bool): whether forces,
    stress (or virial) and per-atom energies are wanted this call.
    With neighbors="full" or "half" (the model's declaration):
    edge_index (2, E) int64: row 0 the centres i, row 1 the partners j,
    global atom indices of the batch (never two systems in one edge);
    cell_shifts (E, 3) int64: the integer lattice image S of each edge, so
    that r_ij = positions[j] - positions[i] + S @ cells[system_index[i]]
    (ASE's neighbor_list('ijS') convention; 0 along non-periodic axes);
    edge_offsets (s + 1,) int64: the edges of system k are
    edge_offsets[k]:edge_offsets[k + 1] (none for systems not in mask).
    Within a system edges are sorted by i, j, S."""

    _EDGES = ("edge_index", "cell_shifts", "edge_offsets")

    def __init__(self, view, edges, compute_forces, compute_stress, compute_energies):
        super().__init__(view)
        if edges is not None:
            self.edge_index, self.cell_shifts, self.edge_offsets = edges
        self.compute_forces = compute_forces
        self.compute_stress = compute_stress
        self.compute_energies = compute_energies

    def __getattr__(self, name):
        if name in ModelBatch._EDGES:
            raise AttributeError(f"{name}: this model asks for no neighbors (declare neighbors = 'full' or 'half' "
                                 "and a cutoff)")
        return super().__getattr__(name)

    def edge_vectors(self):
        """(E, 3) float64 r_ij = positions[j] - positions[i] + S @ cell, Å."""
        i, j = self.edge_index
        cells = self.cells[self.system_index[i]]
        pos = self.positions
        return pos[j] - pos[i] + np.einsum("ek,ekl->el", self.cell_shifts.astype(np.float64), cells)


def _as_output(v):
    """An output value as a C-contiguous numpy array, its dtype kept (torch
    tensors: detached, moved to the CPU)."""
    if not isinstance(v, np.ndarray) and hasattr(v, "detach") and hasattr(v, "cpu"):
        v = v.detach().cpu().numpy()
    v = np.asarray(v)
    return v if v.flags.c_contiguous else np.ascontiguousarray(v)


def _bridge_call(fn, view, edges, compute_forces, compute_stress, compute_energies):
    """Called by bridge.c once per evaluation, with the GIL held."""
    out = fn(ModelBatch(view, edges, compute_forces, compute_stress, compute_energies))
    if isinstance(out, Mapping):
        return {k: _as_output(v) for k, v in out.items()}
    return out


class PythonModel(Model):
    """A model written in Python, the force field of a live batch: batchmd
    calls compute(batch) ONCE per model evaluation with every system that
    needs it (the whole live batch, see batch.mask), not once per system.

    Subclass it and implement compute(self, batch); declare (class or
    instance attributes, read when the model is first used in a run and
    again whenever one of them changes):

      cutoff     Å: the interaction range (0 for a model without neighbors)
      neighbors  None: no edges; "full": both (i, j, S) and (j, i, -S) of
                 every pair; "half": each unordered pair once (i < j; for an
                 atom and its own periodic image the S whose first nonzero
                 component is positive)
      strict     True (default): the edges are exactly the pairs with
                 r < cutoff; False: every pair of the Verlet list, i.e.
                 r < cutoff + skin when the list was last built (the model
                 masks by distance itself; edges change only on rebuilds)
      skin       Å (default 0.5): Verlet skin of the candidate lists, rebuilt
                 only when the two largest displacements since the last
                 build add up to more than the skin (a cell change's strain
                 counts too)
      species    None (default): every element; else a list of symbols or
                 atomic numbers: a structure with another element is refused
                 by the model's check (the input check before a run,
                 Calculator), with a message naming the element
      outputs    what compute gives, among "energy", "forces" (both
                 required), "stress" (or "virial") and "energies"; default
                 ("energy", "forces")
      units      "metal" (default; Å, eV, eV/Å) or "lj"
      name       how messages name the model (default: its class's name)

    A plain function with those attributes works as well (it is wrapped:
    batchmd.models.as_model); any stage, Calculator and evaluate take it.

    compute(batch) receives a batchmd.models.ModelBatch (a batchmd.Batch):
    positions (n, 3) Å, numbers (n,) int32, masses (n,) amu, system_index
    (n,) int32, atom_start / atom_count (s,) int32, cells (s, 3, 3) Å (rows
    a, b, c), pbc (s, 3) uint8, system_id (s,) int64, mask (s,) uint8 or
    None (None: every system), compute_forces / compute_stress /
    compute_energies (bool), and with neighbors: edge_index (2, E) int64
    (global atom indices), cell_shifts (E, 3) int64 (integer lattice images:
    r_ij = positions[j] - positions[i] + cell_shifts @ cell), edge_offsets
    (s + 1,) int64 (system k's edges: edge_offsets[k]:edge_offsets[k+1]);
    batch.edge_vectors() computes r_ij. The arrays are numpy arrays over
    batchmd's own memory, read-only, valid only during the call (copy what
    you keep); torch.from_numpy takes them without a copy (and warns once
    that they are not writable: do not write into them).

    It returns a dict (extra keys are refused):
      "energy"   (s,) eV, potential energy per system     [required when asked:
                 every evaluation but the stress-only one of systems leaving]
      "forces"   (n, 3) eV/Å                      [required when compute_forces]
      "stress"   (s, 3, 3) or (s, 6) Voigt xx yy zz yz xz xy, eV/Å³, ASE's
                 sign (converted to the virial W = stress * volume; no
                 volume: none; a 3x3 is symmetrised), or
      "virial"   (s, 6) eV, W = dE/dε (stress = W / volume)
                                [when compute_stress and "stress" is declared]
      "energies" (n,) eV per atom           [when compute_energies, if declared]
    Values are numpy arrays, torch tensors (detached and moved to the CPU
    by batchmd) or anything numpy.asarray takes; float64 only. Only the
    entries of the systems in mask are used. A wrong shape or dtype, a
    missing key or an unknown one stops the run with an error naming the key
    and the expected shape; an exception raised by compute stops the run and
    is re-raised by run() with its traceback; a NaN or infinite energy or
    force of one system takes that system out (status nan_or_inf, in
    result.failed) and the others go on. A declared stress that is NaN for a
    system gives that system no stress.

    Threading: batchmd runs with the GIL released (the neighbor edges are
    built in C on OpenMP threads) and takes it only for the call to compute;
    other Python threads run meanwhile. compute is called from the thread
    that called run(). Ctrl-C during a run (compute included) stops the run
    after the current step, every output complete, then raises
    KeyboardInterrupt; compute itself is not interrupted."""

    cutoff = 0.0
    neighbors = None
    strict = True
    skin = 0.5
    species = None
    outputs = ("energy", "forces")
    units = "metal"

    def __init__(self):
        pass

    def compute(self, batch):
        raise NotImplementedError(f"{type(self).__name__}.compute(batch) returns "
                                  "{'energy': (n_systems,), 'forces': (n_atoms, 3), ...}")

    def _declaration(self):
        def frozen(v):
            return tuple(v) if isinstance(v, (list, tuple)) else v
        return tuple(frozen(getattr(self, k)) for k in ("cutoff", "neighbors", "strict", "skin", "species",
                                                         "outputs", "units"))

    @property
    def _c(self):
        key = self._declaration()
        held = self.__dict__.get("_bmd_core")
        if held is None or held[0] != key:
            held = (key, _core.python_model(self))
            self.__dict__["_bmd_core"] = held
        return held[1]

    @property
    def type(self):
        return "python"

    def list_builds(self):
        """Verlet-list builds of the neighbor edges so far (-1: no neighbors)."""
        return _core.edge_builds(self._c)

    def __repr__(self):
        return f"{type(self).__name__}(cutoff={self.cutoff!r}, neighbors={self.neighbors!r})"


class _Wrapped(PythonModel):
    """A function (or an object with compute) with PythonModel's attributes."""

    def __init__(self, obj):
        self.obj = obj
        self.name = getattr(obj, "name", None) or getattr(obj, "__qualname__", None) or type(obj).__name__

    def compute(self, batch):
        f = getattr(self.obj, "compute", None)
        return f(batch) if callable(f) else self.obj(batch)

    def __repr__(self):
        return f"as_model({self.obj!r})"


for _name in ("cutoff", "neighbors", "strict", "skin", "species", "outputs", "units"):
    setattr(_Wrapped, _name, property(lambda self, n=_name: getattr(self.obj, n, getattr(PythonModel, n))))

_WRAPPED = weakref.WeakValueDictionary()  # id(obj) -> its wrapper (which keeps obj alive)


def as_model(obj):
    """A batchmd model from a Model, or from a function / an object with
    compute(batch) and PythonModel's attributes (the same wrapper each time
    for the same object, so `FIRE(f) + NVE(f)` share one model)."""
    if isinstance(obj, Model):
        return obj
    if callable(obj) or callable(getattr(obj, "compute", None)):
        w = _WRAPPED.get(id(obj))
        if w is None or w.obj is not obj:
            w = _Wrapped(obj)
            _WRAPPED[id(obj)] = w
        return w
    raise TypeError(f"a model must be a batchmd model, a function or an object with compute(batch), "
                    f"not {type(obj).__name__}")


class ASECalculator(PythonModel):
    """Any ASE calculator as a batchmd model: each system of the batch is
    evaluated by calc, one at a time (slow, but it opens whatever ASE can
    compute, e.g. ase.calculators.emt.EMT) inside batchmd's flow (fused
    stages, inflight batching, sinks, quarantine). Energy (eV), forces
    (eV/Å), stress (eV/Å³, fully periodic systems, when the calculator
    implements it) and per-atom energies (when implemented). Metal units.

    The calculator sees an ase.Atoms with the system's numbers, positions,
    masses, cell and pbc (no velocities, tags or info)."""

    units = "metal"

    def __init__(self, calc):
        self.calc = calc
        props = set(getattr(calc, "implemented_properties", ()))
        self.outputs = ("energy", "forces") + (("stress",) if "stress" in props else ()) + \
            (("energies",) if "energies" in props else ())

    def compute(self, batch):
        from ase import Atoms
        ns, na = batch.n_systems, batch.n_atoms
        energy = np.full(ns, np.nan)
        forces = np.full((na, 3), np.nan)
        want_stress = batch.compute_stress and "stress" in self.outputs
        want_energies = batch.compute_energies and "energies" in self.outputs
        stress = np.full((ns, 6), np.nan) if want_stress else None
        energies = np.full(na, np.nan) if want_energies else None
        mask, pos, numbers, masses = batch.mask, batch.positions, batch.numbers, batch.masses
        cells, pbc, start, count = batch.cells, batch.pbc, batch.atom_start, batch.atom_count
        for s in range(ns):
            if mask is not None and not mask[s]:
                continue
            a, n = int(start[s]), int(count[s])
            atoms = Atoms(numbers=numbers[a:a + n], positions=pos[a:a + n], masses=masses[a:a + n],
                          cell=cells[s], pbc=pbc[s].astype(bool))
            atoms.calc = self.calc
            energy[s] = atoms.get_potential_energy()
            forces[a:a + n] = atoms.get_forces()
            if want_stress and atoms.pbc.all():
                stress[s] = atoms.get_stress(voigt=True)
            if want_energies:
                energies[a:a + n] = atoms.get_potential_energies()
        out = {"energy": energy, "forces": forces}
        if stress is not None:
            out["stress"] = stress
        if energies is not None:
            out["energies"] = energies
        return out

    def __repr__(self):
        return f"ASECalculator({self.calc!r})"
