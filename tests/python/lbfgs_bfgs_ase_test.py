#!/usr/bin/python3
"""`batchmd run` with `lbfgs` and `bfgs` stages against ASE 3.22's
ase.optimize.LBFGS and ase.optimize.BFGS, structure by structure, step by
step.

Structures, all of one model in ONE batch (different sizes): perturbed
Lennard-Jones clusters (icosahedra of 13 and 55 atoms, an octahedron of 19,
a decahedron of 13) and periodic fcc cells with a vacancy (31 atoms); and
perturbed periodic EAM crystals (LAMMPS's AlCu.eam.alloy: Cu with a
vacancy, Al, a random Cu/Al alloy; 31 to 48 atoms). Three of them have
fixed atoms (ASE's FixAtoms, the input's move_mask column: the stage holds
them, as ASE's constraint does around its optimizers).

References: ASE's own optimizers, one structure at a time, with ASE's
defaults (LBFGS: maxstep 0.2, memory 100, damping 1.0, alpha 70; BFGS:
maxstep 0.2, alpha 70) or the same non-default values as the campaign.
Forces: LJ from ASE's LennardJones (same epsilon, sigma, rc; ASE 3.22
shifts the pair energy to 0 at rc: batchmd's shift: true); EAM through
bmd.Calculator(bmd.EAM(file)), batchmd's EAM in ASE (its energies equal
LAMMPS's to 1e-12: tests/physics/eam_lammps_test.py): here the optimizer
is under test, not the potential, and ASE has no EAM with LAMMPS's splines.

Asserted per structure: the same number of steps (steps_S = ASE's nsteps),
the same convergence flag, the energy at every step (the log, every: 1,
against an observer of ASE's optimizer) within 1e-10 eV, final positions
within 1e-8 Å. Runs: LBFGS with per-structure overrides of maxstep, alpha
and damping from the info line; LBFGS with memory 3 (the history wraps
many times); BFGS with per-structure maxstep and alpha; EAM with both.

Batch independence: the memory-3 LBFGS and the BFGS runs again under a
budget of one or two systems refilled every step (compaction every step:
the per-atom histories and BFGS's Hessian rows move) give bitwise the same
frames. Checkpoints: a `bfgs + lbfgs` campaign killed twice mid-relaxation
(SIGKILL after loop steps 12 and 30, a checkpoint every round) and resumed
writes final and log files byte-identical to an uninterrupted run."""
from pylib import Checks, BATCHMD  # first: puts the build tree's batchmd on sys.path

import csv
import os
import signal
import subprocess
import tempfile

import numpy as np
import ase.io
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.cluster import Decahedron, Icosahedron, Octahedron
from ase.constraints import FixAtoms
from ase.optimize import BFGS, LBFGS

import batchmd as bmd

EPS, SIG, RC = 0.0104, 3.40, 8.5
FMAX, MAXSTEPS = 0.001, 180
EAM_FILE = "/usr/share/lammps/potentials/AlCu.eam.alloy"
LJ_MODEL = "{type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}" % (EPS, SIG, RC)
EAM_MODEL = "{type: eam, file: %s}" % EAM_FILE
E_TOL, X_TOL = 1e-10, 1e-8

c = Checks()
rng = np.random.default_rng(16)


def lj_frames():
    a0 = 2 ** (1 / 6) * SIG * np.sqrt(2)
    out = [Icosahedron("Ar", 2, latticeconstant=a0), Octahedron("Ar", 3, latticeconstant=a0),
           Decahedron("Ar", 2, 2, 0, latticeconstant=a0), Icosahedron("Ar", 3, latticeconstant=a0)]
    for k, a in enumerate(out):
        a.rattle(0.15, seed=k)
    for k in range(2):
        a = bulk("Ar", "fcc", a=a0 * (1.0 + 0.01 * k), cubic=True).repeat((2, 2, 2))
        del a[k * 5]
        a.positions += rng.normal(0, 0.1, a.positions.shape)
        out.append(a)
    out[3].set_constraint(FixAtoms(indices=[0, 5, 17, 40]))  # fixed atoms (ASE's FixAtoms)
    out[5].set_constraint(FixAtoms(indices=[2, 3]))
    return out


