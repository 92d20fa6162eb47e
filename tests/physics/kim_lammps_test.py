#!/usr/bin/python3
"""kim_lammps_test.py — batchmd's KIM model against LAMMPS running the same
OpenKIM model (`kim init MODEL metal`, `kim interactions SPECIES`, `run 0`):
energy, forces, virial and per-atom energies (LAMMPS's pe/atom) to 1e-8
relative (forces relative to the largest force, virial relative to its
largest component, per-atom energies to the largest) for
  - an EAM Cu model, a SNAP Cu model (if installed) and a two-list
    Lennard-Jones Ar example model (on fcc Ar) on: an fcc 3x3x3 supercell
    with a vacancy and random displacements (some atoms given to batchmd
    unwrapped by lattice vectors), the 4-atom conventional cell, a 1-atom
    fcc primitive cell (many images of every atom), a displaced 2-atom
    triclinic cell (atoms unwrapped), a (100) slab (p p f) and a cluster
    (f f f);
  - a Stillinger-Weber Si model (three-body) and a Tersoff Si model (asks
    for neighbors of ghosts) on: the 8-atom diamond cell, a displaced 2x2x2
    supercell with a vacancy, a slab.
Every structure of a model is computed in ONE batch by tests/tools/kim_eval.

The LAMMPS virial is recovered from its pressure with zero velocities:
W_ab = -P_ab V / nktv2p, nktv2p = 1.6021765e6 bar per eV/Å³ (units metal).

This module also holds the helpers of the other kim_*_test.py. Prints
"N passed, M failed" and exits nonzero on failure; without the KIM API in
the build or without LAMMPS it says so and passes (nothing to test)."""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import ase.io
from ase.build import bulk, fcc100

NKTV2P = 1.6021765e6
MASS = {"Cu": 63.546, "Si": 28.0855, "Ar": 39.948}
EAM_CU = ["EAM_Dynamo_MendelevKing_2013_Cu__MO_748636486270_005",
          "EAM_Dynamo_MishinMehlPapaconstantopoulos_2001_Cu__MO_346334655118_005"]
SW_SI = ["SW_StillingerWeber_1985_Si__MO_405512056662_006", "SW_StillingerWeber_1985_Si__MO_405512056662_005"]
SNAP_CU = ["SNAP_ZuoChenLi_2019_Cu__MO_931672895580_000", "SNAP_LiHuChen_2018_Cu__MO_529419924683_000"]
# asks for neighbors of ghosts (modelWillNotRequestNeighborsOfNoncontributingParticles = 0)
TERSOFF_SI = ["Tersoff_LAMMPS_Tersoff_1988T3_Si__MO_186459956893_003"]
# two neighbor lists with different cutoffs, one of them with ghost rows
MULTI_AR = ["ex_model_Ar_SLJ_MultiCutoff"]


def tools_dir():
    d = os.environ.get("BATCHMD_TOOLS")
    if not d:
        here = os.path.dirname(os.path.abspath(__file__))
        d = os.path.join(here, "..", "..", "build", "tests", "tools")
    return d


def kim_eval(*args, cwd=None, check=True):
    return subprocess.run([os.path.join(tools_dir(), "kim_eval")] + [str(a) for a in args], cwd=cwd,
                          capture_output=True, text=True, check=check)


def first_installed(candidates):
    """The first candidate model the KIM API has, or None."""
    for name in candidates:
        if kim_eval("info", name, check=False).returncode == 0:
            return name
    return None


def kim_missing_reason():
    """None when the build has KIM, else why the KIM tests cannot run."""
    tool = os.path.join(tools_dir(), "kim_eval")
    if not os.path.exists(tool):
        return "no %s (build the tests)" % tool
    r = kim_eval("list", check=False)
    if r.returncode == 3:
        return "batchmd was built without the KIM API"
    return None


