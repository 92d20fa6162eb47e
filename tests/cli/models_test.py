#!/usr/bin/python3
"""The campaign's model types end to end through `batchmd eval`/`run`:
- eam (Cu_u3.eam, LAMMPS's funcfl file) against LAMMPS `pair_style eam`;
- kim (an OpenKIM EAM for Cu) against LAMMPS `kim init`/`kim interactions`;
- plugin (the example Morse plug-in) against the built-in morse model;
- a KIM model given a species it lacks, or an unknown KIM name: exit 2 with
  the campaign's place and the reason; a KIM FIRE relaxation converges;
- the parameter table of `batchmd models` against what the campaign reader
  accepts: a parameter the table calls required is refused when left out
  (naming it), every other one (a default, or optional: init_temperature)
  may be left out."""
import os
import re
import subprocess
import tempfile

import numpy as np
import ase.io
from ase.build import bulk

from testlib import Checks, run

POT = "/usr/share/lammps/potentials/Cu_u3.eam"
KIM = "EAM_Dynamo_AcklandTichyVitek_1987_Cu__MO_179025990738_005"
PLUGIN = os.path.join(os.environ.get("BATCHMD_BUILD", "build"), "plugins", "libmorse_plugin.so")

rng = np.random.default_rng(2)
cu = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((3, 3, 3))
del cu[13]
cu.positions += rng.normal(0, 0.05, cu.positions.shape)


def write_xyz(path, atoms_list):
    """extxyz with 17 significant digits (ASE's writer keeps 8 decimals)."""
    with open(path, "w") as f:
        for a in atoms_list:
            cell = " ".join("%.17g" % x for x in a.cell.array.ravel())
            pbc = " ".join("T" if p else "F" for p in a.pbc)
            f.write('%d\nLattice="%s" Properties=species:S:1:pos:R:3 pbc="%s"\n' % (len(a), cell, pbc))
            for s, p in zip(a.get_chemical_symbols(), a.positions):
                f.write("%s %.17g %.17g %.17g\n" % (s, *p))


def lammps(d, pair_lines, units_block="units metal\n"):
    """Energy and forces of `cu` from LAMMPS (orthogonal cell)."""
    with open(os.path.join(d, "data.lmp"), "w") as f:
        L = np.diag(cu.cell.array)
        f.write("cu\n\n%d atoms\n1 atom types\n0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n\nMasses\n\n1 63.546\n\nAtoms\n\n"
                % (len(cu), L[0], L[1], L[2]))
        for i, p in enumerate(cu.positions):
            f.write("%d 1 %.17g %.17g %.17g\n" % (i + 1, *p))
    with open(os.path.join(d, "in.lmp"), "w") as f:
        f.write(units_block + "atom_style atomic\nboundary p p p\nread_data data.lmp\n" + pair_lines +
                "thermo_style custom pe\nthermo_modify format float %.17g\n"
                "dump d all custom 1 f.dump id fx fy fz\ndump_modify d format float %.17g sort id\nrun 0\n")
    r = subprocess.run(["lmp", "-in", "in.lmp", "-log", "none"], cwd=d, capture_output=True, text=True)
    m = re.findall(r"^\s*(-?[0-9.]+(?:e[-+]?\d+)?)\s*$", r.stdout, re.M)
    forces = np.loadtxt(os.path.join(d, "f.dump"), skiprows=9)[:, 1:]
    return float(m[-1]), forces


def eval_campaign(d, model_yaml):
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write("model: %s\ninput: in.extxyz\n" % model_yaml)  # eval needs no stages
    r = run("eval", "--quiet", "-o", os.path.join(d, "out.extxyz"), os.path.join(d, "c.yaml"))
    return r, (ase.io.read(os.path.join(d, "out.extxyz"), ":") if r.returncode == 0 else [])


