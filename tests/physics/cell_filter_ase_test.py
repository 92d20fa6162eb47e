#!/usr/bin/python3
"""cell_filter_ase_test.py — variable-cell FIRE (`cell:` of a fire stage)
against ASE 3.22's FIRE on its UnitCellFilter and ExpCellFilter, step for
step, and the filters themselves against ASE at large deformations.

1. `batchmd run` relaxes three perturbed Cu-like Lennard-Jones cells in ONE
   batch — a 2x2x1 fcc supercell under a non-hydrostatic strain of a few %
   with a tilt and random displacements, a conventional 4-atom cell (smaller
   than the cutoff), and a 1-atom primitive cell (no force on its atom: only
   the stress moves it) — for every case below; ASE relaxes each alone with
   FIRE(UnitCellFilter(...)) or FIRE(ExpCellFilter(...)) and its own
   LennardJones (shifted at rc, as the campaign's shift: true). Asserted
   per structure: the same number of steps (steps_relax = ASE's nsteps), the
   same convergence flag, the energy at EVERY step (the log, every: 1) to
   1e-10 eV, the final cell to 1e-8 Å. Cases: plain, a pressure
   (ASE's scalar_pressure), hydrostatic (hydrostatic_strain), a mask,
   constant_volume, and (unit) a cell_factor; then unit and exp (10 kbar)
   with fixed atoms (ASE's FixAtoms, the input's move_mask column) in two
   of the three structures.
2. tests/tools/cell_filter_eval against ASE's filters on a strained cell
   whose cell at entry is far from it (deformation gradients up to e^±3,
   not symmetric): get_positions and get_forces to 1e-12 (relative) for
   unit and exp — the largest case takes ExpCellFilter's Fréchet branch,
   checked here — and frechet against ASE 3.23's FrechetCellFilter
   formulas written out below with scipy's logm and expm_frechet.
3. Batch independence: each filter under a budget of 17 atoms refilled
   every step (16 + 4 + 1 atoms to relax: systems wait, are compacted and
   move between slots, their filter state in columns) ends bitwise where
   a roomy batch ends.
4. A target stress and pressure (cell.stress, per structure stress_xx= and
   pressure= on the info line): at convergence the stress ASE's
   LennardJones gives on the relaxed cell is target − p I within the bound
   the convergence test implies, |σ − σ_t|_row <= fmax c ‖F‖ e^‖log F‖ / V
   (c the cell factor, F the deformation gradient, V the volume).

Prints "N passed, M failed"."""
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np
import ase.io
from ase import units
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.constraints import ExpCellFilter, FixAtoms, UnitCellFilter
from ase.optimize import FIRE
from scipy.linalg import expm, expm_frechet, logm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from testlib import Checks, run  # noqa: E402

EPS, SIG, RC = 0.415, 2.277, 5.7  # Cu-like LJ (fcc a = 3.615 Å)
FMAX, MAX_STEPS = 1e-3, 2000
TOOLS = os.environ.get("BATCHMD_TOOLS", os.path.join(os.path.dirname(__file__), "..", "..", "build", "tests", "tools"))
VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


def structures():
    rng = np.random.default_rng(16)
    out = []
    a = bulk("Cu", "fcc", a=3.70, cubic=True).repeat((2, 2, 1))
    strain = np.eye(3) + np.array([[0.03, 0.02, 0.0], [0.0, -0.02, 0.015], [0.01, 0.0, 0.025]])
    a.set_cell(a.cell[:] @ strain, scale_atoms=True)
    a.positions += rng.normal(0, 0.04, a.positions.shape)
    out.append(a)
    b = bulk("Cu", "fcc", a=3.55, cubic=True)
    b.set_cell(b.cell[:] @ (np.eye(3) + np.array([[-0.02, 0, 0.03], [0, 0.04, 0], [0, 0.01, 0.0]])), scale_atoms=True)
    b.positions += rng.normal(0, 0.05, b.positions.shape)
    out.append(b)
    p = bulk("Cu", "fcc", a=3.68)  # primitive, 1 atom
    p.set_cell(p.cell[:] @ (np.eye(3) + np.array([[0.02, 0.01, 0], [0, -0.01, 0], [0, 0, 0.03]])), scale_atoms=True)
    out.append(p)
    return out


