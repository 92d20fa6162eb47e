#!/usr/bin/python3
"""input_contract_test.py — what batchmd cannot honour in its input is
refused (exit 2, FILE:LINE, nothing written), never dropped; what it reads,
it honours:

- fixed atoms: ASE's FixAtoms (move_mask:L:1) and FixCartesian fixing
  whole atoms (move_mask:L:3 rows F F F) written by ase.io.write run, and
  final.extxyz gives back FixAtoms with the same indices (the fixed atoms
  where they were); FixCartesian fixing some axes only is refused (exit 2
  naming the line of the first such atom); a move_mask that fixes nothing
  (all T) runs and gives back no constraint;
- `units: lj` with a model whose units are fixed (eam file, KIM model,
  plug-in: eV and Å): exit 2 at the `units` line, naming metal units;
  `units: lj` with an lj model runs;
- a file that is not extended XYZ (written by ASE as LAMMPS data, POSCAR,
  .vasp, CIF, PDB, .traj, JSON, CFG, Quantum ESPRESSO input): exit 2 with
  "FILE: not extended XYZ (it looks like ...)", and the ASE call the message
  suggests converts it to the structure ASE reads from it (to 1e-7 Å,
  ASE's 8 decimals),
  which then runs;
  plain XYZ (no Lattice) and an extended XYZ file named *.data run; a
  broken extended XYZ file is still reported as one;
- the input's calculator results (ASE's free_energy, dipole, magmom beside
  energy and stress) do not reach final.extxyz: they were computed at other
  positions by another model;
- momenta win over velocities: a frame with both columns (different
  values) moves, under one NVE step with no forces, by dt p/m (ASE's
  velocities from the momenta), and final.extxyz's momenta are the input's.
Prints "N passed, M failed"."""
import json
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import ase.io
import ase.units
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixAtoms, FixCartesian

from testlib import BATCHMD, Checks

c = Checks()
BUILD = os.environ.get("BATCHMD_BUILD", "build")
LJ = "model: {type: lj, epsilon: 0.4093, sigma: 2.338, cutoff: 5.5}\n"
TAIL = ("stages:\n  relax: {type: fire, fmax: 0.01, max_steps: 5}\npipeline: relax\n"
        "output: {final: out/final.extxyz, failed: out/failed.extxyz}\n")


def campaign(d, inp, model=LJ, units="metal", tail=TAIL):
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write("units: %s\n%sinput: %s\n%s" % (units, model, inp, tail))


def batchmd(d, *args):
    return subprocess.run([BATCHMD, *args, "c.yaml"], cwd=d, capture_output=True, text=True)


def fresh(tmp, name):
    d = os.path.join(tmp, name)
    os.mkdir(d)
    return d


def cu(rattle=0.0):
    a = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((2, 2, 2))
    if rattle:
        a.positions += np.random.default_rng(5).uniform(-rattle, rattle, a.positions.shape)
    return a


def refused(tag, d, r, where, *words):
    c.check(r.returncode == 2, "%s: exit 2 (got %d): %s" % (tag, r.returncode, r.stderr[-600:]))
    c.check(where in r.stderr and all(w in r.stderr for w in words),
            "%s: message names %s and %s: %s" % (tag, where, words, r.stderr[-600:]))
    c.check(not os.path.exists(os.path.join(d, "out")), "%s: nothing written" % tag)


def fixed_atoms(tmp):
    for tag, constraint, held, refusal in (
            ("FixAtoms", lambda a: FixAtoms(indices=[3, 5]), [3, 5], None),
            ("FixCartesian xyz", lambda a: [FixCartesian(i, mask=[1, 1, 1]) for i in (2, 6)], [2, 6], None),
            ("FixCartesian", lambda a: [FixCartesian(i, mask=[0, 1, 0]) for i in (2, 6)], None,
             (2, ("fixed along some axes", "FixCartesian", "F F F"))),
            ("nothing fixed", lambda a: FixAtoms(indices=[]), [], None)):
        d = fresh(tmp, tag.replace(" ", "_"))
        frames = [cu(0.02), cu(0.03)]
        frames[1].set_constraint(constraint(frames[1]))
        ase.io.write(os.path.join(d, "in.extxyz"), frames[0])
        ase.io.write(os.path.join(d, "in.extxyz"), frames[1], columns=["symbols", "positions", "move_mask"],
                     append=True)
        with open(os.path.join(d, "in.extxyz")) as f:
            c.check("move_mask" in f.read(), "%s: ASE wrote a move_mask column" % tag)
        read_in = ase.io.read(os.path.join(d, "in.extxyz"), ":")
        campaign(d, "in.extxyz")
        for cmd in ("validate", "run"):
            r = batchmd(d, cmd)
            if refusal:
                # frame 1 starts at line 2 + 32 + 1; its atom i is on line 35 + 2 + i
                line = (2 + len(frames[0])) + 2 + refusal[0] + 1
                refused("%s %s" % (tag, cmd), d, r, "in.extxyz:%d:" % line, *refusal[1])
                continue
            c.check(r.returncode == 0, "%s: %s runs: %s" % (tag, cmd, r.stderr[-600:]))
        if refusal or r.returncode:
            continue
        out = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "out", "final.extxyz"), ":")}
        got = [sorted(int(i) for cs in out[k].constraints for i in cs.get_indices()) if k in out else None
               for k in (0, 1)]
        c.check(got == [[], held], "%s: final gives back FixAtoms %s (got %s)" % (tag, held, got))
        c.check(1 in out and np.array_equal(out[1].positions[held], read_in[1].positions[held]),
                "%s: the fixed atoms stayed where they were read" % tag)


