"""A campaign as YAML text, for the C core's campaign reader.

The Python package composes its model, stages and settings as a campaign
mapping and hands it to the same reader `batchmd run` uses, so both accept
the same keys, ranges and defaults (docs/campaign.md)."""
import contextlib
import math
import numbers
import re

from . import _core


@contextlib.contextmanager
def reader_errors(name):
    """The campaign reader's errors about text written here (named `name`)
    without its line:column: the user never saw that text; the message
    still names the key (stages.md.dt: ...)."""
    try:
        yield
    except _core.BatchmdError as e:
        msg = re.sub(rf"^{re.escape(name)}:\d+:\d+: ", "", str(e))
        if msg == str(e):
            raise
        raise _core.BatchmdError(msg) from None


def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        x = float(v)
        if math.isnan(x):
            return ".nan"
        if math.isinf(x):
            return ".inf" if x > 0 else "-.inf"
        return repr(x)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    raise TypeError(f"{v!r} ({type(v).__name__}) cannot be a campaign value")


def _flow(value):
    """Flow-style YAML of a value (nested mappings and sequences allowed)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def dump(value):
    """A campaign mapping as YAML: one line per top-level key (so the
    reader's LINE names the key), each value in flow style."""
    if not isinstance(value, dict):
        raise TypeError("a campaign is a mapping")
    return "\n".join(f"{_scalar(str(k))}: {_flow(v)}" for k, v in value.items()) + "\n"
