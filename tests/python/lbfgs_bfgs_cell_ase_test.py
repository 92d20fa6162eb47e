#!/usr/bin/python3
"""Variable-cell `lbfgs` and `bfgs` (a stage's `cell:` filter) against ASE
3.22's LBFGS and BFGS on its UnitCellFilter and ExpCellFilter, structure
by structure, step by step.

Structures, in ONE batch per run: Cu-like Lennard-Jones cells (a strained,
tilted 2x2x1 fcc supercell of 16 atoms with displaced atoms; a strained
4-atom conventional cell, smaller than the cutoff; a 1-atom primitive cell,
whose atom feels no force: only the stress moves it; the 16-atom cell with
three fixed atoms, ASE's FixAtoms as the move_mask column), and EAM crystals
(LAMMPS's AlCu.eam.alloy: strained Cu with a vacancy, a strained random
Cu/Al alloy). ASE relaxes each alone: LBFGS(UnitCellFilter(atoms, ...)),
BFGS(ExpCellFilter(atoms, ...)) and so on, LJ with its own LennardJones
(shifted at rc, as the campaign's shift: true), EAM through
bmd.Calculator(bmd.models.EAM(file)) (batchmd's EAM, equal to LAMMPS's:
the optimizer and the filter are under test here, not the potential).

Asserted per structure: the same number of steps (steps_relax = ASE's
nsteps: the fmax test on the filter's forces, cell rows included), the
same convergence flag, the energy at every step (the log, every: 1) within
1e-10 eV, the final cell and positions within 1e-8 Å. Cases: lbfgs with
unit, bfgs with unit, lbfgs with exp under 20 kbar (ASE's scalar_pressure),
bfgs with exp and a mask (xx, yy, zz only), lbfgs with memory 3 and unit,
hydrostatic; the EAM crystals with lbfgs/unit and bfgs/exp with the mask.
The bfgs/unit and memory-3 runs again under a budget of a few systems
refilled every step give bitwise the same frames and logged energies."""
from pylib import Checks, BATCHMD  # first: puts the build tree's batchmd on sys.path

import csv
import os
import subprocess
import tempfile

import numpy as np
import ase.io
from ase import units
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.constraints import ExpCellFilter, FixAtoms, UnitCellFilter
from ase.optimize import BFGS, LBFGS

import batchmd as bmd

EPS, SIG, RC = 0.415, 2.277, 5.7  # Cu-like LJ (fcc a = 3.615 Å)
FMAX, MAXSTEPS = 1e-3, 150
EAM_FILE = "/usr/share/lammps/potentials/AlCu.eam.alloy"
LJ_MODEL = "{type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}" % (EPS, SIG, RC)
EAM_MODEL = "{type: eam, file: %s}" % EAM_FILE
E_TOL, X_TOL = 1e-10, 1e-8

c = Checks()
rng = np.random.default_rng(161)


def strained(a, e):
    a.set_cell(a.cell[:] @ (np.eye(3) + np.array(e)), scale_atoms=True)
    return a


def lj_frames():
    a = strained(bulk("Cu", "fcc", a=3.70, cubic=True).repeat((2, 2, 1)),
                 [[0.03, 0.02, 0.0], [0.0, -0.02, 0.015], [0.01, 0.0, 0.025]])
    a.positions += rng.normal(0, 0.04, a.positions.shape)
    b = strained(bulk("Cu", "fcc", a=3.55, cubic=True), [[-0.02, 0, 0.03], [0, 0.04, 0], [0, 0.01, 0.0]])
    b.positions += rng.normal(0, 0.05, b.positions.shape)
    p = strained(bulk("Cu", "fcc", a=3.68), [[0.02, 0.01, 0], [0, -0.01, 0], [0, 0, 0.03]])
    f = a.copy()  # fixed atoms: ASE's FixAtoms (the stage carries them with the cell, as ASE's filters do)
    f.positions += rng.normal(0, 0.03, f.positions.shape)
    f.set_constraint(FixAtoms(indices=[1, 6, 11]))
    return [a, b, p, f]


def eam_frames():
    cu = strained(bulk("Cu", "fcc", a=3.66, cubic=True).repeat((2, 2, 2)), [[0.01, 0.01, 0], [0, -0.01, 0], [0, 0, 0.02]])
    del cu[5]
    alloy = bulk("Cu", "fcc", a=3.80, cubic=True).repeat((2, 2, 1))
    alloy.symbols[[1, 4, 6, 11, 13]] = "Al"
    alloy = strained(alloy, [[0.0, 0.02, 0], [0.01, 0.01, 0], [0, 0, -0.01]])
    for a in (cu, alloy):
        a.positions += rng.normal(0, 0.05, a.positions.shape)
    return [cu, alloy]


def write_input(w, frames):
    """w/in.extxyz (FixAtoms as ASE's move_mask column); the frames become
    what ASE reads back: the digits the file holds, FixAtoms (ASE starts there)"""
    path = os.path.join(w, "in.extxyz")
    for k, a in enumerate(frames):
        cols = ["symbols", "positions"] + (["move_mask"] if a.constraints else [])
        ase.io.write(path, a, format="extxyz", columns=cols, append=k > 0)
    frames[:] = ase.io.read(path, ":")


