"""docs/python.md keeps up with the package: every public name of batchmd
(batchmd.__all__) and of batchmd.models, every hook point of
HookStageEnum (the C catalogue's), every keyword of FusedStage.run and of a
pipeline's run, every array of the Batch view, every declaration a
PythonModel reads and every parameter of every dynamics (the C catalogue's)
appear in it, as code (between backquotes); and the file names it links
exist. A name added to the package without a word in the docs fails here."""
import inspect
import os
import re

from pylib import SOURCE, Checks
import batchmd as bmd
from batchmd import pipeline

c = Checks()
with open(os.path.join(SOURCE, "docs", "python.md"), encoding="utf-8") as f:
    text = f.read()
FENCE = r"^[ \t]*```[a-z]*\n(.*?)^[ \t]*```"  # a code block, indented or not
fences = re.findall(FENCE, text, flags=re.S | re.M)
inline = re.findall(r"`([^`]+)`", re.sub(FENCE, "", text, flags=re.S | re.M))
code = " ".join(fences + inline)  # everything written as code
words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", code))


def documented(name, what):
    c.check(name in words, f"docs/python.md never writes `{name}` ({what}) as code")


for name in bmd.__all__:
    documented(name, "batchmd.__all__")
for name, obj in vars(bmd.models).items():
    if not name.startswith("_") and getattr(obj, "__module__", "") == "batchmd.models":
        documented(name, "batchmd.models")
for point in bmd.HookStageEnum:
    documented(point.name, "a hook point")
c.check(len(bmd.HookStageEnum) == 9, f"{len(bmd.HookStageEnum)} hook points, the docs describe nine")
for fn, what in ((bmd.FusedStage.run, "FusedStage.run"), (pipeline.run, "a pipeline's run")):
    for p in inspect.signature(fn).parameters:
        if p not in ("self", "pipeline"):
            documented(p, f"a keyword of {what}")
for name in bmd.Batch._ARRAYS + ("n_atoms", "n_systems", "point", "step", "substage", "atom_offsets", "info",
                                 "fail"):
    documented(name, "the Batch view")
for name in ("cutoff", "neighbors", "strict", "skin", "species", "outputs", "units", "name", "compute",
             "edge_index", "cell_shifts", "edge_offsets", "edge_vectors", "compute_forces", "compute_stress",
             "compute_energies"):
    documented(name, "the PythonModel protocol")
for name, cls in bmd._CLASSES.items():
    for p in cls.params:  # (an item of a list, stress_xx, is written as the list: stress)
        documented(p[0].rsplit("_", 1)[0] if p[6] == 5 else p[0], f"a parameter of {name}")
    for p in (("fmax", "etol", "max_steps") if cls.is_optimizer else ("steps",)):
        documented(p, f"a parameter of {name}")
for link in re.findall(r"\]\((\.\./[^)#]+)", text):
    path = os.path.normpath(os.path.join(SOURCE, "docs", link))
    c.check(os.path.exists(path), f"docs/python.md links {link}, which does not exist")
c.finish()
