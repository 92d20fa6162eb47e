#!/usr/bin/python3
"""Masses are never dropped on output: a structure with custom masses (a
heavy isotope) and momenta, run through 0 NVE steps, comes back from
`final.extxyz` through ASE with the same masses and the same momenta and
velocities as ASE's own input (the reference: what ASE wrote). Without the
masses column ASE would assume the standard masses and turn the momenta
into velocities too large by the mass ratio. A structure with standard
masses gets no masses column (ASE's own default), and in lj units (every
mass 1) the column is written, so that ASE reads the masses batchmd used."""
import os
import sys
import tempfile

import numpy as np
import ase.io
from ase import Atoms

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from testlib import Checks, run  # noqa: E402

CAMPAIGN = """units: {units}
model: {{type: lj, epsilon: {eps}, sigma: {sigma}, cutoff: {cut}}}
input: in.extxyz
stages:
  md: {{type: nve, dt: 1.0, steps: 0}}
output: {{final: final.extxyz, failed: failed.extxyz}}
"""

rng = np.random.default_rng(11)


def structure(n, masses):
    a = Atoms("Ar%d" % n, positions=rng.uniform(0, 0.2, (n, 3)) + np.arange(n)[:, None] * 3.7,
              cell=[40, 40, 40], pbc=True)
    if masses is not None:
        a.set_masses(masses)
    a.set_momenta(rng.normal(0, 0.3, (n, 3)))
    return a


def run_case(c, d, units, frames, eps, sigma, cut):
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    ref = ase.io.read(os.path.join(d, "in.extxyz"), ":")
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(CAMPAIGN.format(units=units, eps=eps, sigma=sigma, cut=cut))
    r = run("run", "--quiet", os.path.join(d, "c.yaml"))
    c.check(r.returncode == 0, "%s: run exit 0: %s" % (units, r.stderr))
    if r.returncode:
        return None, None, None
    out = ase.io.read(os.path.join(d, "final.extxyz"), ":")
    out.sort(key=lambda a: a.info["system_id"])
    header = open(os.path.join(d, "final.extxyz")).read()
    return ref, out, header


def main():
    c = Checks()
    with tempfile.TemporaryDirectory() as d:
        heavy = structure(4, [39.948 * 2.5] * 4)  # custom masses
        plain = structure(3, None)                # ASE's standard masses
        ref, out, _ = run_case(c, d, "metal", [heavy, plain], 0.0104, 3.4, 8.5)
        if out:
            for i, (a, b) in enumerate(zip(ref, out)):
                c.check(np.array_equal(a.get_masses(), b.get_masses()),
                        "metal %d: masses read back %s, input %s" % (i, b.get_masses(), a.get_masses()))
                c.check(np.allclose(a.get_momenta(), b.get_momenta(), rtol=1e-13, atol=0),
                        "metal %d: momenta kept over 0 steps" % i)
                c.check(np.allclose(a.get_velocities(), b.get_velocities(), rtol=1e-13, atol=0),
                        "metal %d: velocities kept over 0 steps" % i)
            lines = open(os.path.join(d, "final.extxyz")).read().splitlines()
            props = {int(l.split("system_id=")[1].split()[0]): "masses:R:1" in l for l in lines if "system_id=" in l}
            c.check(props.get(0) is True, "the custom-mass structure has a masses column")
            c.check(props.get(1) is False, "the standard-mass structure has none (ASE's default)")

    with tempfile.TemporaryDirectory() as d:
        ref, out, _ = run_case(c, d, "lj", [structure(3, None)], 1.0, 1.0, 2.5)
        if out:
            c.check(np.array_equal(out[0].get_masses(), np.ones(3)),
                    "lj: ASE reads the masses batchmd used (1): %s" % out[0].get_masses())
    c.finish()


if __name__ == "__main__":
    main()