def write_extxyz(path, frames):
    """frames: (symbols, cell, pos, pbc); 17 digits (ASE's writer keeps 8), checked by reading back."""
    with open(path, "w") as f:
        for sy, cell, pos, pbc in frames:
            f.write("%d\n" % len(pos))
            f.write('Lattice="%s" Properties=species:S:1:pos:R:3 pbc="%s"\n'
                    % (" ".join("%.17g" % x for x in np.ravel(cell)), " ".join("T" if p else "F" for p in pbc)))
            for s, p in zip(sy, pos):
                f.write("%s %.17g %.17g %.17g\n" % (s, p[0], p[1], p[2]))
    for (sy, cell, pos, pbc), atoms in zip(frames, ase.io.read(path, ":")):
        assert np.array_equal(atoms.positions, pos) and np.array_equal(atoms.cell[:], cell)
        assert list(atoms.get_chemical_symbols()) == list(sy) and list(atoms.pbc) == list(pbc)


def parse_eval(path, sizes):
    res = {k: [None, np.zeros((n, 3)), None, np.zeros(n)] for k, n in enumerate(sizes)}
    with open(path) as f:
        for line in f:
            w = line.split()
            k = int(w[1])
            if w[0] == "energy":
                res[k][0] = float(w[2])
            elif w[0] == "virial":
                res[k][2] = np.array([float(x) for x in w[2:8]])
            elif w[0] == "force":
                res[k][1][int(w[2])] = [float(x) for x in w[3:6]]
            elif w[0] == "epa":
                res[k][3][int(w[2])] = float(w[3])
    return [res[k] for k in range(len(sizes))]


def run_batchmd(workdir, model, frames, skin=0.5, each=False, tag="in"):
    """All frames in one batch (each=False) or each alone; [(E, F, W, epa)]."""
    path = os.path.join(workdir, tag + ".extxyz")
    write_extxyz(path, frames)
    out = os.path.join(workdir, tag + ".out")
    args = ["eval", model, path, out, skin] + (["each"] if each else [])
    kim_eval(*args, cwd=workdir)
    return parse_eval(out, [len(fr[2]) for fr in frames])


def lammps_form(cell, pos):
    """Rotates a structure so that its cell is LAMMPS's lower-triangular form."""
    q, r = np.linalg.qr(np.asarray(cell, float).T)
    d = np.sign(np.diag(r))
    d[d == 0] = 1
    rot = (q * d).T  # rows: new axes
    return cell @ rot.T, pos @ rot.T


