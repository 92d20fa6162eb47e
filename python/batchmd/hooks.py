"""Hooks: callables run at the step loop's nine hook points.

A hook is any callable taking a ``Batch`` (the live batch as numpy arrays
without copies, valid during the call only), or an object with ``stage``
(a HookStageEnum), ``frequency`` (every how many loop steps) and
``__call__(batch)``. The built-in hooks of the command are available as
classes (LoggingHook, SnapshotHook, ConvergedSnapshotHook, NaNDetector,
ForceClamp, EnergyDrift); the one that needs no parameter also by name
("nan"). A name of one that needs parameters is refused with its class."""
import enum

import numpy as np

from . import _core

HookStageEnum = enum.IntFlag("HookStageEnum", _core.hook_points())
HookStageEnum.__doc__ = "The nine hook points of the step loop (dynamics.h)."


class Batch:
    """The live batch during one hook or model call.

    Arrays (numpy, no copies; valid only during the call): positions (n, 3)
    Å, velocities (n, 3) Å/fs, forces (n, 3) eV/Å, masses (n,) amu,
    numbers (n,) int32, system_index (n,) int32 (slot of each atom),
    atom_start / atom_count (s,) int32, cells (s, 3, 3) Å, pbc (s, 3) uint8,
    energies (s,) eV, stress (s, 6) eV/Å³ (Voigt xx yy zz yz xz xy, ASE's
    sign), status (s,) int32 (sub-stage index; -1 taken out), system_id (s,)
    int64, mask (s,) uint8 (systems concerned) or None."""

    _ARRAYS = ("positions", "velocities", "forces", "masses", "numbers", "system_index", "atom_start",
               "atom_count", "cells", "pbc", "energies", "stress", "status", "system_id", "forces_valid", "mask")

    def __init__(self, view):
        self._view = view

    def __getattr__(self, name):
        if name in Batch._ARRAYS:
            return self._view.array(name)
        raise AttributeError(name)

    @property
    def n_atoms(self):
        return self._view.sizes[0]

    @property
    def n_systems(self):
        return self._view.sizes[1]

    @property
    def point(self):
        """The HookStageEnum point being run."""
        return HookStageEnum(self._view.point)

    @property
    def step(self):
        return self._view.step

    @property
    def substage(self):
        return self._view.substage

    @property
    def atom_offsets(self):
        """(s + 1,) int64: atoms of slot k are atom_offsets[k]:atom_offsets[k + 1]."""
        start = self.atom_start
        out = np.empty(len(start) + 1, dtype=np.int64)
        out[:-1] = start
        out[-1] = self.n_atoms
        return out

    def info(self, slot, key):
        """The info value (text) of the structure in slot, or None."""
        return self._view.info(slot, key)

    def fail(self, slot, reason):
        """Takes the system in slot out (to failed, status=reason); the rest go on."""
        self._view.fail(slot, reason)


class Hook:
    """Base of hooks: stage (HookStageEnum, may be an OR of points), frequency."""

    stage = HookStageEnum.AFTER_STEP
    frequency = 1

    def __call__(self, batch):
        raise NotImplementedError

    def open(self):
        """Called when a run (or a `with` block) starts."""

    def close(self):
        """Called when it ends."""

    def _spec(self, stage_info):
        return ("python", lambda view: self(Batch(view)), int(self.stage), int(self.frequency))


class _Builtin(Hook):
    def __call__(self, batch):
        raise TypeError(f"{type(self).__name__} runs inside batchmd, not from Python")


class LoggingHook(_Builtin):
    """CSV rows (system_id, stage, step, energy, fmax, temperature) every
    `frequency` of a system's own steps, to `path` (docs/campaign.md, log)."""

    def __init__(self, path, frequency=10):
        self.path, self.frequency = str(path), int(frequency)

    def _spec(self, stage_info):
        return ("log", self.path, self.frequency)


class SnapshotHook(_Builtin):
    """Frames of every system every `frequency` of its own steps into a sink
    (H5MD for trajectories; HostMemory, ExtXYZ ...)."""

    def __init__(self, sink, frequency=None):
        self.sink = sink
        self.frequency = int(frequency if frequency is not None else getattr(sink, "every", 100))

    def _spec(self, stage_info):
        return ("snapshot", self.sink._c, self.frequency, stage_info["dts"])


