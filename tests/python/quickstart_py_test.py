"""The quickstart from Python gives the command's `final` bit for bit:
the same stages, parameters and batch settings written with the Python API
over the same structures (read by ASE) must give, per system, the same
positions, momenta, forces, energy and info keys as `batchmd run` writes
(read back by ASE), and Campaign(...).run() must write the very bytes."""
import filecmp
import os
import shutil
import tempfile

import numpy as np
from ase.io import read

from pylib import SOURCE, Checks, run
import batchmd as bmd

c = Checks()
tmp = tempfile.mkdtemp()
try:
    qs = os.path.join(tmp, "qs")
    shutil.copytree(os.path.join(SOURCE, "examples", "quickstart"), qs,
                    ignore=shutil.ignore_patterns("results"))
    r = run("run", "--quiet", os.path.join(qs, "campaign.yaml"))
    c.check(r.returncode == 0, f"batchmd run: {r.stderr}")
    ref = read(os.path.join(qs, "results", "final.extxyz"), index=":")

    structures = read(os.path.join(qs, "structures.extxyz"), index=":")
    model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
    relax = bmd.FIRE(model, name="relax", fmax=0.01, max_steps=2000)
    anneal = bmd.NVTLangevin(model, name="anneal", dt=5.0, temperature=30, friction=0.01, steps=2000,
                             init_temperature=30)
    res = (relax + anneal).run(structures, seed=7, max_atoms=2000, refill_every=5)
    c.check(len(res.final) == len(ref) == len(structures) and not res.failed,
            f"{len(res.final)} final, {len(res.failed)} failed, command {len(ref)}")
    mine = {a.info["system_id"]: a for a in res.final}
    for b in ref:
        sid = b.info["system_id"]
        a = mine.get(sid)
        if a is None:
            c.check(False, f"system {sid} missing from the Python run")
            continue
        b.info.pop("energy", None)  # ASE 3.22's reader copies the energy into info
        c.check(np.array_equal(a.positions, b.positions), f"system {sid}: positions differ")
        c.check(np.array_equal(a.get_momenta(), b.get_momenta()), f"system {sid}: momenta differ")
        c.check(np.array_equal(a.get_forces(), b.get_forces()), f"system {sid}: forces differ")
        c.check(a.get_potential_energy() == b.get_potential_energy(), f"system {sid}: energy differs")
        c.check(a.info == b.info, f"system {sid}: info {a.info} != {b.info}")
    c.check(res.stats["done"] == len(ref) and res.stats["stages"][0]["converged"] == len(ref), f"stats {res.stats}")

    # the campaign through the package: the command's own code, same bytes
    alt = os.path.join(tmp, "alt")
    shutil.copytree(os.path.join(SOURCE, "examples", "quickstart"), alt,
                    ignore=shutil.ignore_patterns("results"))
    status = bmd.Campaign(os.path.join(alt, "campaign.yaml")).run(quiet=True)
    c.check(status == 0, f"Campaign.run: {status}")
    for f in ("final.extxyz", "failed.extxyz", "log.csv"):
        c.check(filecmp.cmp(os.path.join(qs, "results", f), os.path.join(alt, "results", f), shallow=False),
                f"Campaign.run's {f} differs from batchmd run's")
    try:
        bmd.Campaign(os.path.join(alt, "missing.yaml")).run(quiet=True)
        c.check(False, "a missing campaign raised nothing")
    except bmd.CampaignError as e:
        c.check(e.status == 2, f"missing campaign: exit status {e.status}")
finally:
    shutil.rmtree(tmp)
c.finish()
