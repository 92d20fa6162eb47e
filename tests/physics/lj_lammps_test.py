#!/usr/bin/python3
"""lj_lammps_test.py — batchmd's Lennard-Jones model against LAMMPS (pair_style
lj/cut, units metal, pair_modify shift yes): energy, forces and virial of
  1. a two-species (Ar, Kr) triclinic periodic box of 294 atoms (perturbed
     lattice, per-pair cutoffs 8.0 / 8.5 / 7.0 Å), some atoms given to batchmd
     unwrapped by lattice vectors;
  2. a 4-atom triclinic cell smaller than twice the cutoff (each atom meets
     several images of the others and of itself);
  3. a slab (boundary p p f) of 120 atoms;
all to 1e-8 relative (forces relative to the largest force, virial relative to
its largest component).

The structures go to batchmd as extxyz (written with 17 digits here, checked
by reading it back with ASE), to LAMMPS as a data file; batchmd is driven by tests/tools/pair_eval. The LAMMPS virial is
recovered from its pressure: p_ab = -W_ab / V * nktv2p with velocities zero,
where nktv2p = 1.6021765e6 bar per eV/Å³ (LAMMPS update.cpp, units metal).

This module is also the shared driver of morse_lammps_test.py. Prints
"N passed, 0 failed" and exits nonzero on any failure."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import ase
import ase.io

NKTV2P = 1.6021765e6  # LAMMPS metal units: bar per eV/Å³
SPECIES = {1: ("Ar", 18, 39.948), 2: ("Kr", 36, 83.798)}

# type pair -> (p0, p1, p2, cutoff); lj: epsilon sigma; morse: D0 alpha r0
LJ_PARAMS = {(1, 1): (0.0104, 3.40, 0.0, 8.0), (2, 2): (0.0140, 3.65, 0.0, 8.5), (1, 2): (0.0121, 3.52, 0.0, 7.0)}


def tools_dir():
    d = os.environ.get("BATCHMD_TOOLS")
    if not d:
        here = os.path.dirname(os.path.abspath(__file__))
        d = os.path.join(here, "..", "..", "build", "tests", "tools")
    return d


def lattice_box(rng, nx, ny, nz, spacing, tilts, jitter, kr_fraction):
    """A perturbed simple lattice filling a LAMMPS-form triclinic cell."""
    lx, ly, lz = nx * spacing, ny * spacing, nz * spacing
    xy, xz, yz = tilts
    cell = np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]], float)
    frac = np.array([[(i + 0.5) / nx, (j + 0.5) / ny, (k + 0.5) / nz]
                     for i in range(nx) for j in range(ny) for k in range(nz)])
    pos = frac @ cell + rng.uniform(-jitter, jitter, size=(len(frac), 3))
    types = np.where(rng.uniform(size=len(frac)) < kr_fraction, 2, 1)
    return cell, pos, types


def small_cell(rng):
    """4 atoms (a jittered fcc basis) in a ~5 Å triclinic cell."""
    cell = np.array([[5.1, 0, 0], [0.8, 4.9, 0], [-0.6, 0.4, 5.3]])
    frac = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]) + 0.1
    frac += rng.uniform(-0.06, 0.06, size=frac.shape)
    pos = frac @ cell
    dmin = min(np.linalg.norm(pos[b] - pos[a] + (np.array(s) - 1) @ cell)
               for a in range(4) for b in range(4) for s in np.ndindex(3, 3, 3)
               if not (a == b and s == (1, 1, 1)))
    assert dmin > 2.5, dmin
    return cell, pos, np.array([1, 2, 1, 2])


def write_lammps_data(path, cell, pos, types):
    lx, ly, lz = cell[0, 0], cell[1, 1], cell[2, 2]
    xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
    with open(path, "w") as f:
        f.write("LAMMPS data\n\n%d atoms\n2 atom types\n\n" % len(pos))
        f.write("0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n%.17g %.17g %.17g xy xz yz\n\n"
                % (lx, ly, lz, xy, xz, yz))
        f.write("Masses\n\n1 %.17g\n2 %.17g\n\nAtoms # atomic\n\n" % (SPECIES[1][2], SPECIES[2][2]))
        for i, (t, p) in enumerate(zip(types, pos)):
            f.write("%d %d %.17g %.17g %.17g\n" % (i + 1, t, p[0], p[1], p[2]))


def run_lammps(workdir, style, params, cell, pos, types, boundary):
    write_lammps_data(os.path.join(workdir, "data.txt"), cell, pos, types)
    gcut = max(p[3] for p in params.values())
    lines = ["units metal", "atom_style atomic", "boundary %s" % boundary, "read_data data.txt",
             "pair_style %s %.17g" % (style, gcut)]
    for (a, b), p in sorted(params.items()):
        if style == "lj/cut":
            lines.append("pair_coeff %d %d %.17g %.17g %.17g" % (a, b, p[0], p[1], p[3]))
        else:
            lines.append("pair_coeff %d %d %.17g %.17g %.17g %.17g" % (a, b, p[0], p[1], p[2], p[3]))
    lines += ["pair_modify shift yes", "neighbor 1.0 bin",
              # thermo keywords make the pe and pressure computes current for the print below
              "thermo_style custom step pe pxx pyy pzz pyz pxz pxy vol",
              "dump 1 all custom 1 forces.dump id fx fy fz",
              "dump_modify 1 sort id format float %.17g",
              "run 0",
              'print "RESULT $(pe:%.17g) $(pxx:%.17g) $(pyy:%.17g) $(pzz:%.17g) $(pyz:%.17g) '
              '$(pxz:%.17g) $(pxy:%.17g) $(vol:%.17g)" file result.txt']
    with open(os.path.join(workdir, "in.pair"), "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["lmp", "-in", "in.pair", "-log", "none", "-screen", "none"], cwd=workdir, check=True)
    with open(os.path.join(workdir, "result.txt")) as f:
        vals = [float(x) for x in f.read().split()[1:]]
    pe, press, vol = vals[0], np.array(vals[1:7]), vals[7]
    virial = -press * vol / NKTV2P  # W_ab = dE/deps_ab (ASE sign), Voigt xx yy zz yz xz xy
    with open(os.path.join(workdir, "forces.dump")) as f:
        rows = f.read().split("ITEM: ATOMS id fx fy fz")[1].split("\n")
    forces = np.array([[float(x) for x in r.split()[1:]] for r in rows if r.strip()])
    return pe, forces, virial


def write_extxyz(path, systems):
    """extxyz with round-trip precision (ASE's writer keeps 8 decimals only)."""
    with open(path, "w") as f:
        for cell, pos, types, pbc in systems:
            f.write("%d\n" % len(pos))
            f.write('Lattice="%s" Properties=species:S:1:pos:R:3 pbc="%s"\n'
                    % (" ".join("%.17g" % x for x in np.ravel(cell)), " ".join("T" if p else "F" for p in pbc)))
            for t, p in zip(types, pos):
                f.write("%s %.17g %.17g %.17g\n" % (SPECIES[t][0], p[0], p[1], p[2]))


def run_batchmd(workdir, model, params, systems, shift=True):
    """systems: list of (cell, pos, types, pbc). Returns [(E, F, W)]."""
    with open(os.path.join(workdir, "params.txt"), "w") as f:
        f.write("shift %d\nskin 0.7\n" % (1 if shift else 0))
        for (a, b), p in params.items():
            f.write("%s %s %.17g %.17g %.17g %.17g\n" % (SPECIES[a][0], SPECIES[b][0], *p))
    path = os.path.join(workdir, "in.extxyz")
    write_extxyz(path, systems)
    # the file must say what ASE understands (and nothing lost on the way)
    for (cell, pos, types, pbc), atoms in zip(systems, ase.io.read(path, ":")):
        assert np.array_equal(atoms.positions, pos) and np.array_equal(atoms.cell[:], cell)
        assert list(atoms.pbc) == list(pbc) and list(atoms.numbers) == [SPECIES[t][1] for t in types]
    tool = os.path.join(tools_dir(), "pair_eval")
    subprocess.run([tool, model, "params.txt", "in.extxyz", "out.txt"], cwd=workdir, check=True)
    res = [[None, np.zeros((len(s[1]), 3)), None] for s in systems]
    with open(os.path.join(workdir, "out.txt")) as f:
        for line in f:
            w = line.split()
            k = int(w[1])
            if w[0] == "energy":
                res[k][0] = float(w[2])
            elif w[0] == "virial":
                res[k][2] = np.array([float(x) for x in w[2:8]])
            elif w[0] == "force":
                res[k][1][int(w[2])] = [float(x) for x in w[3:6]]
    return res


def build_cases(seed):
    rng = np.random.default_rng(seed)
    cases = []
    # 1. triclinic periodic box, 294 atoms; batchmd gets some atoms unwrapped
    cell, pos, types = lattice_box(rng, 7, 7, 6, 3.7, (3.1, -2.4, 1.7), 0.3, 0.3)
    shifts = rng.integers(-2, 3, size=(len(pos), 3)) * (rng.uniform(size=(len(pos), 1)) < 0.2)
    cases.append(("periodic triclinic box", cell, pos, pos + shifts @ cell, types, "p p p", (True,) * 3))
    # 2. a cell smaller than twice the cutoff
    cell, pos, types = small_cell(rng)
    cases.append(("4 atoms in a 5 A triclinic cell", cell, pos, pos, types, "p p p", (True,) * 3))
    # 3. slab: periodic in x, y; LAMMPS box tall enough in z, batchmd ignores c
    cell, pos, types = lattice_box(rng, 5, 6, 4, 3.8, (1.3, 0.0, 0.0), 0.3, 0.4)
    cell[2] = [0.0, 0.0, 60.0]
    pos[:, 2] += 20.0
    shifts = rng.integers(-1, 2, size=(len(pos), 3)) * [1, 1, 0]
    cases.append(("slab p p f", cell, pos, pos + shifts @ cell, types, "p p f", (True, True, False)))
    return cases


def compare(name, got, want, tol=1e-8):
    """got/want: (E, F, W); returns (failure messages, relative errors)."""
    fails = []
    E, F, W = got
    E0, F0, W0 = want
    de = abs(E - E0) / max(abs(E0), 1e-12)
    if not de <= tol:
        fails.append("%s: energy %.17g, LAMMPS %.17g" % (name, E, E0))
    fs = np.abs(F0).max()
    df = np.abs(F - F0).max() / fs
    if not df <= tol:
        fails.append("%s: max force difference %.3g of the max force %.3g" % (name, df, fs))
    ws = np.abs(W0).max()
    dw = np.abs(W - W0).max() / ws
    if not dw <= tol:
        fails.append("%s: virial %s, LAMMPS %s" % (name, W, W0))
    return fails, (de, df, dw)


def run_all(model, style, params, seed):
    passed, failed = 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        cases = build_cases(seed)
        got = run_batchmd(tmp, model, params, [(c[1], c[3], c[4], c[6]) for c in cases])
        for k, (name, cell, pos, _, types, boundary, _) in enumerate(cases):
            d = os.path.join(tmp, "lmp%d" % k)
            os.mkdir(d)
            want = run_lammps(d, style, params, cell, pos, types, boundary)
            fails, err = compare("%s %s" % (model, name), got[k], want)
            if fails:
                failed += 1
                for m in fails:
                    print("FAIL", m)
            else:
                passed += 1
                print("ok   %s %s: %d atoms, E = %.10f eV; relative differences E %.1e, F %.1e, W %.1e"
                      % (model, name, len(pos), want[0], *err))
    return passed, failed


def main():
    passed, failed = run_all("lj", "lj/cut", LJ_PARAMS, seed=20240611)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
