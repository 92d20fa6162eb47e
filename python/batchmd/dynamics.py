"""Dynamics (integrators and optimizers), fused stages (`a + b`) and
pipelines (`a | b`), run inflight over a dataset.

Each class is one entry of batchmd's dynamics catalogue with the campaign's
parameters as keyword arguments (docs/campaign.md, stages): FIRE, FIRE2,
NVE, NVTLangevin, NVTNoseHoover. Optimizers take fmax (eV/Å), etol (eV) and
max_steps; MD takes steps and fix_com (True: the centre-of-mass momentum is
held at zero). Per-structure values come from atoms.info under the same
names (temperature=..., steps=...). Atoms with an ase.constraints.FixAtoms
are held fixed (the results keep it)."""
import numbers
import os
import re

import numpy as np

from . import _convert, _core, _yaml, hooks as _hooks, models as _models, sampler as _sampler, sinks as _sinks

# kinds of parameters (the C catalogue's bmd_param_kind)
_REAL, _WHOLE, _BOOL, _CHOICE, _MASK, _ITEM = range(6)


def _key(p):
    """The keyword of catalogue parameter p: its name, or for an item of a
    list ("stress_xx", kind _ITEM) the list's ("stress": [xx, yy, ...])."""
    return p[0].rsplit("_", 1)[0] if p[6] == _ITEM else p[0]

# the stage's own key of every MD stage (docs/campaign.md), as a catalogue row:
# (name, unit, default, doc, optional, group, kind, choices, expected)
_FIX_COM = ("fix_com", "", 0.0, "hold the centre-of-mass momentum at zero (N_f - 3)", 1, None, _BOOL, None,
            "true or false")


class Result:
    """What a run gives back: final and failed (lists of ase.Atoms, with
    the info keys `final` and `failed` get from the command) and stats.

    In a pipeline (`a | b` under mpirun) every rank gets its own Result:
    `rank` is the MPI rank, `is_last` whether it is the last one, which
    alone writes final and failed (elsewhere they are empty lists); stats
    are the rank's (stats["pipeline"]: totals over every rank). A fused run
    is rank 0 and last."""

    def __init__(self, final, failed, stats, rank=0, is_last=True):
        self.final, self.failed, self.stats = final, failed, stats
        self.rank, self.is_last = rank, is_last

    def __repr__(self):
        where = f"rank={self.rank}, " if self.rank or not self.is_last else ""
        return f"Result({where}final={len(self.final)} structures, failed={len(self.failed)}, stats={self.stats})"


class _Runnable:
    def __add__(self, other):
        return FusedStage(self._stages() + other._stages())

    def __or__(self, other):
        return Pipeline(self._groups() + other._groups())

    def __enter__(self):
        """Opens the hooks once for every run inside the `with` block (a run
        outside one opens and closes its hooks itself); leaving the block
        closes them and the sinks they write (a SnapshotHook's H5MD ...),
        as the seeds' dynamics do."""
        self._opened = [h for h in self._all_hooks() if not getattr(h, "_held", 0)]
        for h in self._opened:
            h.open()
            h._held = 1
        return self

    def __exit__(self, *exc):
        for h in getattr(self, "_opened", []):
            h._held = 0
            h.close()
            sink = getattr(h, "sink", None)
            if sink is not None:
                sink.close()
        self._opened = []


class Dynamics(_Runnable):
    """One sub-stage: a dynamics type with its parameters.

    model: a batchmd model, or a function or object models.as_model takes
    (a Python model, see models.PythonModel); every sub-stage of a fused
    stage must share it;
    name: the stage's name (default: its type), used in info keys
    (steps_NAME, converged_NAME) and the log; hooks: see batchmd.hooks."""

    type = None
    is_optimizer = False
    params = ()

    def __init__(self, model, name=None, hooks=(), **kwargs):
        self.model = _models.as_model(model)
        self.name = name or self.type
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", self.name):
            raise ValueError(f"{type(self).__name__}: name {self.name!r}: a stage name is 1 to 32 letters, digits, "
                             "'_' or '-' (as in a campaign; it names the info keys steps_NAME, converged_NAME)")
        self.hooks = [_hooks.as_hook(h) for h in hooks]
        plain = {_key(p): p for p in self.params if p[5] is None}
        if not self.is_optimizer:
            plain["fix_com"] = _FIX_COM
        groups = {p[5] for p in self.params if p[5] is not None}
        known = set(plain) | groups | ({"fmax", "etol", "max_steps"} if self.is_optimizer else {"steps"})
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown parameter(s) {', '.join(unknown)} "
                            f"(expected: {', '.join(sorted(known))})")
        for k, v in kwargs.items():
            if k in groups:
                members = {_key(p): p for p in self.params if p[5] == k}
                if not isinstance(v, dict) or set(v) - set(members):
                    raise TypeError(f"{type(self).__name__}: {k} must be a dict with keys among "
                                    f"{', '.join(members)}, not {v!r}")
                for name, x in v.items():
                    _check_value(type(self).__name__, f"{k}.{name}", members[name], x)
            else:
                _check_value(type(self).__name__, k, plain.get(k), v)
        self.values = {k: bool(v) if isinstance(v, np.bool_) else v for k, v in kwargs.items()}

    def _stages(self):
        return [self]

    def _groups(self):
        return [[self]]

    def _all_hooks(self):
        return list(self.hooks)

    def run(self, structures=None, **kwargs):
        return FusedStage([self]).run(structures, **kwargs)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        return f"{type(self).__name__}(name={self.name!r}{', ' if args else ''}{args})"


