#!/usr/bin/python3
"""eam_lammps_test.py — batchmd's native EAM against LAMMPS's pair_style eam
(funcfl Cu_u3.eam), eam/alloy (setfl CuNi.eam.alloy, two elements) and eam/fs
(Finnis–Sinclair AlFe_mm.eam.fs, two elements), units metal, on
  1. an fcc 3x3x3 supercell (slightly triclinic) with a vacancy and random
     displacements, some atoms given to batchmd unwrapped by lattice vectors;
  2. a conventional 4-atom fcc cell (smaller than the cutoff: atoms meet
     many images of each other and of themselves), displaced;
  3. a slab (boundary p p f), displaced;
energy, forces (relative to the largest force), virial (relative to its
largest component) and energy per atom (relative to the largest |E_i|), all
to 1e-8 relative. The file format is also given as "auto" (from the name) for
one style. The structures go to batchmd as extxyz written with 17 digits
(checked by reading them back with ASE) and to LAMMPS as a data file; batchmd
is driven by tests/tools/eam_eval. The LAMMPS virial is recovered from its
pressure with zero velocities: W_ab = -p_ab V / nktv2p.

Prints "N passed, M failed"; exits nonzero on any failure."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import ase.io
from ase.data import atomic_numbers, atomic_masses

NKTV2P = 1.6021765e6  # LAMMPS metal units: bar per eV/Å³
TOL = 1e-8
POT = os.environ.get("LAMMPS_POTENTIALS", "/usr/share/lammps/potentials")

# (pair style, file, style given to batchmd, elements in LAMMPS type order, fcc lattice constant)
CASES = [
    ("eam", "Cu_u3.eam", "eam", ["Cu"], 3.615),
    # two funcfl files with different grids (pair_coeff 1 1 Cu_u3.eam, 2 2 Ni_u3.eam)
    ("eam", "Cu_u3.eam,Ni_u3.eam", "eam", ["Cu", "Ni"], 3.58),
    ("eam/alloy", "CuNi.eam.alloy", "eam/alloy", ["Cu", "Ni"], 3.58),
    ("eam/fs", "AlFe_mm.eam.fs", "auto", ["Al", "Fe"], 4.05),
    # its cross densities differ (ρ_{Ni→Al} != ρ_{Al→Ni}): checks which one each atom gets
    ("eam/fs", "NiAlH_jea.eam.fs", "eam/fs", ["Al", "Ni", "H"], 3.60),
]

FCC = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])


def tools_dir():
    d = os.environ.get("BATCHMD_TOOLS")
    if not d:
        d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "tests", "tools")
    return d


def fcc_frac(n):
    return np.array([(np.array([i, j, k]) + b) / n for i in range(n) for j in range(n) for k in range(n) for b in FCC])


def structures(rng, elements, a):
    """[(name, cell, pos_lammps, pos_batchmd, types 1.., boundary, pbc)]"""
    ne = len(elements)
    out = []
    # 1. 3x3x3 supercell, slightly triclinic (LAMMPS form), a vacancy, displacements
    cell = np.array([[3 * a, 0, 0], [0.31, 3 * a, 0], [-0.22, 0.27, 3 * a]])
    frac = np.delete(fcc_frac(3), 40, axis=0)
    pos = frac @ cell + rng.uniform(-0.12, 0.12, size=(len(frac), 3))
    types = rng.integers(1, ne + 1, size=len(pos))
    shifts = rng.integers(-2, 3, size=(len(pos), 3)) * (rng.uniform(size=(len(pos), 1)) < 0.25)
    out.append(("fcc 3x3x3 with a vacancy", cell, pos, pos + shifts @ cell, types, "p p p", (True,) * 3))
    # 2. conventional cell, smaller than the cutoff
    cell = np.array([[a, 0, 0], [0.05, a, 0], [-0.04, 0.06, a]])
    pos = FCC @ cell + rng.uniform(-0.08, 0.08, size=(4, 3))
    types = np.array([1 + (k % ne) for k in range(4)])
    out.append(("conventional 4-atom cell", cell, pos, pos, types, "p p p", (True,) * 3))
    # 3. slab: 3x3 in-plane, 3 cells thick, open along z
    frac = np.array([(np.array([i, j, k]) + b) for i in range(3) for j in range(3) for k in range(3) for b in FCC])
    pos = frac * a + rng.uniform(-0.1, 0.1, size=frac.shape)
    pos[:, 2] += 15.0
    cell = np.array([[3 * a, 0, 0], [0.4, 3 * a, 0], [0, 0, 3 * a + 30.0]])
    types = rng.integers(1, ne + 1, size=len(pos))
    shifts = rng.integers(-1, 2, size=(len(pos), 3)) * [1, 1, 0]
    out.append(("slab p p f", cell, pos, pos + shifts @ cell, types, "p p f", (True, True, False)))
    return out


def write_extxyz(path, frames, elements):
    """17-digit extxyz (ASE's writer keeps 8 decimals only)."""
    with open(path, "w") as f:
        for cell, pos, types, pbc in frames:
            f.write("%d\n" % len(pos))
            f.write('Lattice="%s" Properties=species:S:1:pos:R:3 pbc="%s"\n'
                    % (" ".join("%.17g" % x for x in np.ravel(cell)), " ".join("T" if p else "F" for p in pbc)))
            for t, p in zip(types, pos):
                f.write("%s %.17g %.17g %.17g\n" % (elements[t - 1], p[0], p[1], p[2]))
    for (cell, pos, types, pbc), at in zip(frames, ase.io.read(path, ":")):
        assert np.array_equal(at.positions, pos) and np.array_equal(at.cell[:], cell)
        assert list(at.pbc) == list(pbc)
        assert list(at.numbers) == [atomic_numbers[elements[t - 1]] for t in types]


def run_batchmd(workdir, potfile, style, elements, frames):
    path = os.path.join(workdir, "in.extxyz")
    write_extxyz(path, frames, elements)
    tool = os.path.join(tools_dir(), "eam_eval")
    subprocess.run([tool, "eval", potfile, style, "in.extxyz", "out.txt"], cwd=workdir, check=True)
    res = [[None, np.zeros((len(fr[1]), 3)), None, np.zeros(len(fr[1]))] for fr in frames]
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
            elif w[0] == "epa":
                res[k][3][int(w[2])] = float(w[3])
    return res


def run_lammps(workdir, pair_style, potfile, elements, cell, pos, types, boundary):
    lx, ly, lz = cell[0, 0], cell[1, 1], cell[2, 2]
    xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
    with open(os.path.join(workdir, "data.txt"), "w") as f:
        f.write("LAMMPS data\n\n%d atoms\n%d atom types\n\n" % (len(pos), len(elements)))
        f.write("0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n%.17g %.17g %.17g xy xz yz\n\nMasses\n\n"
                % (lx, ly, lz, xy, xz, yz))
        for t, el in enumerate(elements):
            f.write("%d %.17g\n" % (t + 1, atomic_masses[atomic_numbers[el]]))
        f.write("\nAtoms # atomic\n\n")
        for i, (t, p) in enumerate(zip(types, pos)):
            f.write("%d %d %.17g %.17g %.17g\n" % (i + 1, t, p[0], p[1], p[2]))
    if pair_style == "eam":  # one funcfl file per type
        coeff = "\n".join("pair_coeff %d %d %s" % (t + 1, t + 1, p) for t, p in enumerate(potfile.split(",")))
    else:
        coeff = "pair_coeff * * %s %s" % (potfile, " ".join(elements))
    lines = ["units metal", "atom_style atomic", "boundary %s" % boundary, "read_data data.txt",
             "pair_style %s" % pair_style, coeff, "neighbor 1.0 bin",
             "compute pea all pe/atom",
             "thermo_style custom step pe pxx pyy pzz pyz pxz pxy vol",
             "dump 1 all custom 1 forces.dump id fx fy fz c_pea",
             "dump_modify 1 sort id format float %.17g",
             "run 0",
             'print "RESULT $(pe:%.17g) $(pxx:%.17g) $(pyy:%.17g) $(pzz:%.17g) $(pyz:%.17g) '
             '$(pxz:%.17g) $(pxy:%.17g) $(vol:%.17g)" file result.txt']
    with open(os.path.join(workdir, "in.eam"), "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["lmp", "-in", "in.eam", "-log", "none", "-screen", "none"], cwd=workdir, check=True)
    with open(os.path.join(workdir, "result.txt")) as f:
        vals = [float(x) for x in f.read().split()[1:]]
    pe, press, vol = vals[0], np.array(vals[1:7]), vals[7]
    virial = -press * vol / NKTV2P
    with open(os.path.join(workdir, "forces.dump")) as f:
        rows = f.read().split("ITEM: ATOMS id fx fy fz c_pea")[1].split("\n")
    data = np.array([[float(x) for x in r.split()[1:]] for r in rows if r.strip()])
    return pe, data[:, :3], virial, data[:, 3]


def compare(name, got, want):
    fails = []
    E, F, W, e = got
    E0, F0, W0, e0 = want
    errs = (abs(E - E0) / max(abs(E0), 1e-12), np.abs(F - F0).max() / np.abs(F0).max(),
            np.abs(W - W0).max() / np.abs(W0).max(), np.abs(e - e0).max() / np.abs(e0).max())
    for what, err in zip(("energy", "forces", "virial", "energy per atom"), errs):
        if not err <= TOL:
            fails.append("%s: %s differs from LAMMPS by %.3g relative" % (name, what, err))
    if not abs(e.sum() - E) <= 1e-10 * abs(E):
        fails.append("%s: energies per atom sum to %.17g, energy %.17g" % (name, e.sum(), E))
    return fails, errs


def main():
    passed, failed = 0, 0
    rng = np.random.default_rng(20240917)
    with tempfile.TemporaryDirectory() as tmp:
        for pair_style, fname, style, elements, a in CASES:
            potfile = ",".join(os.path.join(POT, f) for f in fname.split(","))
            cases = structures(rng, elements, a)
            d = os.path.join(tmp, fname)
            os.mkdir(d)
            got = run_batchmd(d, potfile, style, elements, [(c[1], c[3], c[4], c[6]) for c in cases])
            for k, (name, cell, pos, _, types, boundary, _) in enumerate(cases):
                dl = os.path.join(d, "lmp%d" % k)
                os.mkdir(dl)
                want = run_lammps(dl, pair_style, potfile, elements, cell, pos, types, boundary)
                label = "%s %s: %s" % (pair_style, fname, name)
                fails, errs = compare(label, got[k], want)
                if fails:
                    failed += 1
                    for m in fails:
                        print("FAIL", m)
                else:
                    passed += 1
                    print("ok   %s, %d atoms, E = %.10f eV; relative differences E %.1e, F %.1e, W %.1e, E_i %.1e"
                          % (label, len(pos), want[0], *errs))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