def batchmd_run(d, name, frames, model, stage, batch="{max_atoms: 5000, refill_every: 10}"):
    w = os.path.join(d, name)
    os.makedirs(w)
    write_input(w, frames)
    with open(os.path.join(w, "c.yaml"), "w") as f:
        f.write("model: %s\ninput: in.extxyz\nstages: {relax: %s}\nbatch: %s\n"
                "output: {final: final.extxyz, log: {file: log.csv, every: 1}}\n" % (model, stage, batch))
    r = subprocess.run([BATCHMD, "run", "-q", "c.yaml"], cwd=w, capture_output=True, text=True, timeout=600)
    c.check(r.returncode == 0, "%s: exit %d (stderr: %s)" % (name, r.returncode, r.stderr))
    if r.returncode:
        return {}, {}
    final = {a.info["system_id"]: a for a in ase.io.read(os.path.join(w, "final.extxyz"), ":")}
    energies = {}
    with open(os.path.join(w, "log.csv")) as f:
        for row in csv.DictReader(f):
            energies.setdefault(int(row["system_id"]), []).append((int(row["step"]), float(row["energy_eV"])))
    return final, energies


def compare(label, frames, ours, opt_class, opt_kw, filt, filt_kw, calc_of):
    final, energies = ours
    c.check(sorted(final) == list(range(len(frames))), "%s: every system once" % label)
    for i, ref in enumerate(frames):
        if i not in final:
            continue
        ref = ref.copy()
        ref.calc = calc_of()
        opt = opt_class(filt(ref, **filt_kw), logfile=None, **opt_kw)
        seen = []
        opt.attach(lambda: seen.append(ref.get_potential_energy()))
        conv = opt.run(fmax=FMAX, steps=MAXSTEPS)
        out = final[i]
        steps = out.info.get("steps_relax")
        c.check(steps == opt.nsteps, "%s, system %d (%d atoms): %s steps, ASE %d" % (label, i, len(ref), steps,
                                                                                   opt.nsteps))
        c.check(bool(out.info.get("converged_relax")) == bool(conv), "%s, system %d: converged flag" % (label, i))
        logged = energies.get(i, [])
        c.check([s for s, _ in logged] == list(range(len(seen))),
                "%s, system %d: one log row per step, 0 to ASE's %d" % (label, i, opt.nsteps))
        de = max((abs(e - ours_e) for e, (_, ours_e) in zip(seen, logged)), default=np.inf)
        dcell = np.abs(out.cell[:] - ref.cell[:]).max()
        dx = np.abs(out.positions - ref.positions).max()
        c.check(de <= E_TOL, "%s, system %d: energies differ from ASE's by up to %.3g eV" % (label, i, de))
        c.check(dcell <= X_TOL and dx <= X_TOL, "%s, system %d: final cell and positions differ from ASE's by %.3g, "
                "%.3g Å" % (label, i, dcell, dx))
        print("  %s %d: %2d atoms  steps %3d (ASE %3d, converged %d)  max |dE| per step %.1e eV  cell %.1e Å" %
              (label, i, len(ref), steps, opt.nsteps, conv, de, dcell), flush=True)


def lj_calc():
    return LennardJones(epsilon=EPS, sigma=SIG, rc=RC)


def eam_calc():
    return bmd.Calculator(bmd.models.EAM(EAM_FILE))


# (label, stage's type and keys, ASE optimizer, its keywords, filter, its keywords)
P = 20000.0  # bar
CASES = [
    ("lbfgs unit", "type: lbfgs, cell: {filter: unit}", LBFGS, {}, UnitCellFilter, {}),
    ("bfgs unit", "type: bfgs, cell: {filter: unit}", BFGS, {}, UnitCellFilter, {}),
    ("lbfgs exp 20 kbar", "type: lbfgs, cell: {filter: exp, pressure: %r}" % P, LBFGS, {}, ExpCellFilter,
     {"scalar_pressure": P * units.bar}),
    ("bfgs exp mask", "type: bfgs, maxstep: 0.1, cell: {filter: exp, mask: [xx, yy, zz]}", BFGS, {"maxstep": 0.1},
     ExpCellFilter, {"mask": [1, 1, 1, 0, 0, 0]}),
    ("lbfgs memory 3 unit hydrostatic", "type: lbfgs, memory: 3, cell: {filter: unit, hydrostatic: true}", LBFGS,
     {"memory": 3}, UnitCellFilter, {"hydrostatic_strain": True}),
]

with tempfile.TemporaryDirectory() as d:
    conv = "fmax: %r, max_steps: %d" % (FMAX, MAXSTEPS)
    tight_batch = "{max_atoms: 20, refill_every: 1}"  # (16 + 4 + 1 + 16 atoms: a few at a time)
    for k, (label, stage, opt, opt_kw, filt, filt_kw) in enumerate(CASES):
        frames = lj_frames()
        ours = batchmd_run(d, "lj%d" % k, frames, LJ_MODEL, "{%s, %s}" % (stage, conv))
        compare(label, frames, ours, opt, opt_kw, filt, filt_kw, lj_calc)
        if k in (1, 4):  # compaction every step: Hessian rows, histories and the filter's state move
            tight = batchmd_run(d, "lj%d_tight" % k, frames, LJ_MODEL, "{%s, %s}" % (stage, conv),
                                batch=tight_batch)
            for i in ours[0]:
                a, b = ours[0][i], tight[0].get(i)
                same = b is not None and np.array_equal(a.positions, b.positions) and \
                    np.array_equal(a.cell[:], b.cell[:]) and ours[1][i] == tight[1].get(i)
                c.check(same, "%s under a tight budget: system %d bitwise identical" % (label, i))
    for k, (label, stage, opt, opt_kw, filt, filt_kw) in enumerate((CASES[0], CASES[3])):
        frames = eam_frames()
        ours = batchmd_run(d, "eam%d" % k, frames, EAM_MODEL, "{%s, %s}" % (stage, conv))
        compare("eam " + label, frames, ours, opt, opt_kw, filt, filt_kw, eam_calc)
c.finish()