# (name, filter, cell: mapping, ASE filter keywords)
CASES = [
    ("unit", "unit", {}, {}),
    ("exp", "exp", {}, {}),
    ("unit, 20 kbar", "unit", {"pressure": 20000.0}, {"scalar_pressure": 20000.0 * units.bar}),
    ("exp, -5 kbar", "exp", {"pressure": -5000.0}, {"scalar_pressure": -5000.0 * units.bar}),
    ("unit, hydrostatic", "unit", {"hydrostatic": True}, {"hydrostatic_strain": True}),
    ("exp, hydrostatic", "exp", {"hydrostatic": True}, {"hydrostatic_strain": True}),
    ("unit, mask", "unit", {"mask": "[xx, yy, yz]"}, {"mask": [1, 1, 0, 1, 0, 0]}),
    ("exp, mask", "exp", {"mask": "[1, 0, 1, 1, 1, 0]"}, {"mask": [1, 0, 1, 1, 1, 0]}),
    ("unit, constant_volume", "unit", {"constant_volume": True}, {"constant_volume": True}),
    ("exp, constant_volume, 5 kbar", "exp", {"constant_volume": True, "pressure": 5000.0},
     {"constant_volume": True, "scalar_pressure": 5000.0 * units.bar}),
    ("unit, cell_factor 2.5", "unit", {"cell_factor": 2.5}, {"cell_factor": 2.5}),
]


def yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else repr(v)


def campaign(d, cell, fmax=FMAX, inp="in.extxyz", batch="", out="out.extxyz"):
    text = ("model: {type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}\n"
            "input: %s\n"
            "stages: {relax: {type: fire, fmax: %r, max_steps: %d, cell: {%s}}}\n"
            "output: {final: %s, failed: failed.extxyz, log: {file: log.csv, every: 1}}\n%s"
            % (EPS, SIG, RC, inp, fmax, MAX_STEPS, ", ".join("%s: %s" % (k, yaml_value(v)) for k, v in cell.items()),
               out, batch))
    path = os.path.join(d, "c.yaml")
    with open(path, "w") as f:
        f.write(text)
    return run("run", "-q", path, cwd=d)


def step_for_step(c, d, frames, cases=CASES, inp="in.extxyz"):
    for name, filt, cell, akw in cases:
        r = campaign(d, dict({"filter": filt}, **cell), inp=inp)
        c.check(r.returncode == 0, "%s: batchmd run exit %d: %s" % (name, r.returncode, r.stderr.strip()))
        if r.returncode:
            continue
        got = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "out.extxyz"), ":")}
        log = {}
        for row in csv.DictReader(open(os.path.join(d, "log.csv"))):
            log.setdefault(int(row["system_id"]), []).append((int(row["step"]), float(row["energy_eV"])))
        for i, start in enumerate(frames):
            ref = start.copy()  # (with its FixAtoms, if any)
            ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
            filt_obj = (UnitCellFilter if filt == "unit" else ExpCellFilter)(ref, **akw)
            opt = FIRE(filt_obj, logfile=None)
            energies = []
            opt.attach(lambda: energies.append(ref.get_potential_energy()))
            conv = opt.run(fmax=FMAX, steps=MAX_STEPS)
            out = got.get(i)
            c.check(out is not None, "%s: structure %d is in final" % (name, i))
            if out is None:
                continue
            steps = out.info.get("steps_relax")
            ours = [e for _, e in sorted(log.get(i, []))]
            de = max(abs(x - y) for x, y in zip(ours, energies)) if ours else float("inf")
            dcell = np.abs(out.cell[:] - ref.cell[:]).max()
            print("  %-30s %d (%2d atoms): %4s steps (ASE %4d), converged %s (ASE %s), max |ΔE| per step %.1e eV, "
                  "|Δcell| %.1e Å" % (name, i, len(ref), steps, opt.nsteps, out.info.get("converged_relax"), conv,
                                      de, dcell), flush=True)
            c.check(steps == opt.nsteps, "%s: structure %d: %s steps, ASE %d" % (name, i, steps, opt.nsteps))
            c.check(bool(out.info.get("converged_relax")) == bool(conv), "%s: structure %d: converged flag" % (name, i))
            c.check(len(ours) == len(energies), "%s: structure %d: %d logged steps, ASE %d"
                    % (name, i, len(ours), len(energies)))
            c.check(de <= 1e-10, "%s: structure %d: energies differ from ASE's by up to %.3g eV" % (name, i, de))
            c.check(dcell <= 1e-8, "%s: structure %d: final cell differs from ASE's by %.3g Å" % (name, i, dcell))


