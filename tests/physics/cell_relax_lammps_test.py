#!/usr/bin/python3
"""cell_relax_lammps_test.py — variable-cell relaxation (`cell:` of fire and
fire2, lbfgs, bfgs) against LAMMPS, and quarantine of cells that cannot
relax.

1. Lattice constants and cohesive energies of KIM EAM models for Cu, Al
   and Ni. LAMMPS: the 4-atom fcc cell, `fix box/relax iso 0.0` +
   `minimize 0 1e-12` (twice, the second from the relaxed box, as LAMMPS
   advises: box/relax measures strain from the box it starts from), giving
   a0 and E0 per atom. batchmd, in ONE batch per run, to fmax 1e-6 eV/Å (the
   cell rows of the filter's forces too):
     - a 2x2x2 supercell under a non-hydrostatic strain of a few % with
       random displacements;
     - a sheared triclinic conventional cell (a 6 % tilt of b along x);
     - a sheared, strained 1-atom primitive cell;
   each must reach its symmetric minimum: every cell length equal to a0
   (a0 for the conventional cell, 2 a0 for the supercell, a0/√2 for the
   primitive) to 1e-5 Å, every angle 90° (60° for the primitive) to 1e-3°
   (the shear stress left by fmax, ~fmax N / V over a shear modulus
   ~0.3 eV/Å³, allows ~1e-5°), and E/N = E0 to 1e-6 eV/atom. Runs: FIRE with
   each filter (unit, exp, frechet), FIRE2 with unit and frechet, L-BFGS
   with each filter and BFGS with frechet, spread over the three metals. (Not FIRE2 with exp: its cell coordinates log F
   have no cell factor, so their forces V σ are ~N times the others', and
   FIRE2's step back by ½ dt v, uncapped as in ASE's fire2.py, can crush
   the cell: the 32-atom Ni cell leaves as cell_too_thin.)
2. Quarantine (native Morse Cu, bounded at r = 0, so that a large pressure
   can crush a cell): in one batch, two strained Cu supercells relax and
   converge while a 1-atom cell given `pressure=1e16` (bar) on its info
   line collapses and leaves as cell_too_thin (or cell_degenerate), and a
   cluster (not periodic: no stress for a filter) leaves as no_stress.

Prints "N passed, M failed"."""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import ase.io
from ase import Atoms
from ase.build import bulk

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from testlib import Checks, run  # noqa: E402

FMAX = 1e-6
METALS = {  # element: (KIM model, mass, [(dynamics, filter), ...])
    "Cu": ("EAM_Dynamo_MendelevKing_2013_Cu__MO_748636486270_005", 63.546,
           [("fire", "unit"), ("fire", "exp"), ("fire", "frechet"), ("fire2", "frechet"), ("lbfgs", "unit"),
            ("bfgs", "frechet")]),
    "Al": ("EAM_Dynamo_MendelevKramerBecker_2008_Al__MO_106969701023_005", 26.9815385,
           [("fire", "exp"), ("fire2", "frechet"), ("lbfgs", "exp")]),
    "Ni": ("EAM_Dynamo_MendelevKramerHao_2012_Ni__MO_832600236922_005", 58.6934,
           [("fire", "frechet"), ("fire2", "unit"), ("lbfgs", "frechet")]),
}


