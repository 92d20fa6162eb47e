#!/usr/bin/python3
"""The `cell:` mapping of an optimizer stage in a campaign file
(docs/campaign.md, stages): what `validate` refuses, at the value's
FILE:LINE:COL with exit status 2 — a stress list that is not 6 numbers, an
unknown filter or key, a `cell:` key without a filter, a cell_factor with
exp (ASE's ExpCellFilter has none), per-structure overrides out of range or
not numbers (pressure=, stress_yz=, cell_factor= on an info line), keys of
the whole stage on an info line (memory=, filter=, hydrostatic=) — and
what it accepts; then a run whose stage relaxes the cell under a pressure:
the log's pressure_bar column is filled at every step (the stage asks the
model for the virial), and at convergence it equals the target pressure
within the bound the convergence test implies (cell rows of the unit
filter's forces < fmax: |P − P_target| <= fmax N ‖F‖ / V), while the
volume_A3 column follows the cell."""
import csv
import os
import tempfile

import numpy as np
import ase.io
from ase import units
from ase.build import bulk

from testlib import Checks, run

MODEL = "{type: lj, epsilon: 0.415, sigma: 2.277, cutoff: 5.7, shift: true}"


def campaign(d, stage, inp="in.extxyz", log=False):
    path = os.path.join(d, "c.yaml")
    with open(path, "w") as f:
        f.write("model: %s\ninput: %s\nstages: {relax: %s}\noutput: {final: f.extxyz, failed: x.extxyz%s}\n"
                % (MODEL, inp, stage, ", log: {file: log.csv, every: 1}" if log else ""))
    return path


def main():
    c = Checks()
    with tempfile.TemporaryDirectory() as d:
        a = bulk("Cu", "fcc", a=3.70, cubic=True)
        a.set_cell(a.cell[:] @ (np.eye(3) + np.diag([0.02, -0.01, 0.01])), scale_atoms=True)
        ase.io.write(os.path.join(d, "in.extxyz"), [a], format="extxyz")
        refused = [
            ("{type: fire, cell: {filter: unit, stress: [1, 2, 3]}}", "3:", "stages.relax.cell.stress: expected a list of 6 numbers"),
            ("{type: fire, cell: {filter: unit, stress: [1, 2, 3, 4, 5, hot]}}", "3:", "stages.relax.cell.stress[5]: expected a number"),
            ("{type: fire, cell: {filter: unit, stress: 7}}", "3:", "expected a list of 6 numbers"),
            ("{type: fire, cell: {filter: diagonal}}", "3:", "stages.relax.cell.filter: expected one of none|unit|exp|frechet"),
            ("{type: fire, cell: {filter: unit, stress_xx: 1}}", "3:", "unknown key 'stress_xx'"),
            ("{type: fire, cell: {pressure: 100}}", "3:", "cell.pressure needs a cell filter"),
            ("{type: fire2, cell: {stress: [0, 0, 0, 1, 0, 0]}}", "3:", "cell.stress needs a cell filter"),
            ("{type: fire, cell: {hydrostatic: true}}", "3:", "cell.hydrostatic needs a cell filter"),
            ("{type: fire, cell: {filter: exp, cell_factor: 4}}", "3:", "has no cell factor"),
            ("{type: fire, cell: {filter: unit, cell_factor: 0}}", "3:", "cell_factor: 0 is out of range"),
            ("{type: fire, cell: [unit]}", "3:", "stages.relax.cell: expected a mapping"),
        ]
        for stage, where, msg in refused:
            r = run("validate", campaign(d, stage))
            err = r.stderr.strip()
            c.check(r.returncode == 2 and ("c.yaml:" + where) in err and msg in err,
                    "%s: exit %d (want 2), message %r (want %r at line %s)" % (stage, r.returncode, err, msg, where))
        for stage in ("{type: fire, cell: {filter: frechet, pressure: -100, stress: [1e3, 0, 0, 0, 0, -2.5e2], "
                      "mask: [xx, yy, zz, xy], hydrostatic: false, constant_volume: false, cell_factor: 3}}",
                      "{type: fire2, cell: {filter: exp, mask: [1, 1, 1, 0, 0, 0]}}", "{type: fire, cell: {}}"):
            r = run("validate", campaign(d, stage))
            c.check(r.returncode == 0, "%s: valid, exit %d: %s" % (stage, r.returncode, r.stderr.strip()))

        # per-structure overrides on the info line
        for key, value, what in (("pressure", "nan", "out of range"), ("stress_yz", "hot", "not a number"),
                                 ("cell_factor", "-2", "out of range")):
            b = a.copy()
            b.info[key] = value
            ase.io.write(os.path.join(d, "o.extxyz"), [b], format="extxyz")
            r = run("validate", campaign(d, "{type: fire, cell: {filter: unit}}", inp="o.extxyz"))
            err = r.stderr.strip()
            c.check(r.returncode == 2 and "o.extxyz:2" in err and key in err and what in err,
                    "%s=%s: exit %d, %r" % (key, value, r.returncode, err))

        # keys of the whole stage on an info line (they size the optimizer's
        # storage, or are words): refused, never silently ignored
        for key, value, stage in (("memory", "5", "{type: lbfgs, memory: 10}"),
                                  ("filter", "exp", "{type: fire, cell: {filter: unit}}"),
                                  ("hydrostatic", "1", "{type: bfgs, cell: {filter: unit}}")):
            b = a.copy()
            b.info[key] = value
            ase.io.write(os.path.join(d, "o.extxyz"), [b], format="extxyz")
            r = run("validate", campaign(d, stage, inp="o.extxyz"))
            err = r.stderr.strip()
            c.check(r.returncode == 2 and "o.extxyz:2" in err and "%s is a key of the whole stage" % key in err,
                    "info key %s=%s with %s: exit %d, %r" % (key, value, stage, r.returncode, err))

        # a run: the log's pressure at convergence is the target
        fmax, target = 1e-4, 2500.0
        r = run("run", "-q", campaign(d, "{type: fire, fmax: %r, max_steps: 3000, cell: {filter: unit, pressure: %r}}"
                                      % (fmax, target), log=True), cwd=d)
        c.check(r.returncode == 0, "run: exit %d: %s" % (r.returncode, r.stderr.strip()))
        if r.returncode == 0:
            rows = list(csv.DictReader(open(os.path.join(d, "log.csv"))))
            out = ase.io.read(os.path.join(d, "f.extxyz"))
            c.check(all(row["pressure_bar"] != "" for row in rows), "every log row has a pressure")
            vol = [float(row["volume_A3"]) for row in rows]
            c.check(abs(vol[0] - a.get_volume()) < 1e-9 and abs(vol[-1] - out.get_volume()) < 1e-9 and
                    abs(vol[-1] - vol[0]) > 0.1, "volume_A3 follows the cell: %.6f -> %.6f Å³" % (vol[0], vol[-1]))
            p_end = float(rows[-1]["pressure_bar"])
            F = np.linalg.solve(a.cell[:], out.cell[:]).T
            bound = fmax * len(out) * np.linalg.norm(F, 2) / out.get_volume() / units.bar
            print("converged %s in %s steps: P %.4f bar (target %g, bound %.2f bar)"
                  % (out.info.get("converged_relax"), out.info.get("steps_relax"), p_end, target, bound))
            c.check(out.info.get("converged_relax") in (True, 1), "the cell relaxation converged")
            c.check(abs(p_end - target) <= bound, "final pressure %.4f bar, target %g ± %.3g" % (p_end, target, bound))
    c.finish()


if __name__ == "__main__":
    main()