def batch_independence(c, d):
    """A budget of 17 atoms (16 + 4 + 1 to relax) refilled every step (the systems take turns,
    compacted and moved between slots): bitwise the same final frames."""
    for filt in ("unit", "exp", "frechet"):
        runs = []
        for tag, batch in (("roomy", ""), ("tight", "batch: {max_atoms: 17, refill_every: 1}\n")):
            r = campaign(d, {"filter": filt, "pressure": 3000.0}, batch=batch, out=tag + ".extxyz")
            c.check(r.returncode == 0, "%s, %s budget: exit %d: %s" % (filt, tag, r.returncode, r.stderr.strip()))
            runs.append({a.info["system_id"]: a for a in ase.io.read(os.path.join(d, tag + ".extxyz"), ":")}
                        if r.returncode == 0 else {})
        same = sorted(runs[0]) == sorted(runs[1]) == [0, 1, 2] and all(
            np.array_equal(runs[0][i].positions, runs[1][i].positions) and
            np.array_equal(runs[0][i].cell[:], runs[1][i].cell[:]) and
            runs[0][i].get_potential_energy() == runs[1][i].get_potential_energy() and
            runs[0][i].info["steps_relax"] == runs[1][i].info["steps_relax"] for i in runs[0])
        print("  %-7s a 17-atom budget refilled every step: %s" % (filt, "bitwise the same" if same else "DIFFERENT"))
        c.check(same, "%s: a tight budget refilled every step gives bitwise the same final frames" % filt)


