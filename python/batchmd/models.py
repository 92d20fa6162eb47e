"""Interatomic models: batchmd's built-in ones (the campaign's `model:`
types, with the same keys) and Python models (PythonModel, ASECalculator).

Every model is evaluated once per step for every live system of a batch.
Units (metal): Å, eV, eV/Å; lj units: σ, ε (docs/campaign.md)."""
import os

from . import _core, _yaml


class Model:
    """A batchmd model. ``spec`` is the campaign's ``model:`` mapping."""

    def __init__(self, spec, units="metal", base_dir="."):
        self.spec = dict(spec)
        self.units = units
        text = _yaml.dump({"units": units, "model": self.spec})
        self._c = _core.model_from_yaml(text, f"<{type(self).__name__}>", os.path.abspath(base_dir))

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
