#!/usr/bin/python3
"""The campaign side of nvt_csvr, nvt_berendsen and npt_crescale (metal
units, an ASE-built argon crystal and an argon cluster):

- `batchmd validate` refuses what `run` refuses, before running: an
  nvt_berendsen tdamp shorter than dt (exit 2, the message naming tdamp and
  dt; 0, which means 100 dt, and tdamp = dt are valid), npt_crescale's
  couple other than iso|aniso, npt_crescale without its compressibility;
  `run` refuses the same Berendsen campaign with the same message and
  writes nothing.
- Per-structure pressure and temperature: a run of npt_crescale (with an
  nvt_csvr stage before it, fused) on two copies of an argon crystal, one
  given pressure=20000 (bar) on its info line, ends with the compressed one
  smaller than the other (the stage's pressure is 1 bar); both are `done`.
- A structure whose cell is not periodic along a, b and c has no volume:
  npt_crescale takes it out with status not_periodic (in `failed`), and the
  rest finish."""
import os
import tempfile

import ase.io
from ase import Atoms
from ase.build import bulk

from testlib import Checks, run

MODEL = "model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5, shift: true}\ninput: in.extxyz\n"
OUT = "output: {final: out/final.extxyz, failed: out/failed.extxyz}\n"


def campaign(d, stages, pipeline=None):
    path = os.path.join(d, "c.yaml")
    with open(path, "w") as f:
        f.write("seed: 5\n" + MODEL + "stages:\n" + stages + (("pipeline: %s\n" % pipeline) if pipeline else "") + OUT)
    return path


c = Checks()
with tempfile.TemporaryDirectory() as d:
    crystal = bulk("Ar", "fcc", a=5.3, cubic=True).repeat((2, 2, 2))
    squeezed = crystal.copy()
    squeezed.info["pressure"] = 20000.0
    cluster = Atoms("Ar3", positions=[[0, 0, 0], [3.8, 0, 0], [1.9, 3.3, 0]])
    ase.io.write(os.path.join(d, "in.extxyz"), [crystal, squeezed])

    # validate refuses what run refuses
    bad = "  warm: {type: nvt_berendsen, dt: 5.0, temperature: 50, tdamp: 2.0, steps: 10}\n"
    r = run("validate", campaign(d, bad))
    c.check(r.returncode == 2 and "tdamp" in r.stderr and "dt" in r.stderr,
            "validate refuses a Berendsen tdamp below dt: %d %s" % (r.returncode, r.stderr))
    r = run("run", "--quiet", campaign(d, bad))
    c.check(r.returncode == 2 and "tdamp" in r.stderr, "run refuses it too: %d %s" % (r.returncode, r.stderr))
    c.check(not os.path.exists(os.path.join(d, "out", "final.extxyz")), "the refused run wrote nothing")
    for tdamp in ("0", "5.0"):
        r = run("validate", campaign(d, bad.replace("tdamp: 2.0", "tdamp: " + tdamp)))
        c.check(r.returncode == 0, "Berendsen tdamp %s is valid: %s" % (tdamp, r.stderr))
    npt = "  npt: {type: npt_crescale, dt: 5.0, temperature: 50, pressure: 1.0, compressibility: 2e-4, steps: 10%s}\n"
    r = run("validate", campaign(d, npt % ", couple: tri"))
    c.check(r.returncode == 2 and "iso|aniso" in r.stderr, "couple tri is refused: %d %s" % (r.returncode, r.stderr))
    r = run("validate", campaign(d, npt.replace(", compressibility: 2e-4", "") % ""))
    c.check(r.returncode == 2 and "compressibility" in r.stderr,
            "a missing compressibility is refused: %d %s" % (r.returncode, r.stderr))
    r = run("validate", campaign(d, npt % ", couple: aniso, tau_p: 500"))
    c.check(r.returncode == 0, "aniso is valid: %s" % r.stderr)

    # per-structure pressure, fused behind nvt_csvr
    stages = ("  warm: {type: nvt_csvr, dt: 5.0, temperature: 50, tdamp: 100, init_temperature: 50, steps: 50}\n"
              + (npt % ", tau_p: 500").replace("steps: 10", "steps: 300"))
    r = run("run", "--quiet", campaign(d, stages, "warm + npt"))
    c.check(r.returncode == 0, "run exits 0: %s" % r.stderr)
    if r.returncode == 0:
        out = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "out", "final.extxyz"), ":")}
        c.check(sorted(out) == [0, 1] and all(a.info["status"] == "done" for a in out.values()), "both done")
        v0, v1 = out[0].get_volume(), out[1].get_volume()
        print("volume at 1 bar %.2f A^3, at 20000 bar %.2f A^3" % (v0, v1))
        c.check(v1 < 0.97 * v0, "the structure given 20000 bar ends compressed: %.2f vs %.2f" % (v1, v0))

    # a cell that is not periodic: not_periodic, the rest finish
    ase.io.write(os.path.join(d, "in.extxyz"), [crystal, cluster])
    r = run("run", "--quiet", campaign(d, npt % ""))
    c.check(r.returncode == 0, "run with a cluster exits 0: %s" % r.stderr)
    if r.returncode == 0:
        done = ase.io.read(os.path.join(d, "out", "final.extxyz"), ":")
        failed = ase.io.read(os.path.join(d, "out", "failed.extxyz"), ":")
        c.check([a.info["system_id"] for a in done] == [0], "the crystal finishes")
        c.check([(a.info["system_id"], a.info["status"]) for a in failed] == [(1, "not_periodic")],
                "the cluster is taken out as not_periodic: %s" % [a.info for a in failed])
c.finish()
