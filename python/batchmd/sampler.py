"""Datasets and the size-aware sampler of inflight batching.

A dataset is a list of ase.Atoms, an extended XYZ path / directory / glob
(or a list of them), or any object with the seeds' three methods:
``__len__``, ``__getitem__(i) -> Atoms`` and ``get_metadata(i) ->
(num_atoms, num_edges)`` (num_edges may be None or -1: unknown). Structure i
is system_id i. The sampler admits structures while they fit the live
batch's budget (max_atoms, max_systems): the next in order when it fits,
else the largest remaining that fits, never starving a large one (flow.h)."""
import glob
import os

from ase import Atoms

from . import _convert, _core


def _expand(path):
    p = os.fspath(path)
    if os.path.isdir(p):
        files = sorted(f for f in glob.glob(os.path.join(p, "*")) if f.endswith((".extxyz", ".xyz")))
        if not files:
            raise FileNotFoundError(f"{p}: no .extxyz or .xyz files in the directory")
        return files
    if any(c in p for c in "*?["):
        files = sorted(glob.glob(p))
        if not files:
            raise FileNotFoundError(f"{p}: the glob matches no file")
        return files
    if not os.path.exists(p):
        raise FileNotFoundError(f"{p}: no such file")
    return [p]


def make_dataset(dataset, units="metal"):
    """The C dataset of anything a dataset may be."""
    if isinstance(dataset, _core.Dataset):
        return dataset
    if isinstance(dataset, (str, os.PathLike)):
        return _core.dataset_extxyz(_expand(dataset), units)
    if isinstance(dataset, Atoms):
        dataset = [dataset]
    if isinstance(dataset, (list, tuple)):
        if dataset and all(isinstance(p, (str, os.PathLike)) for p in dataset):
            return _core.dataset_extxyz([f for p in dataset for f in _expand(p)], units)
        return _core.dataset_memory([_convert.atoms_to_dict(a, i, units) for i, a in enumerate(dataset)])
    if all(hasattr(dataset, m) for m in ("__len__", "__getitem__", "get_metadata")):
        return _python_dataset(dataset, units)
    raise TypeError("a dataset is a list of ase.Atoms, an extxyz path/directory/glob, or an object with "
                    f"__len__, __getitem__ and get_metadata; got {type(dataset).__name__}")


def _python_dataset(ds, units):
    def get(i):
        return _convert.atoms_to_dict(ds[i], i, units)

    def meta(i):
        m = ds.get_metadata(i)
        atoms, edges = (m[0], m[1]) if isinstance(m, (tuple, list)) else (m, -1)
        return int(atoms), -1 if edges is None else int(edges)

    return _core.dataset_python(len(ds), get, meta)


class SizeAwareSampler:
    """A dataset with the live batch's budget: at most max_atoms atoms and
    max_systems systems at once, refill_every batch steps between refills
    (each a whole number >= 1; defaults: the campaign's batch defaults)."""

    def __init__(self, dataset, max_atoms=50000, max_systems=1024, refill_every=5, max_edges=None):
        if max_edges is not None:
            raise ValueError("max_edges: batchmd budgets atoms and systems (max_atoms, max_systems); "
                             "an edge budget is not supported")
        self.dataset = dataset
        self.max_atoms, self.max_systems, self.refill_every = int(max_atoms), int(max_systems), int(refill_every)

    def __len__(self):
        return len(self.dataset)


def resolve(structures, sampler, max_atoms, max_systems, refill_every):
    """What a run reads and its budget: the structures, or a sampler's
    dataset and budget (given as sampler= or in the structures' place);
    a budget given to run() wins over the sampler's. Returns (structures,
    max_atoms, max_systems, refill_every)."""
    if isinstance(structures, SizeAwareSampler) and sampler is None:  # run(SizeAwareSampler(...))
        sampler, structures = structures, None
    if sampler is not None:
        if structures is not None:
            raise ValueError("give the structures or a sampler, not both")
        structures = sampler.dataset
        max_atoms = sampler.max_atoms if max_atoms is None else max_atoms
        max_systems = sampler.max_systems if max_systems is None else max_systems
        refill_every = sampler.refill_every if refill_every is None else refill_every
    if structures is None:
        raise ValueError("nothing to run: give structures or sampler=SizeAwareSampler(dataset, ...)")
    return structures, max_atoms, max_systems, refill_every
