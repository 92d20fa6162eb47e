"""A campaign as YAML text, for the C core's campaign reader.

The Python package composes its model, stages and settings as a campaign
mapping and hands it to the same reader `batchmd run` uses, so both accept
the same keys, ranges and defaults (docs/campaign.md)."""
import math
import numbers


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


def dump(value, indent=0):
    """Block-style YAML of nested dicts/lists of scalars."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            if isinstance(v, (dict, list, tuple)) and v:
                lines.append(f"{pad}{_scalar(str(k))}:")
                lines.append(dump(v, indent + 1))
            elif isinstance(v, dict):
                lines.append(f"{pad}{_scalar(str(k))}: {{}}")
            elif isinstance(v, (list, tuple)):
                lines.append(f"{pad}{_scalar(str(k))}: []")
            else:
                lines.append(f"{pad}{_scalar(str(k))}: {_scalar(v)}")
        return "\n".join(lines)
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            if isinstance(v, (dict, list, tuple)):
                raise TypeError("nested sequences are not campaign values")
            out.append(f"{pad}- {_scalar(v)}")
        return "\n".join(out)
    return pad + _scalar(value)
