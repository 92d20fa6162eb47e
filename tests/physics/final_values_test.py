#!/usr/bin/python3
"""final_values_test.py — every quantity `batchmd run` writes to final.extxyz
is the model's value at the written positions, for every model type:

for lj, morse, eam, kim (an EAM_Dynamo Cu model, the driver whose virial
is zero unless forces are asked for too) and plugin (the example Morse
plug-in), a rattled fcc Cu 3x3x3 cell with a vacancy (periodic) and a
13-atom Cu cluster (not periodic) run through FIRE then NVE
(relax + md); then
  - `batchmd eval` of final.extxyz gives the same energy, forces and stress
    (1e-10 relative: the same model at the same positions);
  - an independent code gives them too at the final positions (1e-8
    relative): ASE's LennardJones (lj), LAMMPS pair_style morse (morse and
    the plug-in), pair_style eam (eam), kim init/kim interactions (kim),
    the stress from LAMMPS's pressure with zero velocities;
  - the cluster has no stress key (no cell to strain).
A plug-in that never writes the virial (tests/plugins/plugin_faulty.c,
{fail: virial}) gives frames with its energy and forces and no stress key,
from run and from eval.

Prints "N passed, M failed"; exits 1 on a failure. Without the KIM API in
the build the kim case says so and is left out (as kim_lammps_test.py)."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import ase.io
from ase import Atoms
from ase.build import bulk
from ase.calculators.lj import LennardJones

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
import eam_lammps_test as eamt  # noqa: E402
import kim_lammps_test as kimt  # noqa: E402
import lj_lammps_test as pairt  # noqa: E402
from testlib import BATCHMD, Checks  # noqa: E402

BUILD = os.environ.get("BATCHMD_BUILD", os.path.join(HERE, "..", "..", "build"))
PLUGIN_DIR = os.path.join(BUILD, "plugins")
LJ = (0.4093, 2.338, 5.5)                # epsilon eV, sigma Å, cutoff Å
MORSE = (0.3429, 1.3588, 2.866, 6.0)     # D0 eV, alpha 1/Å, r0 Å, cutoff Å (Girifalco-Weizer Cu)
EAM_FILE = os.path.join(eamt.POT, "Cu_u3.eam")
KIM_CU = kimt.EAM_CU
STAGES = ("stages:\n"
          "  relax: {type: fire, fmax: 1.0e-4, max_steps: 25}\n"
          "  md: {type: nve, dt: 1.0, steps: 4}\n"
          "pipeline: relax + md\n")

c = Checks()


def structures():
    rng = np.random.default_rng(314)
    cell = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((3, 3, 3))
    del cell[13]
    cell.positions += rng.uniform(-0.06, 0.06, cell.positions.shape)
    cl = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((3, 3, 3))
    centre = cl.positions[13]
    near = np.linalg.norm(cl.positions - centre, axis=1) < 2.7
    cluster = Atoms("Cu%d" % near.sum(), positions=cl.positions[near] - centre + 10.0
                    + rng.uniform(-0.05, 0.05, (near.sum(), 3)), pbc=False)
    return [cell, cluster]


def run(tmp, model, frames):
    """batchmd run, then batchmd eval of its final frames: (final, eval) as ASE Atoms lists."""
    ase.io.write(os.path.join(tmp, "in.extxyz"), frames)
    head = "units: metal\nmodel: %s\n" % model
    with open(os.path.join(tmp, "run.yaml"), "w") as f:
        f.write(head + "input: in.extxyz\n" + STAGES
                + "output: {final: out/final.extxyz, failed: out/failed.extxyz}\n")
    with open(os.path.join(tmp, "eval.yaml"), "w") as f:
        f.write(head + "input: out/final.extxyz\n")  # eval needs no stages
    r = subprocess.run([BATCHMD, "run", "--quiet", "run.yaml"], cwd=tmp, capture_output=True, text=True)
    c.check(r.returncode == 0, "%s: run exits 0: %s" % (model, r.stderr[-800:]))
    r = subprocess.run([BATCHMD, "eval", "--quiet", "-o", "ev/eval.extxyz", "eval.yaml"], cwd=tmp, capture_output=True, text=True)
    c.check(r.returncode == 0, "%s: eval exits 0: %s" % (model, r.stderr[-800:]))
    if r.returncode:
        return [], []
    return (ase.io.read(os.path.join(tmp, "out", "final.extxyz"), ":"),
            ase.io.read(os.path.join(tmp, "ev", "eval.extxyz"), ":"))


def rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def results(atoms):
    """energy, forces, stress (or None) as written in the frame."""
    calc = atoms.calc
    r = calc.results if calc is not None else {}
    return r.get("energy"), r.get("forces"), r.get("stress")


def compare(label, got, want, tol):
    E, F, S = got
    E0, F0, S0 = want
    c.check(E is not None and abs(E - E0) <= tol * abs(E0), "%s: energy %r vs %r" % (label, E, E0))
    c.check(F is not None and rel(F, F0) <= tol, "%s: forces differ by %.3g relative"
            % (label, rel(F, F0) if F is not None else np.inf))
    c.check(S is not None and rel(S, S0) <= tol, "%s: stress %s vs %s" % (label, S, S0))


def lammps_reference(tmp, kind, atoms):
    """(E, F, stress) of a periodic Cu frame from LAMMPS."""
    d = tempfile.mkdtemp(dir=tmp)
    cell, pos = atoms.cell[:].copy(), atoms.positions.copy()
    if kind == "morse":
        p = MORSE
        params = {(1, 1): p, (2, 2): p, (1, 2): p}
        E, F, W = pairt.run_lammps(d, "morse", params, cell, pos, np.ones(len(pos), int), "p p p")
    elif kind == "eam":
        E, F, W, _ = eamt.run_lammps(d, "eam", EAM_FILE, ["Cu"], cell, pos, np.ones(len(pos), int), "p p p")
    else:
        E, F, W, _ = kimt.run_lammps(d, kind, (["Cu"] * len(pos), cell, pos, (1, 1, 1)), "p p p")
    return E, F, W / atoms.get_volume()


def ase_lj(atoms):
    a = atoms.copy()
    a.calc = LennardJones(epsilon=LJ[0], sigma=LJ[1], rc=LJ[2], smooth=False)
    S = a.get_stress() if a.pbc.all() else None
    return a.get_potential_energy(), a.get_forces(), S


def model_case(tmp, name, model, reference):
    d = os.path.join(tmp, name)
    os.mkdir(d)
    final, ev = run(d, model, structures())
    c.check(len(final) == 2 and len(ev) == 2, "%s: two final frames and two evaluated" % name)
    if len(final) != 2 or len(ev) != 2:
        return
    for k, (fr, e) in enumerate(zip(final, ev)):
        label = "%s frame %d" % (name, k)
        c.check(fr.info.get("status") == "done" and fr.info.get("steps_md") == 4,
                "%s: done after 4 NVE steps (%s)" % (label, fr.info))
        if not fr.pbc.all():
            c.check(results(fr)[2] is None and results(e)[2] is None, "%s: a cluster has no stress key" % label)
            E, F, _ = results(e)
            c.check(E is not None and abs(results(fr)[0] - E) <= 1e-10 * abs(E), "%s: energy = eval's" % label)
            c.check(F is not None and rel(results(fr)[1], F) <= 1e-10, "%s: forces = eval's" % label)
            continue
        compare(label + " vs eval", results(fr), results(e), 1e-10)
        want = reference(d, fr)
        compare(label + " vs reference", results(fr), want, 1e-8)
        print("ok   %s: E = %.10f eV, |stress| = %.3e eV/A^3" % (label, want[0], np.abs(want[2]).max()))


def no_virial_plugin(tmp):
    """A plug-in without a virial: energy and forces, no stress key."""
    d = os.path.join(tmp, "no_virial")
    os.mkdir(d)
    h2 = Atoms("H2", positions=[(1, 1, 1), (1.8, 1, 1)], cell=np.diag([6.0, 6.5, 7.0]), pbc=True)
    final, ev = run(d, "{type: plugin, path: %s, params: {fail: virial}}"
                    % os.path.join(PLUGIN_DIR, "libplugin_faulty.so"), [h2])
    for what, frames in (("run", final), ("eval", ev)):
        c.check(len(frames) == 1, "no-virial plug-in: one %s frame" % what)
        for fr in frames:
            E, F, S = results(fr)
            c.check(S is None, "no-virial plug-in: %s writes no stress (got %s)" % (what, S))
            c.check(E == 2.0 and F is not None and not F.any(),
                    "no-virial plug-in: %s energy 2 (its atom count) and zero forces: %r" % (what, E))
    with open(os.path.join(d, "out", "final.extxyz")) as f:
        c.check("stress" not in f.read(), "no-virial plug-in: the word stress is nowhere in final.extxyz")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        model_case(tmp, "lj", "{type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}" % LJ,
                   lambda d, fr: ase_lj(fr))
        morse = "D0: %r, alpha: %r, r0: %r, cutoff: %r" % MORSE
        model_case(tmp, "morse", "{type: morse, %s, shift: true}" % morse,
                   lambda d, fr: lammps_reference(d, "morse", fr))
        model_case(tmp, "eam", "{type: eam, file: %s}" % EAM_FILE, lambda d, fr: lammps_reference(d, "eam", fr))
        model_case(tmp, "plugin", "{type: plugin, path: %s, params: {%s, shift: 1}}"
                   % (os.path.join(PLUGIN_DIR, "libmorse_plugin.so"), morse),
                   lambda d, fr: lammps_reference(d, "morse", fr))
        why = kimt.kim_missing_reason()
        kim = None if why else kimt.first_installed(KIM_CU)
        if kim:
            model_case(tmp, "kim", "{type: kim, name: %s}" % kim, lambda d, fr: lammps_reference(d, kim, fr))
        else:
            print("kim case left out: %s" % (why or "none of %s installed" % KIM_CU))
        no_virial_plugin(tmp)
    c.finish()


if __name__ == "__main__":
    main()