def eam_frames():
    cu = bulk("Cu", "fcc", a=3.63, cubic=True).repeat((2, 2, 2))
    del cu[3]
    al = bulk("Al", "fcc", a=4.03, cubic=True).repeat((3, 2, 2))
    alloy = bulk("Cu", "fcc", a=3.85, cubic=True).repeat((2, 2, 2))
    alloy.symbols[rng.permutation(len(alloy))[:12]] = "Al"
    for a in (cu, al, alloy):
        a.positions += rng.normal(0, 0.08, a.positions.shape)
    al.set_constraint(FixAtoms(indices=range(0, 48, 7)))
    return [cu, al, alloy]


def write_input(w, frames):
    """writes frames to w/in.extxyz (FixAtoms as ASE's move_mask column), and
    replaces them by what ASE reads back: the digits the file holds, its
    FixAtoms (ASE starts there)"""
    path = os.path.join(w, "in.extxyz")
    for k, a in enumerate(frames):
        cols = ["symbols", "positions"] + (["move_mask"] if a.constraints else [])
        ase.io.write(path, a, format="extxyz", columns=cols, append=k > 0)
    frames[:] = ase.io.read(path, ":")


def campaign(model, stages, pipeline=None, batch="{max_atoms: 5000, refill_every: 10}", extra=""):
    text = "model: %s\ninput: in.extxyz\nstages: %s\n" % (model, stages)
    if pipeline:
        text += "pipeline: %s\n" % pipeline
    text += "batch: %s\noutput: {final: final.extxyz, log: {file: log.csv, every: 1}%s}\n" % (batch, extra)
    return text


def batchmd_run(d, name, frames, model, stages, **kw):
    """Runs the campaign in folder d/name; returns (frames by system_id, {id: [energy per step]})."""
    w = os.path.join(d, name)
    os.makedirs(w)
    write_input(w, frames)
    with open(os.path.join(w, "c.yaml"), "w") as f:
        f.write(campaign(model, stages, **kw))
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


def compare(label, frames, ours, opt_class, params_of, calc_of):
    final, energies = ours
    c.check(sorted(final) == list(range(len(frames))), "%s: every system once" % label)
    for i, ref in enumerate(frames):
        if i not in final:
            continue
        ref = ref.copy()
        ref.calc = calc_of()
        fixed = [i for k in ref.constraints for i in k.get_indices()]
        opt = opt_class(ref, logfile=None, **params_of(ref))
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
        dx = np.abs(out.positions - ref.positions).max()
        if fixed:
            c.check(np.array_equal(out.positions[fixed], frames[i].positions[fixed]),
                    "%s, system %d: fixed atoms %s where they started" % (label, i, fixed))
        c.check(de <= E_TOL, "%s, system %d: energies differ from ASE's by up to %.3g eV" % (label, i, de))
        c.check(dx <= X_TOL, "%s, system %d: final positions differ from ASE's by %.3g Å" % (label, i, dx))
        print("  %s %2d: %2d atoms pbc=%d  steps %3d (ASE %3d)  max |dE| per step %.1e eV  dx %.1e Å" %
              (label, i, len(ref), ref.pbc.any(), steps, opt.nsteps, de, dx), flush=True)


def overrides(frames, pairs):
    """frames[k].info.update(pairs[k]) for the frames with overrides"""
    for k, kv in pairs.items():
        frames[k].info.update(kv)
    return frames


def from_info(names, **stage):
    """ASE's keyword arguments: the stage's values, overridden by the info line."""
    def params(atoms):
        p = dict(stage)
        for n in names:
            if n in atoms.info:
                p[n] = float(atoms.info[n])
        return p
    return params


def lj_calc():
    return LennardJones(epsilon=EPS, sigma=SIG, rc=RC)


def eam_calc():
    return bmd.Calculator(bmd.models.EAM(EAM_FILE))


def same_bits(label, a, b):
    for i in a[0]:
        same = i in b[0] and np.array_equal(a[0][i].positions, b[0][i].positions) and \
            a[0][i].get_potential_energy() == b[0][i].get_potential_energy() and a[1][i] == b[1].get(i)
        c.check(same, "%s: system %d bitwise identical (frames and every logged energy)" % (label, i))


