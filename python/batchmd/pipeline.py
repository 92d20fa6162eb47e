"""Pipelines over MPI ranks (`a | b`): Pipeline.run.

The script runs on every rank, as the command does under mpirun:

    mpirun -np 2 python3 script.py          # for relax | md

Every rank builds the same stages and calls the same `(relax | md).run(...)`;
rank r runs stage group r (`relax + anneal | md`: rank 0 relax + anneal,
rank 1 md) and hands the systems that leave it to rank r + 1. Rank 0 reads
the structures; the last rank writes `final` and `failed` (its Result
holds them; on the other ranks Result.final and Result.failed are empty).
The hooks of a group's stages run on that group's rank; hooks given to run()
run on every rank, each on its own batch. `log=` writes one file per rank
(log.csv -> log.rank0.csv, log.rank1.csv). Piped and fused runs of the same
stages give the same bits (the random numbers are keyed by a sub-stage's
place in the whole pipeline).

Before the run, rank 0 refuses the structures `batchmd run` refuses (a
per-structure parameter out of range for any stage of the chain, an
element or a non-finite position a group's model refuses, more atoms than
max_atoms, none), with the command's message naming the structure. Rank 0
checks against every group's model as rank 0 built it: build the same
models on every rank (as running the same script on every rank does).

A file sink (ExtXYZ, H5MD) is opened only by the rank that writes it (the
last for final and failed, a stage's rank for its hooks' sinks), as its
run starts: the other ranks, which make the same sink objects, leave no
file.

A setup error on one rank (an unreadable dataset or a refused structure on
rank 0, an unwritable `final` on the last) is raised there and, as "rank R
failed", on every other rank; an error during the run (a model or hook
raising) stops every rank within about a step. MPI is initialized by
batchmd at the first pipeline run (unless the script did it, e.g. with
mpi4py) and then finalized at interpreter exit."""
import os

from . import _core, _yaml, hooks as _hooks, sampler as _sampler, sinks as _sinks
from .dynamics import Result, campaign_mapping


def _sink_files(sink):
    """The files a sink writes."""
    if isinstance(sink, (_sinks.ExtXYZ, _sinks.H5MD)):
        return [sink._file]
    if isinstance(sink, _sinks.Chain):
        return [f for s in sink.sinks for f in _sink_files(s)]
    return []


def _given_files(given):
    """The files a final= or failed= argument names."""
    if isinstance(given, (str, os.PathLike)):
        return [os.path.abspath(given)]
    if isinstance(given, (list, tuple)):
        return [f for g in given for f in _given_files(g)]
    return _sink_files(given)


def _hook_files(hook):
    """The files a hook writes."""
    if isinstance(hook, _hooks.LoggingHook):
        return [os.path.abspath(hook.path)]
    sink = getattr(hook, "sink", None)
    return _sink_files(sink) if isinstance(sink, _sinks.Sink) else []


def _check(groups, run_hooks, final, failed):
    """What every rank refuses alike, before MPI starts."""
    names = [s.name for g in groups for s in g]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"stage name(s) {dup} used twice in the pipeline: give each stage a name=...")
    for i, g in enumerate(groups):
        if len({id(s.model) for s in g}) > 1:
            raise ValueError(f"the stages of group {i} ({' + '.join(s.name for s in g)}) share one model (one "
                             "evaluation per step): make them with the same model object")
    for h in run_hooks:
        files = _hook_files(h)
        if files:
            raise ValueError(f"hooks given to a pipeline's run() run on every rank, and {type(h).__name__} writes "
                             f"{files[0]}, which every rank would overwrite: give it to one stage's hooks= (it "
                             "then runs on that stage's rank), or use log= (one file per rank: log.rank1.csv)")
    owner = {f: len(groups) - 1 for f in _given_files(final) + _given_files(failed)}  # the last rank's
    for i, g in enumerate(groups):
        for s in g:
            for h in s.hooks:
                for f in _hook_files(h):
                    if owner.setdefault(f, i) != i:
                        raise ValueError(f"{f} is written on ranks {owner[f]} and {i} (by hooks of their stages, "
                                         f"or as final / failed on rank {len(groups) - 1}): give each rank its own "
                                         "file")


