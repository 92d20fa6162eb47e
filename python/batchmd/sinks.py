"""Sinks: where systems go as they leave a run (final, failed) or as
snapshots (SnapshotHook). Chain several by priority with a list: each
system goes to the first sink that is not full."""
import os

from . import _convert, _core


class Sink:
    units = "metal"

    def close(self):
        """Flushes and closes (a file sink takes nothing after)."""
        self._c.close()

    def flush(self):
        """Writes what the sink holds into its file (a run does it as it
        returns: its outputs are then complete on disk, the sink still open)."""
        self._c.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class HostMemory(Sink):
    """Holds systems in memory, at most `capacity` (<= 0: no limit); when
    full, a chain passes systems on to its next sink."""

    def __init__(self, capacity=0, units="metal"):
        self.capacity, self.units = int(capacity), units
        self._c = _core.sink_memory(self.capacity)

    def __len__(self):
        return self._c.count()

    def drain(self, max=-1):
        """Takes the held systems out, oldest first, as ase.Atoms."""
        return [_convert.dict_to_atoms(d, self.units) for d in self._c.drain(max)]

    def close(self):
        pass


class ExtXYZ(Sink):
    """An extended XYZ file (created or truncated now), written as `final` is."""

    def __init__(self, path, units="metal"):
        self.path, self.units = os.fspath(path), units
        self._c = _core.sink_extxyz(self.path, units)


class H5MD(Sink):
    """An H5MD file (docs/campaign.md, trajectory); `every`: the frame
    interval a SnapshotHook uses by default."""

    def __init__(self, path, every=100, units="metal"):
        self.path, self.every, self.units = os.fspath(path), int(every), units
        self._c = _core.sink_h5md(self.path, units)


class Chain(Sink):
    """Sinks by priority: each system to the first that is not full."""

    def __init__(self, sinks):
        self.sinks = [as_sink(s) for s in sinks]
        self._c = _core.sink_chain([s._c for s in self.sinks])

    def close(self):
        for s in self.sinks:
            s.close()

    def flush(self):
        for s in self.sinks:
            s.flush()


class Callback(Sink):
    """A Python callable called with each leaving system (an ase.Atoms)."""

    def __init__(self, fn, units="metal"):
        self.fn, self.units = fn, units
        self._c = _core.sink_python(lambda d: fn(_convert.dict_to_atoms(d, units)))

    def close(self):
        pass


def as_sink(s):
    if s is None or isinstance(s, Sink):
        return s
    if isinstance(s, (list, tuple)):
        return Chain(s)
    if isinstance(s, (str, os.PathLike)):
        return ExtXYZ(s)
    if callable(s):
        return Callback(s)
    raise TypeError(f"expected a sink (HostMemory, ExtXYZ, H5MD, a list of sinks, a path or a callable), "
                    f"not {type(s).__name__}")


def memory_atoms(sink):
    """The ase.Atoms a sink (or chain) holds in memory, drained."""
    if isinstance(sink, HostMemory):
        return sink.drain()
    if isinstance(sink, Chain):
        return [a for s in sink.sinks for a in memory_atoms(s)]
    return []