def fixed_units(tmp):
    plugin = os.path.abspath(os.path.join(BUILD, "plugins", "libmorse_plugin.so"))
    kim_name = "EAM_Dynamo_MendelevKing_2013_Cu__MO_748636486270_005"
    for kind, model in (("eam", "{type: eam, file: /usr/share/lammps/potentials/Cu_u3.eam}"),
                        ("kim", "{type: kim, name: %s}" % kim_name),
                        ("plugin", "{type: plugin, path: %s, params: {D0: 0.3429, alpha: 1.3588, r0: 2.866, "
                                   "cutoff: 6.0}}" % plugin)):
        d = fresh(tmp, "units_" + kind)
        ase.io.write(os.path.join(d, "in.extxyz"), cu(0.02))
        campaign(d, "in.extxyz", model="model: %s\n" % model, units="lj")
        for cmd in ("validate", "run"):
            refused("units lj + %s %s" % (kind, cmd), d, batchmd(d, cmd), "c.yaml:1:8:", "units: lj",
                    "type %s" % kind, "metal units", "eV")
    d = fresh(tmp, "units_lj_lj")
    ase.io.write(os.path.join(d, "in.extxyz"), Atoms("Ar2", positions=[(0, 0, 0), (1.1, 0, 0)]))
    campaign(d, "in.extxyz", model="model: {type: lj, epsilon: 1.0, sigma: 1.0, cutoff: 2.5}\n", units="lj")
    r = batchmd(d, "run")
    c.check(r.returncode == 0, "units lj + lj runs: %s" % r.stderr[-600:])


FORMATS = [  # file name, ase.io.write format, phrase
    ("cu.data", "lammps-data", "a LAMMPS data file"),
    ("POSCAR", "vasp", "a VASP POSCAR"),
    ("cu.vasp", "vasp", "a VASP POSCAR"),
    ("cu.cif", "cif", "a CIF file"),
    ("cu.pdb", "proteindatabank", "a PDB file"),
    ("cu.traj", "traj", "an ASE trajectory"),
    ("cu.json", "json", "a JSON file"),
    ("cu.cfg", "cfg", "an AtomEye CFG file"),
    ("cu.pwi", "espresso-in", "a Quantum ESPRESSO input file"),
]


# Runs each suggested `python3 -c` call in its folder, all in one interpreter
# (one ASE import instead of one per format); prints the failures as JSON.
RUN_CALLS = """
import json, os, sys, traceback
bad = {}
for d, code in json.load(sys.stdin):
    os.chdir(d)
    try:
        exec(code, {})
    except Exception:
        bad[d] = traceback.format_exc()[-400:]
print(json.dumps(bad))
"""


def formats(tmp):
    calls, meta = [], []
    for name, fmt, phrase in FORMATS:
        d = fresh(tmp, "fmt_" + name)
        ase.io.write(os.path.join(d, name), cu(0.05), format=fmt)
        campaign(d, name)
        r = batchmd(d, "run")
        refused(name, d, r, "%s: not extended XYZ" % name, "(it looks like %s" % phrase, "convert it with ASE")
        c.check("atom count" not in r.stderr, "%s: not reported as a bad atom count" % name)
        m = re.search(r"python3 -c '([^']*)'", r.stderr)
        c.check(m is not None, "%s: the message gives an ASE call" % name)
        if m is not None:
            calls.append((d, m.group(1)))
            meta.append((name, fmt))
    p = subprocess.run(["/usr/bin/python3", "-c", RUN_CALLS], input=json.dumps(calls), capture_output=True,
                       text=True)
    bad = json.loads(p.stdout) if p.returncode == 0 else {}
    c.check(p.returncode == 0, "the suggested calls ran: %s" % p.stderr[-400:])
    for (d, _), (name, fmt) in zip(calls, meta):
        ok = d not in bad and os.path.exists(os.path.join(d, "in.extxyz"))
        c.check(ok, "%s: the suggested call converts it: %s" % (name, bad.get(d)))
        if not ok:
            continue
        # what ASE reads from it (CIF and PDB round positions; a LAMMPS data file needs its types' elements)
        extra = {"style": "atomic", "Z_of_type": {1: 29}} if fmt == "lammps-data" else {}
        ref = ase.io.read(os.path.join(d, name), format=fmt, **extra)
        back = ase.io.read(os.path.join(d, "in.extxyz"))
        same = (back.get_chemical_symbols() == ref.get_chemical_symbols()
                and np.abs(back.positions - ref.positions).max() < 1e-7  # ASE writes extxyz with 8 decimals
                and np.abs(back.cell[:] - ref.cell[:]).max() < 1e-7)
        c.check(same, "%s: converted to the structure ASE reads from it" % name)
        campaign(d, "in.extxyz")
        r = batchmd(d, "run")
        c.check(r.returncode == 0, "%s: the converted file runs: %s" % (name, r.stderr[-400:]))
    # plain XYZ (a cluster, as ASE reads it) and extended XYZ under a LAMMPS-like name both run
    for name, fmt in (("plain.xyz", "xyz"), ("really_extxyz.data", "extxyz")):
        d = fresh(tmp, "ok_" + name)
        ase.io.write(os.path.join(d, name), Atoms("Cu3", positions=[(0, 0, 0), (2.5, 0, 0), (0, 2.5, 0)]), format=fmt)
        campaign(d, name)
        r = batchmd(d, "run")
        c.check(r.returncode == 0, "%s runs: %s" % (name, r.stderr[-400:]))
        if r.returncode == 0:
            out = ase.io.read(os.path.join(d, "out", "final.extxyz"))
            c.check(len(out) == 3 and not out.pbc.any(), "%s: a 3-atom cluster" % name)
    d = fresh(tmp, "broken")
    with open(os.path.join(d, "in.extxyz"), "w") as f:
        f.write("2\npbc=\"F F F\"\nCu 0 0 0\nCu 2.5 0 0\nthree\n")
    campaign(d, "in.extxyz")
    r = batchmd(d, "run")
    refused("broken extxyz", d, r, "in.extxyz:5:", "atom count")
    c.check("not extended XYZ" not in r.stderr, "broken extxyz: reported as broken, not as another format")


