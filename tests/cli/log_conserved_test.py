#!/usr/bin/python3
"""The log's conserved_eV column (docs/campaign.md, log): for every MD stage
with a conserved quantity (nve, nvt_nose_hoover, npt_mtk, nph, nvt_csvr,
npt_crescale) it is conserved — over 300 steps of a warm LJ argon crystal
(shifted potential, small dt) its fluctuation is a small fraction of the
potential energy's, which moves by the thermal exchange between K and U
(and, under a barostat, P V), while the stage's own thermostat or barostat
exchanges energy with the system: the number is K + U plus what the
dynamics carries, not K + U alone. The stages without one (nvt_langevin,
nvt_berendsen, and fire) leave the field empty; the header names it."""
import csv
import os
import tempfile

import numpy as np
import ase.io
from ase.build import bulk

from testlib import Checks, run

STAGES = {
    "nve": "{type: nve, dt: 2.0, steps: 300, init_temperature: 60}",
    "nh": "{type: nvt_nose_hoover, dt: 2.0, temperature: 60, tdamp: 100, steps: 300, init_temperature: 30}",
    "mtk": "{type: npt_mtk, dt: 2.0, temperature: 60, pressure: 500, tdamp: 100, pdamp: 500, couple: tri, "
           "steps: 300, init_temperature: 30}",
    "nph": "{type: nph, dt: 2.0, pressure: 500, pdamp: 500, steps: 300, init_temperature: 60}",
    "csvr": "{type: nvt_csvr, dt: 2.0, temperature: 60, tdamp: 50, steps: 300, init_temperature: 30}",
    "cr": "{type: npt_crescale, dt: 2.0, temperature: 60, pressure: 500, tau_p: 300, compressibility: 2e-4, "
          "tdamp: 50, steps: 300, init_temperature: 30}",
    "lgv": "{type: nvt_langevin, dt: 2.0, temperature: 60, friction: 0.01, steps: 20}",
    "ber": "{type: nvt_berendsen, dt: 2.0, temperature: 60, tdamp: 100, steps: 20}",
    "relax": "{type: fire, fmax: 0.01, max_steps: 20}",
}


def main():
    c = Checks()
    with tempfile.TemporaryDirectory() as d:
        a = bulk("Ar", "fcc", a=5.30, cubic=True).repeat((3, 3, 3))
        a.positions += np.random.default_rng(3).normal(0, 0.02, a.positions.shape)
        ase.io.write(os.path.join(d, "in.extxyz"), [a])
        for name, stage in STAGES.items():
            path = os.path.join(d, name + ".yaml")
            with open(path, "w") as f:
                f.write("model: {type: lj, epsilon: 0.0104, sigma: 3.40, cutoff: 8.0, shift: true}\n"
                        "input: in.extxyz\nseed: 5\nstages: {s: %s}\n"
                        "output: {final: %s.extxyz, log: {file: %s.csv, every: 1}}\n" % (stage, name, name))
            r = run("run", "-q", path, cwd=d)
            c.check(r.returncode == 0, "%s: exit %d %s" % (name, r.returncode, r.stderr.strip()))
            if r.returncode:
                continue
            with open(os.path.join(d, name + ".csv")) as f:
                rows = list(csv.DictReader(f))
            c.check("conserved_eV" in rows[0], "%s: the header names conserved_eV" % name)
            if name in ("lgv", "ber", "relax"):
                c.check(all(row["conserved_eV"] == "" for row in rows), "%s: no conserved quantity: empty" % name)
                continue
            h = np.array([float(row["conserved_eV"]) for row in rows])
            u = np.array([float(row["energy_eV"]) for row in rows])
            drift, swing = h.max() - h.min(), u.max() - u.min()
            print("%-5s conserved moves %.3g eV over %d rows, the potential energy %.3g eV (ratio %.2g)"
                  % (name, drift, len(rows), swing, drift / swing))
            c.check(np.isfinite(h).all() and drift < 0.02 * swing,
                    "%s: conserved_eV moves %.3g eV, under 2 %% of the potential energy's %.3g eV" % (name, drift, swing))
    c.finish()


if __name__ == "__main__":
    main()