class ConvergedSnapshotHook(_Builtin):
    """Each system into a sink as it leaves a sub-stage (last_only: the last)."""

    def __init__(self, sink, last_only=False):
        self.sink, self.last_only = sink, bool(last_only)

    def _spec(self, stage_info):
        return ("converged_snapshot", self.sink._c, int(self.last_only), stage_info["dts"])


class NaNDetector(_Builtin):
    """Takes out (status nan_or_inf) a system whose energy or forces are not finite."""

    def _spec(self, stage_info):
        return ("nan",)


class ForceClamp(_Builtin):
    """Caps each atom's force at fmax_clamp eV/Å; with fail_above, a system
    whose max force exceeds it is taken out (status force_blowup)."""

    def __init__(self, fmax_clamp=0.0, fail_above=0.0):
        self.fmax_clamp, self.fail_above = float(fmax_clamp), float(fail_above)
        if not (self.fmax_clamp > 0 or self.fail_above > 0):
            raise ValueError("ForceClamp: give fmax_clamp (eV/Å: forces capped at it) and/or fail_above (eV/Å: a "
                             "system over it is taken out); with neither it would do nothing")

    def _spec(self, stage_info):
        return ("fclamp", self.fmax_clamp, self.fail_above)


class EnergyDrift(_Builtin):
    """|E_total − E_total at entry| / N (eV/atom) of the systems of one
    sub-stage (-1: all); over max_drift (> 0) a system is taken out (energy_drift)."""

    def __init__(self, max_drift=0.0, frequency=1, substage=-1):
        self.max_drift, self.frequency, self.substage = float(max_drift), int(frequency), int(substage)
        if not self.max_drift > 0:
            raise ValueError("EnergyDrift: give max_drift (eV/atom) > 0, the drift over which a system is taken "
                             "out; without it the hook would do nothing (every NVE sub-stage's largest drift is "
                             "measured anyway: Result.stats['stages'][i]['max_drift_eV_per_atom'])")

    def _spec(self, stage_info):
        return ("drift", self.max_drift, self.frequency, self.substage)


# built-ins that need no parameter, by name; the others name their class
_BY_NAME = {"nan": NaNDetector, "nan_detector": NaNDetector}
_NEEDS_PARAMETERS = {"force_clamp": "ForceClamp(fmax_clamp=..., fail_above=...)",
                     "fclamp": "ForceClamp(fmax_clamp=..., fail_above=...)",
                     "energy_drift": "EnergyDrift(max_drift=...)", "drift": "EnergyDrift(max_drift=...)",
                     "log": "LoggingHook(path, frequency)", "snapshot": "SnapshotHook(sink, frequency)",
                     "converged_snapshot": "ConvergedSnapshotHook(sink)"}


def as_hook(h):
    """A Hook from a hook, a name of a built-in, or a callable."""
    if isinstance(h, Hook):
        return h
    if isinstance(h, str):
        if h in _NEEDS_PARAMETERS:
            raise ValueError(f"hook '{h}' needs parameters: use bmd.{_NEEDS_PARAMETERS[h]}")
        if h not in _BY_NAME:
            raise ValueError(f"unknown hook '{h}' (by name: {', '.join(sorted(_BY_NAME))}; with parameters: "
                             f"{', '.join(sorted(set(_NEEDS_PARAMETERS.values())))})")
        return _BY_NAME[h]()
    if callable(h):
        return _CallableHook(h)
    raise TypeError(f"a hook must be callable, a Hook or a built-in's name, not {type(h).__name__}")


class _CallableHook(Hook):
    def __init__(self, fn):
        self.fn = fn
        self.stage = HookStageEnum(int(getattr(fn, "stage", HookStageEnum.AFTER_STEP)))
        self.frequency = int(getattr(fn, "frequency", 1))
        self._open = getattr(fn, "open", None)
        self._close = getattr(fn, "close", None)

    def __call__(self, batch):
        return self.fn(batch)

    def open(self):
        if self._open:
            self._open()

    def close(self):
        if self._close:
            self._close()