def calculator_results(tmp):
    d = fresh(tmp, "results")
    a = cu(0.02)
    a.calc = SinglePointCalculator(a, energy=-1.0, free_energy=-1.5, stress=np.ones(6), dipole=np.ones(3),
                                   magmom=2.0, forces=np.ones((len(a), 3)))
    ase.io.write(os.path.join(d, "in.extxyz"), a)
    campaign(d, "in.extxyz")
    r = batchmd(d, "run")
    c.check(r.returncode == 0, "results: run exits 0: %s" % r.stderr[-400:])
    if r.returncode:
        return
    out = ase.io.read(os.path.join(d, "out", "final.extxyz"))
    res = out.calc.results
    c.check(not {"free_energy", "dipole", "magmom"} & set(res) and not {"free_energy", "dipole", "magmom"}
            & set(out.info), "results: the input's free_energy, dipole, magmom are not in final: %s %s"
            % (sorted(res), sorted(out.info)))
    c.check(res.get("energy") not in (None, -1.0) and not np.allclose(res.get("forces"), 1.0),
            "results: energy and forces are the model's")


def momenta_win(tmp):
    d = fresh(tmp, "momenta")
    rng = np.random.default_rng(11)
    a = Atoms("ArKr", positions=[(0, 0, 0), (30.0, 0, 0)])  # beyond the cutoff: no forces
    p = rng.normal(0, 0.5, (2, 3))
    a.set_momenta(p)
    a.new_array("velocities", rng.normal(0, 0.05, (2, 3)))  # Å/fs for batchmd, ignored by ASE
    ase.io.write(os.path.join(d, "in.extxyz"), a)
    with open(os.path.join(d, "in.extxyz")) as f:
        c.check("momenta:R:3:velocities:R:3" in f.read(), "momenta: the frame has both columns, velocities last")
    ref = ase.io.read(os.path.join(d, "in.extxyz"))
    dt = 0.5
    campaign(d, "in.extxyz", model="model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5}\n",
             tail="stages:\n  md: {type: nve, dt: %r, steps: 1}\npipeline: md\n"
                  "output: {final: out/final.extxyz}\n" % dt)
    r = batchmd(d, "run")
    c.check(r.returncode == 0, "momenta: run exits 0: %s" % r.stderr[-400:])
    if r.returncode:
        return
    out = ase.io.read(os.path.join(d, "out", "final.extxyz"))
    v = ref.get_velocities() * ase.units.fs  # ASE's velocities from the momenta, in Å/fs
    moved = out.positions - ref.positions
    # (to 1e-12 Å: the difference of positions up to 30 Å; the velocities column would move them 0.01 Å)
    c.check(np.abs(moved - v * dt).max() <= 1e-12, "momenta: moved by dt p/m: %s vs %s" % (moved, v * dt))
    c.check(np.abs(out.get_momenta() - ref.get_momenta()).max() <= 1e-12 * np.abs(ref.get_momenta()).max(),
            "momenta: final momenta are the input's: %s vs %s" % (out.get_momenta(), ref.get_momenta()))
    c.check(abs(out.get_kinetic_energy() - ref.get_kinetic_energy()) <= 1e-12 * ref.get_kinetic_energy(),
            "momenta: kinetic energy is ASE's from the momenta")


def main():
    tmp = tempfile.mkdtemp()
    try:
        fixed_atoms(tmp)
        fixed_units(tmp)
        formats(tmp)
        calculator_results(tmp)
        momenta_win(tmp)
    finally:
        shutil.rmtree(tmp)
    c.finish()


if __name__ == "__main__":
    main()