def run_lammps(workdir, model, frame, boundary):
    sy, cell, pos, pbc = frame
    species = sorted(set(sy))
    with open(os.path.join(workdir, "data.txt"), "w") as f:
        f.write("LAMMPS data\n\n%d atoms\n%d atom types\n\n" % (len(pos), len(species)))
        f.write("0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n%.17g %.17g %.17g xy xz yz\n\n"
                % (cell[0, 0], cell[1, 1], cell[2, 2], cell[1, 0], cell[2, 0], cell[2, 1]))
        f.write("Masses\n\n" + "".join("%d %.17g\n" % (k + 1, MASS[s]) for k, s in enumerate(species)))
        f.write("\nAtoms # atomic\n\n")
        for i, (s, p) in enumerate(zip(sy, pos)):
            f.write("%d %d %.17g %.17g %.17g\n" % (i + 1, species.index(s) + 1, p[0], p[1], p[2]))
    lines = ["kim init %s metal" % model, "atom_style atomic", "boundary %s" % boundary, "box tilt large",
             "read_data data.txt", "kim interactions %s" % " ".join(species), "neighbor 1.0 bin",
             "thermo_style custom step pe pxx pyy pzz pyz pxz pxy vol",
             "compute pea all pe/atom",
             "dump 1 all custom 1 forces.dump id fx fy fz c_pea", "dump_modify 1 sort id format float %.17g", "run 0",
             'print "RESULT $(pe:%.17g) $(pxx:%.17g) $(pyy:%.17g) $(pzz:%.17g) $(pyz:%.17g) '
             '$(pxz:%.17g) $(pxy:%.17g) $(vol:%.17g)" file result.txt']
    with open(os.path.join(workdir, "in.lmp"), "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["lmp", "-in", "in.lmp", "-log", "none", "-screen", "none"], cwd=workdir, check=True)
    with open(os.path.join(workdir, "result.txt")) as f:
        vals = [float(x) for x in f.read().split()[1:]]
    with open(os.path.join(workdir, "forces.dump")) as f:
        rows = f.read().split("ITEM: ATOMS id fx fy fz c_pea")[1].split("\n")
    table = np.array([[float(x) for x in r.split()[1:]] for r in rows if r.strip()])
    return vals[0], table[:, :3], -np.array(vals[1:7]) * vals[7] / NKTV2P, table[:, 3]


def perturb(rng, pos, amp):
    return pos + rng.uniform(-amp, amp, size=pos.shape)


def cu_cases(rng):
    return fcc_cases(rng, "Cu", 3.615)


def ar_cases(rng):
    return fcc_cases(rng, "Ar", 5.26)


def fcc_cases(rng, el, a):
    """(name, frame for batchmd, frame for LAMMPS, boundary)."""
    cases = []
    at = bulk(el, "fcc", a=a, cubic=True).repeat((3, 3, 3))
    del at[13]
    cell, pos = at.cell[:].copy(), perturb(rng, at.positions, 0.08)
    shifts = rng.integers(-2, 3, size=(len(pos), 3)) * (rng.uniform(size=(len(pos), 1)) < 0.25)
    cases.append(("fcc 3x3x3 with a vacancy", ([el] * len(pos), cell, pos + shifts @ cell, (1, 1, 1)),
                  ([el] * len(pos), cell, pos, (1, 1, 1)), "p p p"))
    at = bulk(el, "fcc", a=a, cubic=True)
    pos = perturb(rng, at.positions, 0.05)
    cases.append(("4-atom conventional cell", ([el] * 4, at.cell[:].copy(), pos, (1, 1, 1)),
                  ([el] * 4, at.cell[:].copy(), pos, (1, 1, 1)), "p p p"))
    prim = bulk(el, "fcc", a=a)
    cell, pos = lammps_form(prim.cell[:], prim.positions + [0.1, 0.2, 0.3])
    cases.append(("1-atom primitive cell", ([el], cell, pos, (1, 1, 1)), ([el], cell, pos, (1, 1, 1)), "p p p"))
    prim2 = prim.repeat((2, 1, 1))
    cell, pos = lammps_form(prim2.cell[:], perturb(rng, prim2.positions, 0.1))
    unwrap = np.array([[2, -1, 0], [-3, 1, 2]]) @ cell  # batchmd gets the atoms a few cells away
    cases.append(("2-atom triclinic cell", ([el] * 2, cell, pos + unwrap, (1, 1, 1)), ([el] * 2, cell, pos, (1, 1, 1)),
                  "p p p"))
    slab = fcc100(el, size=(3, 3, 4), a=a, vacuum=2.2 * a)
    pos = perturb(rng, slab.positions, 0.05)
    cases.append(("(100) slab p p f", ([el] * len(pos), slab.cell[:].copy(), pos, (1, 1, 0)),
                  ([el] * len(pos), slab.cell[:].copy(), pos, (1, 1, 0)), "p p f"))
    cl = bulk(el, "fcc", a=a, cubic=True).repeat((3, 3, 3))
    keep = np.linalg.norm(cl.positions - cl.positions.mean(axis=0), axis=1) < 1.17 * a
    pos = perturb(rng, cl.positions[keep], 0.05) + 2.8 * a
    cell = np.diag([8.3 * a] * 3)
    cases.append(("cluster f f f", ([el] * len(pos), cell, pos, (0, 0, 0)), ([el] * len(pos), cell, pos, (0, 0, 0)),
                  "f f f"))
    return cases


def si_cases(rng):
    a = 5.431
    cases = []
    at = bulk("Si", "diamond", a=a, cubic=True)
    pos = perturb(rng, at.positions, 0.08)
    cases.append(("8-atom diamond cell", (["Si"] * 8, at.cell[:].copy(), pos, (1, 1, 1)),
                  (["Si"] * 8, at.cell[:].copy(), pos, (1, 1, 1)), "p p p"))
    at = bulk("Si", "diamond", a=a, cubic=True).repeat((2, 2, 2))
    del at[5]
    cell, pos = at.cell[:].copy(), perturb(rng, at.positions, 0.1)
    shifts = rng.integers(-1, 2, size=(len(pos), 3)) * (rng.uniform(size=(len(pos), 1)) < 0.3)
    cases.append(("2x2x2 diamond with a vacancy", (["Si"] * len(pos), cell, pos + shifts @ cell, (1, 1, 1)),
                  (["Si"] * len(pos), cell, pos, (1, 1, 1)), "p p p"))
    at = bulk("Si", "diamond", a=a, cubic=True).repeat((2, 2, 1))
    cell = at.cell[:].copy()
    cell[2, 2] = 20.0
    pos = perturb(rng, at.positions, 0.05) + [0, 0, 6.0]
    cases.append(("diamond slab p p f", (["Si"] * len(pos), cell, pos, (1, 1, 0)),
                  (["Si"] * len(pos), cell, pos, (1, 1, 0)), "p p f"))
    return cases


def compare(got, want, tol):
    """relative differences of E, F, W and per-atom energies (relative to the largest |E_i|)."""
    E, F, W, epa = got
    E0, F0, W0, epa0 = want
    de = abs(E - E0) / max(abs(E0), 1e-12)
    # a 1-atom periodic cell has zero force by symmetry: there, |F - F0| relative to 1 eV/Å
    fscale = np.abs(F0).max() if len(F0) > 1 else 1.0
    df = np.abs(F - F0).max() / max(fscale, 1e-12)
    dw = np.abs(W - W0).max() / max(np.abs(W0).max(), 1e-12)
    dea = np.abs(epa - epa0).max() / max(np.abs(epa0).max(), 1e-12)
    return de, df, dw, dea, max(de, df, dw, dea) <= tol


def report(passed, failed):
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def skip_reason(need_lammps=False):
    why = kim_missing_reason()
    if not why and need_lammps and not shutil.which("lmp"):
        why = "no LAMMPS (lmp) on PATH"
    return why


def main():
    why = skip_reason(need_lammps=True)
    if why:
        print("skipped: %s" % why)
        return report(0, 0)
    rng = np.random.default_rng(20240612)
    passed = failed = 0
    plan = [(first_installed(EAM_CU), cu_cases), (first_installed(SW_SI), si_cases),
            (first_installed(SNAP_CU), cu_cases), (first_installed(TERSOFF_SI), si_cases),
            (first_installed(MULTI_AR), ar_cases)]
    with tempfile.TemporaryDirectory() as tmp:
        for model, cases_of in plan:
            if model is None:
                print("note: a model of this kind is not installed; skipped")
                continue
            cases = cases_of(rng)
            got = run_batchmd(tmp, model, [c[1] for c in cases], tag=model)
            for k, (name, _, lframe, boundary) in enumerate(cases):
                d = os.path.join(tmp, "%s_%d" % (model, k))
                os.mkdir(d)
                want = run_lammps(d, model, lframe, boundary)
                de, df, dw, dea, ok = compare(got[k], want, 1e-8)
                line = "%s %s: %d atoms, E = %.10f eV; relative differences E %.1e, F %.1e, W %.1e, E_i %.1e" % (
                    model.split("__")[0], name, len(lframe[2]), want[0], de, df, dw, dea)
                if ok:
                    passed += 1
                    print("ok  ", line)
                else:
                    failed += 1
                    print("FAIL", line)
    return report(passed, failed)


if __name__ == "__main__":
    sys.exit(main())