def _check_value(cls, key, p, v):
    """A keyword argument's type, by the kind of its parameter p (None:
    a convergence key, a number); the campaign reader checks the range."""
    kind = p[6] if p else _REAL
    if kind == _BOOL:
        ok = isinstance(v, (bool, np.bool_))
    elif kind == _CHOICE:
        ok = isinstance(v, str)
    elif kind == _MASK:
        ok = isinstance(v, (list, tuple)) and all(isinstance(x, (str, numbers.Integral)) for x in v)
    elif kind == _ITEM:
        ok = (isinstance(v, (list, tuple)) and len(v) == len(p[7].split("|")) and
              all(not isinstance(x, (bool, np.bool_)) and isinstance(x, numbers.Real) for x in v))
    else:
        ok = not isinstance(v, (bool, np.bool_)) and isinstance(v, numbers.Real)  # numpy numbers too
    if not ok:
        choices = (p[7] or "") if p else ""
        want = {_BOOL: "True or False", _CHOICE: f"one of {choices}",
                _MASK: f"a list of components ({choices}) or of 0/1",
                _ITEM: f"a list of numbers ({choices.replace('|', ', ')})"}.get(kind, "a number")
        raise TypeError(f"{cls}: {key} must be {want}, not {type(v).__name__}")


def _make_class(row):
    type_name, doc, is_opt, dof, params, cls_name = row
    cls_name = cls_name or "".join(p.capitalize() for p in type_name.split("_"))
    lines = [doc, "", "Parameters (campaign names and units):"]
    seen = set()
    for p in params:
        name, unit, default, pdoc, optional, group, kind, choices, expected = p
        name = _key(p)
        if (group, name) in seen:  # (a list's items: one line)
            continue
        seen.add((group, name))
        d = "required" if default is None and not optional else ("optional" if default is None else f"default {default:g}")
        key = f"{group}={{'{name}': ...}}" if group else name
        lines.append(f"  {key} ({unit or '-'}; {d}): {pdoc}" + (f" ({choices})" if choices else ""))
    lines.append("  fmax (eV/Å), etol (eV), max_steps" if is_opt else
                 "  steps: how many steps each system takes\n"
                 "  fix_com (default False): hold the centre-of-mass momentum at zero (N_f - 3)")
    return cls_name, type(cls_name, (Dynamics,), {"type": type_name, "is_optimizer": bool(is_opt),
                                                   "params": tuple(params), "__doc__": "\n".join(lines)})


CLASSES = dict(_make_class(row) for row in _core.dynamics_types())


class FusedStage(_Runnable):
    """Sub-stages fused on one batch (`a + b`): one model evaluation per step
    for every live system; a system moves to the next sub-stage when it
    converges (optimizers) or has taken its steps (MD)."""

    def __init__(self, stages):
        self.stages = list(stages)
        names = [s.name for s in self.stages]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"stage name(s) {dup} used twice: give each stage a name=...")
        models = {id(s.model) for s in self.stages}
        if len(models) > 1:
            raise ValueError("the stages of a fused stage share one model (one evaluation per step): "
                             "make them with the same model object")

    def _stages(self):
        return list(self.stages)

    def _groups(self):
        return [list(self.stages)]

    def _all_hooks(self):
        return [h for s in self.stages for h in s.hooks]

    @property
    def model(self):
        return self.stages[0].model

    def run(self, structures=None, *, sampler=None, seed=0, units=None, max_atoms=None, max_systems=None,
            refill_every=None, final=None, failed=None, hooks=(), ordered=False, log=None, log_every=10,
            quarantine=None):
        """Runs every structure through the stages; returns a Result.

        structures: a dataset (list of Atoms, extxyz path/dir/glob, or an
        object with __len__/__getitem__/get_metadata), or give sampler=
        SizeAwareSampler(dataset, max_atoms, max_systems). final / failed:
        sinks (default: in memory, returned in Result.final / .failed).
        log: a CSV path as the campaign's output.log. quarantine: the
        campaign's quarantine mapping (max_force, min_distance, max_neighbors)."""
        return _run_groups([self.stages], 0, structures, sampler, seed, units, max_atoms, max_systems,
                           refill_every, final, failed, list(hooks), ordered, log, log_every, quarantine)

    def __repr__(self):
        return " + ".join(repr(s) for s in self.stages)