def tool(d, filt, frames, *params):
    path = os.path.join(d, "two.extxyz")
    ase.io.write(path, frames, format="extxyz")
    r = subprocess.run([os.path.join(TOOLS, "cell_filter_eval"), filt, path, repr(EPS), repr(SIG), repr(RC)]
                       + list(params), capture_output=True, text=True)
    if r.returncode:
        return None, r.stderr
    v = np.array(r.stdout.split(), float).reshape(-1, 3)
    return (v[:len(v) // 2], v[len(v) // 2:]), ""


def frechet_ase323(atoms, orig_cell, p):
    """ASE 3.23's FrechetCellFilter.get_positions / get_forces (no mask, the
    default exp_cell_factor = N), written out; positions without ASE's
    constant c log(N) I shift."""
    n = len(atoms)
    F = np.linalg.solve(orig_cell, atoms.cell[:]).T
    L = logm(F)
    pos = np.vstack([np.linalg.solve(F, atoms.positions.T).T, n * L])
    W = -atoms.get_volume() * (atoms.get_stress(voigt=False) + p * np.eye(3))
    G = W @ np.linalg.inv(F.T)
    D = np.zeros((3, 3))
    for mu in range(3):
        for nu in range(3):
            E = np.zeros((3, 3))
            E[mu, nu] = 1.0
            D[mu, nu] = np.sum(expm_frechet(L, E, compute_expm=False) * G)
    return pos, np.vstack([atoms.get_forces() @ F, D / n])


def large_deformations(c, d):
    rng = np.random.default_rng(7)
    a = bulk("Cu", "fcc", a=3.62, cubic=True)
    a.set_cell(a.cell[:] + rng.normal(0, 0.05, (3, 3)), scale_atoms=True)
    a.positions += rng.normal(0, 0.05, a.positions.shape)
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    branch = False
    for lam in ([0.05, 0.02, -0.03], [1.0, 0.0, -1.0], [3.0, 0.0, -3.0]):
        U = Q @ np.diag(lam) @ Q.T + 0.05 * rng.normal(size=(3, 3))  # (not symmetric)
        orig = a.copy()
        orig.set_cell(a.cell[:] @ np.linalg.inv(expm(U).T))  # C = C0 Fᵀ with F = e^U
        ase.io.write(os.path.join(d, "two.extxyz"), [a, orig], format="extxyz")
        a2, orig2 = ase.io.read(os.path.join(d, "two.extxyz"), ":")  # the digits the file holds
        p = 1000.0 * units.bar
        for filt, cls in (("unit", UnitCellFilter), ("exp", ExpCellFilter)):
            ref = orig2.copy()
            ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
            f = cls(ref, scalar_pressure=p)  # orig_cell: the entry cell
            ref.set_cell(a2.cell, scale_atoms=False)
            ref.positions = a2.positions
            (pos, frc), err = tool(d, filt, [a2, orig2], "pressure=1000")
            c.check(pos is not None, "%s, log-eigenvalues %s: cell_filter_eval: %s" % (filt, lam, err))
            if pos is None:
                continue
            pa, fa = f.get_positions(), f.get_forces()
            dp = np.abs(pos - pa).max() / max(1.0, np.abs(pa).max())
            df = np.abs(frc - fa).max() / np.abs(fa).max()
            if filt == "exp":
                naive = -ref.get_volume() * (ref.get_stress(voigt=False) + p * np.eye(3))
                took = not np.allclose(fa[-3:], naive)
                branch |= took
            print("  %-7s log-eigenvalues %-18s positions %.1e, forces %.1e (relative)%s"
                  % (filt, lam, dp, df, ", ExpCellFilter's Fréchet branch" if filt == "exp" and took else ""))
            c.check(dp <= 1e-12 and df <= 1e-12, "%s, log-eigenvalues %s: positions %.3g, forces %.3g from ASE's"
                    % (filt, lam, dp, df))
        ref = a2.copy()
        ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
        pa, fa = frechet_ase323(ref, orig2.cell[:], p)
        (pos, frc), err = tool(d, "frechet", [a2, orig2], "pressure=1000")
        if pos is not None:
            dp = np.abs(pos - pa).max() / max(1.0, np.abs(pa).max())
            df = np.abs(frc - fa).max() / np.abs(fa).max()
            print("  %-7s log-eigenvalues %-18s positions %.1e, forces %.1e (relative)" % ("frechet", lam, dp, df))
            c.check(dp <= 1e-12 and df <= 1e-12, "frechet, log-eigenvalues %s: positions %.3g, forces %.3g from "
                    "ASE 3.23's formulas" % (lam, dp, df))
        else:
            c.check(False, "frechet: cell_filter_eval: %s" % err)
    c.check(branch, "the largest deformation takes ExpCellFilter's Fréchet branch (the test covers it)")


def target_stress(c, d, frames):
    """cell.stress and pressure, with per-structure overrides."""
    fmax = 1e-4
    target = [-3000.0, 2000.0, 500.0, 1000.0, -800.0, 300.0]  # bar, Voigt, ASE's sign
    inp = [f.copy() for f in frames[:2]]
    inp[1].info["pressure"] = 4000.0
    inp[1].info["stress_yz"] = -1500.0
    ase.io.write(os.path.join(d, "stress_in.extxyz"), inp, format="extxyz")
    for filt in ("unit", "exp", "frechet"):
        r = campaign(d, {"filter": filt, "pressure": 1000.0, "stress": "[%s]" % ", ".join(map(repr, target))},
                     fmax=fmax, inp="stress_in.extxyz")
        c.check(r.returncode == 0, "target stress, %s: exit %d: %s" % (filt, r.returncode, r.stderr.strip()))
        if r.returncode:
            continue
        got = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "out.extxyz"), ":")}
        for i in range(2):
            out = got.get(i)
            if out is None:
                c.check(False, "target stress, %s: structure %d missing" % (filt, i))
                continue
            t = list(target)
            p = 1000.0
            if i == 1:
                p, t[3] = 4000.0, -1500.0
            want = np.zeros((3, 3))
            for k, (x, y) in enumerate(VOIGT):
                want[x, y] = want[y, x] = t[k] * units.bar
            want -= p * units.bar * np.eye(3)
            atoms = out.copy()
            atoms.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
            sigma = atoms.get_stress(voigt=False)
            n, vol = len(atoms), atoms.get_volume()
            # converged: every cell row of the filter's forces is < fmax. With
            # W = −V (σ − σ_t) and c the cell factor, unit's rows are (W F⁻ᵀ)/c, exp's
            # W, frechet's L_exp(Uᵀ, W F⁻ᵀ)/c (U = log F, ‖L_exp(Uᵀ, ·)⁻¹‖ <= e^‖U‖):
            # a row of W is at most fmax c ‖F‖ e^‖U‖ (c = 1 and no factors for exp)
            F = np.linalg.solve(inp[i].cell[:], atoms.cell[:]).T
            grow = np.linalg.norm(F, 2) * np.exp(np.linalg.norm(logm(F), 2))
            bound = fmax * {"unit": n * grow, "exp": 1.0, "frechet": n * grow}[filt] / vol
            err = np.sqrt(((sigma - want) ** 2).sum(axis=1)).max()
            print("  target stress, %-7s structure %d: converged %s in %s steps, max row |σ − σ_t| %.2e eV/Å³ "
                  "(bound %.2e)" % (filt, i, out.info.get("converged_relax"), out.info.get("steps_relax"), err, bound))
            c.check(out.info.get("converged_relax") is True or out.info.get("converged_relax") == 1,
                    "target stress, %s: structure %d converged" % (filt, i))
            c.check(err <= bound, "target stress, %s: structure %d: |σ − σ_t| %.3g eV/Å³ above %.3g"
                    % (filt, i, err, bound))


