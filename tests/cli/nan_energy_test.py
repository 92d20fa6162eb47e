#!/usr/bin/python3
"""nan_energy_test.py — a model that returns a non-finite energy with finite
forces (tests/plugins/plugin_faulty.c with {fail: energy}: NaN for a system
with hydrogen and helium, +Inf for helium alone, zero forces everywhere)
has those systems quarantined with status nan_or_inf, and every other
system goes on to `final` done:
  - under FIRE, where zero forces converge at step 0, before any update
    (the blind spot: the evaluation made on arrival was never looked at
    before the step-0 convergence check);
  - under NVE (steps: 3), where the evaluations after updates are checked.
The expected statuses follow from the plug-in's definition (its energy is
its atom count where finite). Prints "N passed, M failed"."""
import os
import subprocess
import tempfile

import ase.io
import numpy as np
from ase import Atoms

from testlib import BATCHMD, Checks

c = Checks()
PLUGIN = os.path.join(os.environ.get("BATCHMD_BUILD", "build"), "plugins", "libplugin_faulty.so")
FRAMES = [("H2", "done"), ("He2", "nan_or_inf"), ("HHe", "nan_or_inf"), ("H3", "done")]


def structures():
    out = []
    for k, (formula, _) in enumerate(FRAMES):
        n = len(Atoms(formula))
        a = Atoms(formula, positions=[(1.5 * i, 0.3 * k, 0) for i in range(n)], pbc=False)
        a.info["name"] = formula
        out.append(a)
    return out


def case(tmp, tag, stage):
    d = os.path.join(tmp, tag)
    os.mkdir(d)
    ase.io.write(os.path.join(d, "in.extxyz"), structures())
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write("units: metal\nmodel: {type: plugin, path: %s, params: {fail: energy}}\ninput: in.extxyz\n"
                "stages:\n  s: %s\npipeline: s\n"
                "output: {final: out/final.extxyz, failed: out/failed.extxyz}\n" % (os.path.abspath(PLUGIN), stage))
    r = subprocess.run([BATCHMD, "run", "--quiet", "c.yaml"], cwd=d, capture_output=True, text=True)
    c.check(r.returncode == 0, "%s: run exits 0: %s" % (tag, r.stderr[-800:]))
    final = ase.io.read(os.path.join(d, "out", "final.extxyz"), ":") if r.returncode == 0 else []
    failed_path = os.path.join(d, "out", "failed.extxyz")
    failed = ase.io.read(failed_path, ":") if os.path.exists(failed_path) and os.path.getsize(failed_path) else []
    got = {a.info["name"]: a for a in final + failed}
    for formula, status in FRAMES:
        a = got.get(formula)
        c.check(a is not None and a.info.get("status") == status,
                "%s: %s has status %s (got %s)" % (tag, formula, status, a.info.get("status") if a else "nothing"))
        if a is not None and status == "done":
            e = a.get_potential_energy()
            c.check(e == len(a) and not a.get_forces().any(),
                    "%s: %s has the plug-in's energy %d and zero forces (got %r)" % (tag, formula, len(a), e))
    c.check(sorted(a.info["name"] for a in failed) == ["HHe", "He2"],
            "%s: failed holds exactly the helium systems: %s" % (tag, [a.info["name"] for a in failed]))
    for a in failed:
        e = a.calc.results.get("energy") if a.calc else None
        c.check(e is None or not np.isfinite(e), "%s: %s's written energy is the model's non-finite one: %r"
                % (tag, a.info["name"], e))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        case(tmp, "fire", "{type: fire, fmax: 0.01, max_steps: 50}")
        case(tmp, "nve", "{type: nve, dt: 1.0, steps: 3}")
    c.finish()


if __name__ == "__main__":
    main()