c = Checks()
with tempfile.TemporaryDirectory() as d:
    write_xyz(os.path.join(d, "in.extxyz"), [cu])
    for name, model, pair in (
            ("eam", "{type: eam, file: %s}" % POT, "pair_style eam\npair_coeff * * %s\n" % POT),
            ("kim", "{type: kim, name: %s}" % KIM, None)):
        r, out = eval_campaign(d, model)
        c.check(r.returncode == 0 and len(out) == 1, "%s: eval runs: %s" % (name, r.stderr))
        if not out:
            continue
        if pair:
            e_ref, f_ref = lammps(d, pair)
        else:
            e_ref, f_ref = lammps(d, "kim interactions Cu\n", "kim init %s metal\n" % KIM)
        e = out[0].get_potential_energy()
        c.check(abs(e - e_ref) <= 1e-8 * abs(e_ref), "%s: energy %r vs LAMMPS %r" % (name, e, e_ref))
        df = np.abs(out[0].get_forces() - f_ref).max()
        c.check(df <= 1e-8 * np.abs(f_ref).max(), "%s: forces differ from LAMMPS by %g" % (name, df))

    # the plug-in against the built-in morse (two independent implementations)
    morse = "D0: 0.3429, alpha: 1.3588, r0: 2.866, cutoff: 6.0"
    r1, built_in = eval_campaign(d, "{type: morse, %s, shift: true}" % morse)
    r2, plugin = eval_campaign(d, "{type: plugin, path: %s, params: {%s, shift: 1}}" % (PLUGIN, morse))
    c.check(r1.returncode == 0 and r2.returncode == 0, "morse and plugin eval: %s %s" % (r1.stderr, r2.stderr))
    if built_in and plugin:
        e1, e2 = built_in[0].get_potential_energy(), plugin[0].get_potential_energy()
        c.check(abs(e1 - e2) <= 1e-12 * abs(e1), "plugin energy %r vs built-in morse %r" % (e2, e1))
        c.check(np.abs(built_in[0].get_forces() - plugin[0].get_forces()).max() < 1e-10, "plugin forces")

    # refusals: a species the KIM model lacks, an unknown KIM model, a missing plug-in
    ar = cu.copy()
    ar.set_chemical_symbols(["Ar"] * len(ar))
    write_xyz(os.path.join(d, "in.extxyz"), [ar])
    # (what, model, what the message names, the file at fault)
    for what, model, needle, place in (("species", "{type: kim, name: %s}" % KIM, "species Ar", "in.extxyz:1"),
                                       ("name", "{type: kim, name: No_Such_Model__MO_000000000000_000}",
                                        "No_Such_Model", "c.yaml:1:"),
                                       ("plugin path", "{type: plugin, path: ./nowhere.so}", "nowhere.so", "c.yaml:1:")):
        if os.path.exists(os.path.join(d, "out.extxyz")):
            os.remove(os.path.join(d, "out.extxyz"))
        r, _ = eval_campaign(d, model)
        c.check(r.returncode == 2, "%s: exit 2, got %d" % (what, r.returncode))
        c.check(needle in r.stderr and place in r.stderr, "%s: message names %s at %s: %s" % (what, needle, place, r.stderr))
        c.check(not os.path.exists(os.path.join(d, "out.extxyz")), "%s: nothing written" % what)

    # FIRE relaxation of the Cu vacancy with KIM, in a batch with another system
    small = bulk("Cu", "fcc", a=3.7, cubic=True)
    small.positions += rng.normal(0, 0.05, small.positions.shape)
    write_xyz(os.path.join(d, "in.extxyz"), [cu, small])
    with open(os.path.join(d, "r.yaml"), "w") as f:
        f.write("model: {type: kim, name: %s}\ninput: in.extxyz\nstages: {relax: {type: fire, fmax: 0.01, max_steps: 500}}\n"
                "output: {final: relaxed.extxyz}\n" % KIM)
    r = run("run", "--quiet", os.path.join(d, "r.yaml"))
    c.check(r.returncode == 0, "kim relax runs: %s" % r.stderr)
    if r.returncode == 0:
        out = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "relaxed.extxyz"), ":")}
        for i in (0, 1):
            c.check(out[i].info["converged_relax"] and np.sqrt((out[i].get_forces() ** 2).sum(1)).max() < 0.01,
                    "system %d relaxed below fmax" % i)

# the parameter table: "required" exactly when leaving the parameter out is refused
VALUES = {"dt": 1.0, "temperature": 300.0, "friction": 0.01, "pressure": 1.0, "compressibility": 1e-6,
          "steps": 2}  # valid values of required ones
r = run("models")
table, kind = {}, None
for line in r.stdout[r.stdout.index("\ndynamics"):r.stdout.index("\nOpenKIM")].splitlines()[1:]:
    if line.startswith("      "):
        table[kind].append((line.split()[0], " required " in line))
    elif line.startswith("  "):
        kind = line.split()[0]
        table[kind] = []
c.check(len(table) >= 5 and all(table.values()), "models lists the dynamics with their parameters: %s" % table)
c.check(any(p == "init_temperature" and not req for ps in table.values() for p, req in ps),
        "init_temperature is listed, and not as required")
with tempfile.TemporaryDirectory() as d:
    write_xyz(os.path.join(d, "in.extxyz"), [cu])
    for kind, params in table.items():
        required = [p for p, req in params if req]
        c.check(all(p in VALUES for p in required), "%s: a valid value for each required parameter of %s" % (kind, required))
        for name, req in params:
            given = ", ".join("%s: %r" % (p, VALUES.get(p)) for p in required if p != name)
            with open(os.path.join(d, "c.yaml"), "w") as f:
                f.write("model: {type: eam, file: %s}\ninput: in.extxyz\nstages:\n  s: {type: %s%s}\n"
                        % (POT, kind, ", " + given if given else ""))
            r = run("validate", os.path.join(d, "c.yaml"))
            if req:
                c.check(r.returncode == 2 and "missing '%s'" % name in r.stderr,
                        "%s.%s is listed as required: leaving it out is refused: %d %s" % (kind, name, r.returncode, r.stderr))
            else:
                c.check(r.returncode == 0, "%s.%s is not listed as required: it may be left out: %d %s"
                        % (kind, name, r.returncode, r.stderr))
c.finish()