def main():
    c = Checks()
    with tempfile.TemporaryDirectory() as d:
        ase.io.write(os.path.join(d, "in.extxyz"), structures(), format="extxyz")
        frames = ase.io.read(os.path.join(d, "in.extxyz"), ":")  # ASE starts from the digits the file holds
        step_for_step(c, d, frames)
        # fixed atoms (ASE's FixAtoms, as the input's move_mask column): the
        # stage holds them as ASE does under a filter (carried with the cell)
        fixed = [a.copy() for a in frames]
        fixed[0].set_constraint(FixAtoms(indices=[1, 6, 11]))
        fixed[1].set_constraint(FixAtoms(indices=[0]))
        for k, a in enumerate(fixed):  # (frame by frame: ASE 3.22 writes one frame's mask for all)
            ase.io.write(os.path.join(d, "fixed.extxyz"), a, format="extxyz", append=k > 0,
                         columns=["symbols", "positions"] + (["move_mask"] if a.constraints else []))
        fixed = ase.io.read(os.path.join(d, "fixed.extxyz"), ":")
        c.check(len(fixed[0].constraints) == 1 and len(fixed[1].constraints) == 1, "fixed atoms written as move_mask")
        step_for_step(c, d, fixed, [("unit, fixed atoms", "unit", {}, {}), ("exp, fixed atoms, 10 kbar", "exp",
                                     {"pressure": 10000.0}, {"scalar_pressure": 10000.0 * units.bar})],
                      inp="fixed.extxyz")
        batch_independence(c, d)
        large_deformations(c, d)
        target_stress(c, d, frames)
    c.finish()


if __name__ == "__main__":
    main()