class Pipeline(_Runnable):
    """Stage groups on MPI ranks (`a | b`): run the script with
    `mpirun -np N python3 script.py` (N groups); each rank runs its group,
    rank 0 reads the structures, the last rank's Result holds final and
    failed (batchmd.pipeline)."""

    def __init__(self, groups):
        self.groups = [list(g) for g in groups]

    def _stages(self):
        raise TypeError("a pipeline cannot be fused with '+': fuse the stages first, then join with '|'")

    def _groups(self):
        return [list(g) for g in self.groups]

    def _all_hooks(self):
        return [h for g in self.groups for s in g for h in s.hooks]

    def run(self, structures=None, **kwargs):
        from . import pipeline
        return pipeline.run(self, structures, **kwargs)


def campaign_mapping(groups, seed, units, max_atoms, max_systems, refill_every, ordered, log, log_every,
                     quarantine):
    """The campaign mapping (stages, pipeline, batch, output, quarantine) of stage groups."""
    stages = {}
    for g in groups:
        for s in g:
            entry = {"type": s.type}
            entry.update(s.values)
            stages[s.name] = entry
    spec = {"units": units, "seed": int(seed), "stages": stages,
            "pipeline": " | ".join(" + ".join(s.name for s in g) for g in groups)}
    batch = {k: v for k, v in (("max_atoms", max_atoms), ("max_systems", max_systems),
                               ("refill_every", refill_every)) if v is not None}
    if batch:
        spec["batch"] = batch
    output = {}
    if ordered:
        output["ordered"] = True
    if log is not None:
        output["log"] = {"file": os.path.abspath(os.fspath(log)), "every": int(log_every)}
    if output:
        spec["output"] = output
    if quarantine:
        spec["quarantine"] = dict(quarantine)
    return spec


def _run_groups(groups, group, structures, sampler, seed, units, max_atoms, max_systems, refill_every, final,
                failed, hooks, ordered, log, log_every, quarantine):
    stages = groups[group]
    model = stages[0].model
    units = units or getattr(model, "units", "metal")
    structures, max_atoms, max_systems, refill_every = _sampler.resolve(structures, sampler, max_atoms, max_systems,
                                                                        refill_every)
    spec = campaign_mapping(groups, seed, units, max_atoms, max_systems, refill_every, ordered, log, log_every,
                            quarantine)
    text = _yaml.dump(spec)
    ds = _sampler.make_dataset(structures, units)
    final_sink = _sinks.as_sink(final) if final is not None else _sinks.HostMemory(0, units)
    failed_sink = _sinks.as_sink(failed) if failed is not None else _sinks.HostMemory(0, units)
    all_hooks = [h for s in stages for h in s.hooks] + [_hooks.as_hook(h) for h in hooks]
    dts = [(s.name, float(s.values.get("dt", dict((p[0], p[2]) for p in s.params).get("dt") or 0)))
           for s in stages if not s.is_optimizer and any(p[0] == "dt" for p in s.params)]
    specs = [h._spec({"dts": dts}) for h in all_hooks]
    own = [h for h in all_hooks if not getattr(h, "_held", 0)]  # not opened by a `with` block
    for h in own:
        h.open()
    try:
        with _yaml.reader_errors("<batchmd.run>"):
            stats = _core.run(text, "<batchmd.run>", os.getcwd(), model._c, ds, final_sink._c, failed_sink._c,
                              specs, group)
    finally:
        # what the run wrote is in the files when it returns (or raises),
        # though the user's sinks stay open for another run
        for s in [final_sink, failed_sink] + [h.sink for h in all_hooks if getattr(h, "sink", None) is not None]:
            s.flush()
        for h in own:
            h.close()
    final_atoms = _sinks.memory_atoms(final_sink)
    failed_atoms = _sinks.memory_atoms(failed_sink)
    if final is None:
        final_sink.close()
    if failed is None:
        failed_sink.close()
    return Result(final_atoms, failed_atoms, stats)