with tempfile.TemporaryDirectory() as d:
    conv = "fmax: %r, max_steps: %d" % (FMAX, MAXSTEPS)
    lj = overrides(lj_frames(), {1: {"maxstep": 0.05}, 3: {"alpha": 40.0, "damping": 0.8}, 4: {"maxstep": 0.1}})
    ours = batchmd_run(d, "lj_lbfgs", lj, LJ_MODEL, "{relax: {type: lbfgs, %s}}" % conv)
    compare("lbfgs", lj, ours, LBFGS, from_info(("maxstep", "alpha", "damping")), lj_calc)

    lj = lj_frames()
    stage = "{relax: {type: lbfgs, memory: 3, maxstep: 0.15, %s}}" % conv
    ours = batchmd_run(d, "lj_lbfgs_m3", lj, LJ_MODEL, stage)
    compare("lbfgs memory 3", lj, ours, LBFGS, from_info((), memory=3, maxstep=0.15), lj_calc)
    tight = batchmd_run(d, "lj_lbfgs_m3_tight", lj, LJ_MODEL, stage, batch="{max_atoms: 60, refill_every: 1}")
    same_bits("lbfgs memory 3 under a tight budget", ours, tight)

    lj = overrides(lj_frames(), {0: {"maxstep": 0.04}, 2: {"alpha": 20.0}})
    ours = batchmd_run(d, "lj_bfgs", lj, LJ_MODEL, "{relax: {type: bfgs, %s}}" % conv)
    compare("bfgs", lj, ours, BFGS, from_info(("maxstep", "alpha")), lj_calc)
    tight = batchmd_run(d, "lj_bfgs_tight", lj, LJ_MODEL, "{relax: {type: bfgs, %s}}" % conv,
                        batch="{max_atoms: 60, refill_every: 1}")
    same_bits("bfgs under a tight budget", ours, tight)

    eam = overrides(eam_frames(), {1: {"maxstep": 0.1}})
    ours = batchmd_run(d, "eam_lbfgs", eam, EAM_MODEL, "{relax: {type: lbfgs, %s}}" % conv)
    compare("eam lbfgs", eam, ours, LBFGS, from_info(("maxstep",)), eam_calc)
    eam = eam_frames()
    ours = batchmd_run(d, "eam_bfgs", eam, EAM_MODEL, "{relax: {type: bfgs, alpha: 50.0, %s}}" % conv)
    compare("eam bfgs", eam, ours, BFGS, from_info((), alpha=50.0), eam_calc)

    # ---- a checkpoint mid-relaxation resumes bit for bit
    frames = lj_frames() + lj_frames()
    stages = "{coarse: {type: bfgs, fmax: 0.02, max_steps: 100}, fine: {type: lbfgs, memory: 4, %s}}" % conv
    batch = "{max_atoms: 80, refill_every: 3}"
    ref_dir = os.path.join(d, "ckpt_ref")
    batchmd_run(d, "ckpt_ref", frames, LJ_MODEL, stages, pipeline="coarse + fine", batch=batch)
    w = os.path.join(d, "ckpt")
    os.makedirs(w)
    write_input(w, frames)
    with open(os.path.join(w, "c.yaml"), "w") as f:
        f.write(campaign(LJ_MODEL, stages, pipeline="coarse + fine", batch=batch,
                         extra=", checkpoint: {file: c.ckpt, every_s: 0}"))
    for k, kill in enumerate(("step:12", "step:30", None)):
        env = dict(os.environ)
        env.pop("BATCHMD_TEST_KILL", None)
        if kill:
            env["BATCHMD_TEST_KILL"] = kill
        r = subprocess.run([BATCHMD, "run", "-q", *(["--resume"] if k else []), "c.yaml"], cwd=w, env=env,
                           capture_output=True, text=True, timeout=600)
        want = -signal.SIGKILL if kill else 0
        c.check(r.returncode == want, "checkpoint: run %d exits %d (got %d: %s)" % (k, want, r.returncode,
                                                                                  r.stderr[-300:]))
    for f in ("final.extxyz", "log.csv"):
        with open(os.path.join(w, f), "rb") as x, open(os.path.join(ref_dir, f), "rb") as y:
            c.check(x.read() == y.read(), "checkpoint: %s byte-identical to the uninterrupted run's" % f)
c.finish()