def run(pipeline, structures=None, *, sampler=None, seed=0, units=None, max_atoms=None, max_systems=None,
        refill_every=None, final=None, failed=None, hooks=(), ordered=False, log=None, log_every=10,
        quarantine=None, buffer_systems=None, buffer_atoms=None, comm=None):
    """Runs this rank's stage group of the pipeline (collective: every rank
    calls it with the same arguments); returns this rank's Result.

    The arguments are FusedStage.run's (the batch budget max_atoms,
    max_systems, refill_every applies to every rank's batch; final / failed
    are opened on the last rank only, so give paths or sinks there; the
    structures are read on rank 0 only), and the hand-over between ranks
    (docs/campaign.md, batch): buffer_systems, buffer_atoms (the most
    systems and atoms in one message; defaults 64 and 20000) and comm
    ("sync", "async_recv" (default) or "fully_async")."""
    groups = pipeline._groups()
    run_hooks = [_hooks.as_hook(h) for h in hooks]
    _check(groups, run_hooks, final, failed)
    units = units or getattr(groups[0][0].model, "units", "metal")
    structures, max_atoms, max_systems, refill_every = _sampler.resolve(structures, sampler, max_atoms, max_systems,
                                                                        refill_every)
    spec = campaign_mapping(groups, seed, units, max_atoms, max_systems, refill_every, ordered, log, log_every,
                            quarantine)
    batch = spec.setdefault("batch", {})
    buffer = {k: v for k, v in (("systems", buffer_systems), ("atoms", buffer_atoms)) if v is not None}
    if buffer:
        batch["buffer"] = buffer
    if comm is not None:
        batch["comm"] = comm
    if not batch:
        del spec["batch"]
    text = _yaml.dump(spec)

    rank, size = _core.pipeline_init(len(groups))
    last = rank == size - 1
    stages = groups[rank]
    model = stages[0].model
    mine = [h for s in stages for h in s.hooks] + run_hooks
    opened, ds, final_sink, failed_sink = [], None, None, None
    try:
        if rank == 0:
            ds = _sampler.make_dataset(structures, units)
        if last:
            final_sink = _sinks.as_sink(final) if final is not None else _sinks.HostMemory(0, units)
            failed_sink = _sinks.as_sink(failed) if failed is not None else _sinks.HostMemory(0, units)
        # rank 0 checks the structures against every group's model (one per group)
        checks = []
        for g in groups if rank == 0 else ():
            if all(g[0].model is not m for m, _ in checks):
                checks.append((g[0].model, " + ".join(s.name for s in g)))
        checks = [(m._c, label) for m, label in checks]
        dts = [(s.name, float(s.values.get("dt", dict((p[0], p[2]) for p in s.params).get("dt") or 0)))
               for s in stages if not s.is_optimizer and any(p[0] == "dt" for p in s.params)]
        specs = [h._spec({"dts": dts}) for h in mine]
        for h in mine:
            if getattr(h, "_held", 0):  # opened by a `with` block around the run
                continue
            h.open()
            opened.append(h)
        error = None
    except Exception as e:  # raised below, once every rank knows
        error = e
    try:
        bad = _core.pipeline_agree(error is None)
        if error is not None:
            raise error
        if bad >= 0:
            raise _core.BatchmdError(f"rank {bad} failed to set up the pipeline (see its message); "
                                     f"rank {rank} stops too")
        with _yaml.reader_errors("<batchmd.pipeline>"):
            stats = _core.run_pipeline(text, "<batchmd.pipeline>", os.getcwd(), model._c, ds,
                                       final_sink._c if final_sink is not None else None,
                                       failed_sink._c if failed_sink is not None else None,
                                       specs, checks)
    except BaseException:
        for sink, given in ((final_sink, final), (failed_sink, failed)):
            if sink is not None and _owned(given):
                sink.close()
        raise
    finally:
        # what this rank wrote is in the files when it returns (or raises),
        # though the user's sinks stay open
        for sink in [final_sink, failed_sink] + [h.sink for h in mine if getattr(h, "sink", None) is not None]:
            if sink is not None and getattr(sink, "_c", None) is not None:
                sink.flush()
        for h in opened:
            h.close()
    final_atoms = _sinks.memory_atoms(final_sink) if final_sink is not None else []
    failed_atoms = _sinks.memory_atoms(failed_sink) if failed_sink is not None else []
    for sink, given in ((final_sink, final), (failed_sink, failed)):
        if sink is not None and _owned(given):
            sink.close()
    return Result(final_atoms, failed_atoms, stats, rank=rank, is_last=last)


def _owned(given):
    """Whether run() made the sink for this final/failed argument (and closes it)."""
    return given is None or isinstance(given, (str, os.PathLike))
