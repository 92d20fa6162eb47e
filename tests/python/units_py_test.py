"""Structures from Python carry what the command reads from an extxyz, in
both unit systems (docs/campaign.md, units): momenta (ASE's unit, turned
into velocities with the structure's masses), masses set on an Atoms (a
masses column in the file), and the default masses: the element's in
metal units, 1 in lj units. An NVE run (no thermostat, no draws: the
input's momenta move it) of three structures, one at rest, one with
momenta, one with momenta and custom masses, from a list of Atoms (as ASE
reads the extxyz) equals `batchmd run` on that extxyz bit for bit, in
metal units (Ar, Å, eV) and in lj units (σ, ε, m)."""
import os
import tempfile

import ase.io
import numpy as np
from ase.cluster import Icosahedron

from pylib import Checks, run
import batchmd as bmd

CAMPAIGN = """units: {units}
model: {{type: lj, epsilon: {eps}, sigma: {sig}, cutoff: {rc}, shift: true}}
input: in.extxyz
stages:
  md: {{type: nve, dt: {dt}, steps: 25}}
output: {{final: final.extxyz, failed: failed.extxyz, ordered: true}}
"""
CASES = {"metal": dict(eps=0.0104, sig=3.40, rc=8.5, dt=4.0, a=5.3, p=0.05),
         "lj": dict(eps=1.0, sig=1.0, rc=2.5, dt=0.004, a=1.56, p=0.5)}

c = Checks()
rng = np.random.default_rng(13)
for units, k in CASES.items():
    with tempfile.TemporaryDirectory() as d:
        frames = []
        for i in range(3):
            a = Icosahedron("Ar", 2, latticeconstant=k["a"])
            a.positions += rng.normal(0, 0.01 * k["sig"], a.positions.shape)
            if i == 2:
                a.set_masses(np.linspace(1.0, 3.0, len(a)) * (20 if units == "metal" else 1))
            if i >= 1:
                a.set_momenta(rng.normal(0, k["p"], a.positions.shape))
            frames.append(a)
        ase.io.write(os.path.join(d, "in.extxyz"), frames)
        with open(os.path.join(d, "c.yaml"), "w") as f:
            f.write(CAMPAIGN.format(units=units, **k))
        r = run("run", "--quiet", os.path.join(d, "c.yaml"))
        c.check(r.returncode == 0, f"{units}: batchmd run: {r.stderr}")
        ref = ase.io.read(os.path.join(d, "final.extxyz"), ":")

        structures = ase.io.read(os.path.join(d, "in.extxyz"), ":")
        c.check([s.has("masses") for s in structures] == [False, False, True], "ASE reads the masses column back")
        model = bmd.models.LennardJones(units=units, epsilon=k["eps"], sigma=k["sig"], cutoff=k["rc"], shift=True)
        res = bmd.NVE(model, name="md", dt=k["dt"], steps=25).run(structures, ordered=True)
        c.check(len(res.final) == 3 == len(ref) and not res.failed, f"{units}: {res}")
        for a, b in zip(res.final, ref):
            i = b.info["system_id"]
            what = f"{units}, system {i}"
            c.check(a.info["system_id"] == i, f"{what}: order")
            c.check(np.array_equal(a.get_masses(), b.get_masses()), f"{what}: masses {a.get_masses()[:2]} vs "
                    f"the command's {b.get_masses()[:2]}")
            c.check(np.array_equal(a.positions, b.positions), f"{what}: positions differ from the command's")
            c.check(np.array_equal(a.get_momenta(), b.get_momenta()), f"{what}: momenta differ from the command's")
            c.check(np.abs(a.positions - structures[i].positions).max() > 1e-3 * k["sig"], f"{what}: did not move")
c.finish()