def lammps_a0(d, el, model, mass):
    """(a0 Å, E0 eV/atom) from fix box/relax iso 0.0 + minimize."""
    lines = ["kim init %s metal" % model, "atom_style atomic", "boundary p p p", "lattice fcc 4.0",
             "region box block 0 1 0 1 0 1", "create_box 1 box", "create_atoms 1 box",
             "kim interactions %s" % el, "mass 1 %r" % mass, "thermo_style custom step pe lx press",
             "fix 1 all box/relax iso 0.0 vmax 0.001", "minimize 0 1e-12 10000 100000", "unfix 1",
             "fix 1 all box/relax iso 0.0 vmax 0.001", "minimize 0 1e-12 10000 100000",
             'print "RESULT $(lx:%.17g) $(pe/atoms:%.17g) $(press:%.17g)" file result.txt']
    with open(os.path.join(d, "in.relax"), "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["lmp", "-in", "in.relax", "-log", "none", "-screen", "none"], cwd=d, check=True)
    a0, e0, press = (float(x) for x in open(os.path.join(d, "result.txt")).read().split()[1:4])
    return a0, e0, press


def start_structures(el, a_guess, rng):
    """(name, atoms, cell lengths at the minimum in units of a0, angle)"""
    sup = bulk(el, "fcc", a=a_guess, cubic=True).repeat((2, 2, 2))
    sup.set_cell(sup.cell[:] @ (np.eye(3) + np.array([[0.02, 0.01, 0], [0, -0.015, 0.01], [0.005, 0, 0.01]])),
                 scale_atoms=True)
    sup.positions += rng.normal(0, 0.03, sup.positions.shape)
    tri = bulk(el, "fcc", a=a_guess * 0.985, cubic=True)
    tri.set_cell(tri.cell[:] @ np.array([[1, 0, 0], [0.06, 1, 0], [0, -0.03, 1.02]]), scale_atoms=True)
    prim = bulk(el, "fcc", a=a_guess)
    prim.set_cell(prim.cell[:] @ (np.eye(3) + np.array([[0.03, 0.02, 0], [0, -0.01, 0.01], [0, 0, 0]])),
                  scale_atoms=True)
    return [("2x2x2 strained, displaced", sup, 2.0, 90.0), ("sheared triclinic 4-atom", tri, 1.0, 90.0),
            ("sheared primitive 1-atom", prim, 1 / np.sqrt(2), 60.0)]


def write_campaign(d, model_yaml, dyn, filt, inp, fmax=FMAX, max_steps=20000):
    path = os.path.join(d, "c.yaml")
    with open(path, "w") as f:
        f.write("model: %s\ninput: %s\n"
                "stages: {relax: {type: %s, fmax: %r, max_steps: %d, cell: {filter: %s}}}\n"
                "output: {final: final.extxyz, failed: failed.extxyz}\n" % (model_yaml, inp, dyn, fmax, max_steps,
                                                                           filt))
    return path


def lattice(c, d):
    for el, (model, mass, plan) in METALS.items():
        os.makedirs(os.path.join(d, el), exist_ok=True)
        a0, e0, press = lammps_a0(os.path.join(d, el), el, model, mass)
        print("%s (%s): LAMMPS box/relax: a0 = %.10f Å, E0 = %.10f eV/atom, pressure %.1e bar" % (el, model, a0, e0,
                                                                                                 press))
        structs = start_structures(el, a0 * 1.015, np.random.default_rng(len(el) + ord(el[0])))
        ase.io.write(os.path.join(d, "in_%s.extxyz" % el), [s[1] for s in structs], format="extxyz")
        for dyn, filt in plan:
            path = write_campaign(d, "{type: kim, name: %s}" % model, dyn, filt, "in_%s.extxyz" % el)
            r = run("run", "-q", path, cwd=d)
            c.check(r.returncode == 0, "%s %s/%s: exit %d: %s" % (el, dyn, filt, r.returncode, r.stderr.strip()))
            if r.returncode:
                continue
            got = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "final.extxyz"), ":")}
            for i, (name, _, lengths, angle) in enumerate(structs):
                out = got.get(i)
                c.check(out is not None, "%s %s/%s: %s is in final" % (el, dyn, filt, name))
                if out is None:
                    continue
                par = out.cell.cellpar()
                da = np.abs(par[:3] / lengths - a0).max()
                dang = np.abs(par[3:] - angle).max()
                de = abs(out.get_potential_energy() / len(out) - e0)
                print("  %-5s %-7s %-26s %5s steps, converged %s: max |a − a0| %.1e Å, max |angle − %g°| %.1e°, "
                      "|E/N − E0| %.1e eV" % (dyn, filt, name, out.info.get("steps_relax"),
                                              out.info.get("converged_relax"), da, angle, dang, de))
                c.check(out.info.get("converged_relax") in (True, 1), "%s %s/%s: %s converged" % (el, dyn, filt, name))
                c.check(da <= 1e-5, "%s %s/%s: %s: lattice constant off LAMMPS's by %.3g Å" % (el, dyn, filt, name, da))
                c.check(dang <= 1e-3, "%s %s/%s: %s: an angle off %g° by %.3g°" % (el, dyn, filt, name, angle, dang))
                c.check(de <= 1e-6, "%s %s/%s: %s: E/N off LAMMPS's by %.3g eV" % (el, dyn, filt, name, de))


def quarantine(c, d):
    frames = []
    for k in range(2):
        a = bulk("Cu", "fcc", a=3.66, cubic=True).repeat((2, 2, 2))
        a.rattle(0.02, seed=k)
        frames.append(a)
    crush = bulk("Cu", "fcc", a=3.62)
    crush.info["pressure"] = 1e16
    frames.insert(1, crush)
    frames.append(Atoms("Cu4", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0], [0, 0, 2.5]]))
    ase.io.write(os.path.join(d, "q.extxyz"), frames, format="extxyz")
    morse = "{type: morse, D0: 0.3429, alpha: 1.3588, r0: 2.866, cutoff: 6.0, shift: true}"
    for filt in ("unit", "exp", "frechet"):
        path = write_campaign(d, morse, "fire", filt, "q.extxyz", fmax=1e-4, max_steps=3000)
        r = run("run", "-q", path, cwd=d)
        c.check(r.returncode == 0, "quarantine, %s: exit %d: %s" % (filt, r.returncode, r.stderr.strip()))
        if r.returncode:
            continue
        done = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "final.extxyz"), ":")}
        failed = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "failed.extxyz"), ":")}
        status = {i: failed[i].info.get("status") for i in failed}
        print("  quarantine, %-7s done %s (converged %s), failed %s" % (
            filt, sorted(done), [done[i].info.get("converged_relax") for i in sorted(done)], status))
        c.check(sorted(done) == [0, 2] and all(done[i].info.get("converged_relax") in (True, 1) for i in done),
                "quarantine, %s: the two supercells converge (done: %s)" % (filt, sorted(done)))
        c.check(status.get(1) in ("cell_too_thin", "cell_degenerate"),
                "quarantine, %s: the crushed cell leaves as cell_too_thin/cell_degenerate, not %s"
                % (filt, status.get(1)))
        c.check(status.get(3) == "no_stress", "quarantine, %s: the cluster leaves as no_stress, not %s"
                % (filt, status.get(3)))


def main():
    c = Checks()
    c.check(shutil.which("lmp") is not None, "LAMMPS (lmp) is on PATH")
    listed = subprocess.run(["kim-api-collections-management", "list"], capture_output=True, text=True).stdout
    for el, (model, _, _) in METALS.items():
        c.check(model in listed, "the KIM model %s is installed" % model)
    with tempfile.TemporaryDirectory() as d:
        if shutil.which("lmp") and all(m in listed for m, _, _ in METALS.values()):
            lattice(c, d)
        quarantine(c, d)
    c.finish()


if __name__ == "__main__":
    main()
