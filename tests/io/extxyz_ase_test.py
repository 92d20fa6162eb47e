#!/usr/bin/env python3
"""extxyz_ase_test.py — batchmd's extxyz reader and writer against ASE.

ASE (ase.io.extxyz) writes structures; the test driver `extxyz_roundtrip`
(tests/tools/, found through $BATCHMD_TOOLS) reads them with batchmd and
writes them back; ASE reads both files and the test asserts that they hold
the same structures: positions, cell, pbc, numbers, masses, forces, energy,
stress and info keys bit for bit, momenta to 1e-15 relative (batchmd stores
velocities, so momenta go through p/m*fs and back). It also checks
batchmd's index of a many-frame file against counts computed here, and
that a malformed file fails with FILE:LINE. Prints "N passed, M failed";
exits 1 on any failure.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

import ase.io
import ase.units
from ase import Atoms
from ase.build import bulk, fcc111, molecule
from ase.calculators.singlepoint import SinglePointCalculator

TOOLS = os.environ.get("BATCHMD_TOOLS")
if not TOOLS:
    sys.exit("extxyz_ase_test: set BATCHMD_TOOLS to the build's tests/tools folder")
DRIVER = os.path.join(TOOLS, "extxyz_roundtrip")

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s %s" % (name, detail))


def same_bits(a, b):
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
    b = np.ascontiguousarray(np.asarray(b, dtype=np.float64))
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def run_driver(src, dst, units="metal"):
    r = subprocess.run([DRIVER, src, dst, units], capture_output=True, text=True)
    return r.returncode, r.stderr


def same_info_value(x, y):
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        x, y = np.asarray(x), np.asarray(y)
        return x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)
    return type(x) == type(y) and x == y


def compare(tag, a, b, momenta_rtol=1e-15):
    check(tag + " natoms", len(a) == len(b), "%d vs %d" % (len(a), len(b)))
    if len(a) != len(b):
        return
    check(tag + " numbers", np.array_equal(a.numbers, b.numbers))
    check(tag + " positions", same_bits(a.positions, b.positions))
    check(tag + " cell", same_bits(a.cell.array, b.cell.array), "%s vs %s" % (a.cell, b.cell))
    check(tag + " pbc", np.array_equal(a.pbc, b.pbc), "%s vs %s" % (a.pbc, b.pbc))
    check(tag + " masses", same_bits(a.get_masses(), b.get_masses()))
    pa, pb = a.get_momenta(), b.get_momenta()
    ok = np.all(np.abs(pb - pa) <= momenta_rtol * np.abs(pa))
    check(tag + " momenta", ok, "max diff %g" % np.max(np.abs(pb - pa)) if len(a) else "")
    ra = a.calc.results if a.calc is not None else {}
    rb = b.calc.results if b.calc is not None else {}
    for key in ("energy", "free_energy", "stress", "forces"):
        check(tag + " has " + key, (key in ra) == (key in rb))
        if key in ra and key in rb:
            check(tag + " " + key, same_bits(ra[key], rb[key]), "%s vs %s" % (ra[key], rb[key]))
    # info: same keys, types and values
    check(tag + " info keys", set(a.info) == set(b.info), "%s vs %s" % (sorted(a.info), sorted(b.info)))
    for key in a.info:
        if key not in b.info:
            continue
        ok = same_info_value(a.info[key], b.info[key])
        if key in ("energy", "stress", "free_energy"):
            ok = ok and same_bits(a.info[key], b.info[key])
        check(tag + " info " + key, ok, "%r vs %r" % (a.info[key], b.info[key]))


def roundtrip(tag, images, tmp, units="metal"):
    src = os.path.join(tmp, tag + "_in.extxyz")
    dst = os.path.join(tmp, tag + "_out.extxyz")
    ase.io.write(src, images, format="extxyz")
    rc, err = run_driver(src, dst, units)
    check(tag + " driver", rc == 0, err)
    if rc != 0:
        return None, None
    a = ase.io.read(src, ":", format="extxyz")
    b = ase.io.read(dst, ":", format="extxyz")
    check(tag + " frames", len(a) == len(b), "%d vs %d" % (len(a), len(b)))
    for k, (x, y) in enumerate(zip(a, b)):
        compare("%s[%d]" % (tag, k), x, y)
    return a, b


def structures(rng):
    out = []
    # periodic triclinic cell with free info keys of every kind
    t = bulk("Cu", "fcc", a=3.61).repeat((2, 2, 2))
    t.set_cell(t.cell.array + np.array([[0.0, 0.31, 0.12], [0.27, 0.0, 0.05], [0.11, 0.43, 0.0]]),
               scale_atoms=True)
    t.rattle(0.05, seed=1)
    t.info.update({"name": "hello world", "temperature": 450.5, "steps": 7, "flag": True,
                   "vec": np.array([1, 2, 3]), "quote": 'say "hi" now', "tricky": "a=b",
                   "path": "C:\\dir", "meta": {"a": 1, "b": [1, 2]}, "system_id": 12})
    out.append(t)
    # slab, periodic in x and y only
    s = fcc111("Al", size=(2, 2, 3), vacuum=5.0)
    s.info.pop("adsorbate_info", None)  # a dict of arrays ASE cannot write
    s.rattle(0.02, seed=2)
    out.append(s)
    # open cluster without a cell
    c = molecule("CH4")
    c.info["comment"] = "methane"
    out.append(c)
    # multi-species with momenta and masses
    m = bulk("NaCl", "rocksalt", a=5.64).repeat((2, 1, 1))
    m.set_masses(rng.uniform(1.0, 60.0, len(m)))
    m.set_momenta(rng.normal(0.0, 3.0, (len(m), 3)))
    out.append(m)
    # energy, free energy, forces and stress from a single-point calculator,
    # and per-atom columns batchmd does not know (skipped)
    e = bulk("Si", "diamond", a=5.43)
    e.rattle(0.03, seed=3)
    e.set_tags(np.arange(len(e)))
    e.new_array("charge_like", rng.normal(0, 1, len(e)))
    e.new_array("dipole_like", rng.normal(0, 1, (len(e), 3)))
    e.calc = SinglePointCalculator(e, energy=-10.123456789, free_energy=-10.2,
                                   forces=rng.normal(0, 1, (len(e), 3)),
                                   stress=rng.normal(0, 0.01, 6))
    out.append(e)
    return out


def full_precision(tmp, rng):
    """A file written here with shortest round-trip reprs: every bit counts."""
    src = os.path.join(tmp, "full_in.extxyz")
    dst = os.path.join(tmp, "full_out.extxyz")
    with open(src, "w") as f:
        for frame in range(3):
            n = 4 + frame
            cell = np.diag(rng.uniform(8, 12, 3)) + rng.uniform(-0.5, 0.5, (3, 3))
            pos = rng.uniform(-1, 12, (n, 3))
            mom = rng.normal(0, 1, (n, 3)) * 10.0 ** rng.integers(-12, 3, (n, 3))
            frc = rng.normal(0, 1, (n, 3))
            en = rng.normal(-100, 10)
            stress = rng.normal(0, 0.1, (3, 3))
            stress = stress + stress.T
            f.write("%d\n" % n)
            f.write('Lattice="%s" Properties=species:S:1:pos:R:3:momenta:R:3:forces:R:3 '
                    'energy=%r stress="%s" pbc="T F T"\n'
                    % (" ".join(repr(float(x)) for x in cell.ravel()), float(en),
                       " ".join(repr(float(x)) for x in stress.ravel(order="F"))))
            for i in range(n):
                f.write("%s %s %s %s\n" % (["Fe", "Ni", "Cr"][i % 3],
                                          " ".join(repr(float(x)) for x in pos[i]),
                                          " ".join(repr(float(x)) for x in mom[i]),
                                          " ".join(repr(float(x)) for x in frc[i])))
    rc, err = run_driver(src, dst)
    check("full driver", rc == 0, err)
    if rc != 0:
        return
    a = ase.io.read(src, ":")
    b = ase.io.read(dst, ":")
    check("full frames", len(a) == len(b) == 3)
    for k, (x, y) in enumerate(zip(a, b)):
        compare("full[%d]" % k, x, y)


def velocities_and_lj(tmp):
    """Conversions against ASE's own constants: velocities (Å/fs) in, ASE
    momenta out (p = m v / fs); lj units: unit masses, momenta unchanged."""
    src = os.path.join(tmp, "vel_in.extxyz")
    dst = os.path.join(tmp, "vel_out.extxyz")
    v = np.array([[0.01, -0.02, 0.003], [1.5e-3, 2.25e-2, -7.0e-3]])
    with open(src, "w") as f:
        f.write("2\nProperties=species:S:1:pos:R:3:velocities:R:3\n")
        f.write("Ar 0 0 0 %r %r %r\n" % tuple(v[0]))
        f.write("Kr 3 0 0 %r %r %r\n" % tuple(v[1]))
    rc, err = run_driver(src, dst)
    check("velocities driver", rc == 0, err)
    if rc == 0:
        b = ase.io.read(dst)
        m = b.get_masses()
        check("velocities masses are ASE's", same_bits(m, Atoms("ArKr").get_masses()))
        expect = m[:, None] * v / ase.units.fs
        got = b.get_momenta()
        check("velocities -> ASE momenta", np.all(np.abs(got - expect) <= 1e-15 * np.abs(expect)),
              "%s vs %s" % (got, expect))
        check("velocities -> ASE velocities",
              np.allclose(b.get_velocities() * ase.units.fs, v, rtol=1e-14, atol=0))
    lj_in = os.path.join(tmp, "lj_in.extxyz")
    lj_out = os.path.join(tmp, "lj_out.extxyz")
    p = np.array([[0.1, 0.2, -0.3], [1e-3, 5.0, 7.25]])
    with open(lj_in, "w") as f:
        f.write('2\nLattice="10 0 0 0 10 0 0 0 10" Properties=species:S:1:pos:R:3:momenta:R:3\n')
        f.write("Ar 0 0 0 %r %r %r\nAr 1.1 0 0 %r %r %r\n" % (tuple(p[0]) + tuple(p[1])))
    rc, err = run_driver(lj_in, lj_out, "lj")
    check("lj driver", rc == 0, err)
    if rc == 0:
        b = ase.io.read(lj_out)
        check("lj masses are 1", same_bits(b.get_masses(), np.ones(2)))
        check("lj momenta unchanged", same_bits(b.get_momenta(), p))
        check("lj default pbc with Lattice", list(b.pbc) == [True, True, True])


def index_many(tmp, rng):
    path = os.path.join(tmp, "many.extxyz")
    images = []
    for k in range(400):
        n = int(rng.integers(0, 9)) if k % 50 else 0
        a = Atoms("Ar" * n, positions=rng.uniform(0, 5, (n, 3)))
        a.info["k"] = k
        images.append(a)
    ase.io.write(path, images, format="extxyz")
    with open(path, "a") as f:
        f.write("\n\n  \n")  # trailing blank lines are fine
    r = subprocess.run([DRIVER, "--index", path], capture_output=True, text=True)
    check("index runs", r.returncode == 0, r.stderr)
    if r.returncode != 0:
        return
    rows = r.stdout.split("\n")
    check("index frame count", int(rows[0]) == len(images), rows[0])
    line = 1
    ok = True
    for k, a in enumerate(images):
        got = rows[1 + k].split()
        if int(got[0]) != line or int(got[1]) != len(a):
            ok = False
            print("frame %d: index says %s, expected line %d atoms %d" % (k, got, line, len(a)))
            break
        line += len(a) + 2
    check("index lines and atoms", ok)
    check("ASE agrees on frame count", len(ase.io.read(path, ":")) == len(images))


def malformed(tmp):
    path = os.path.join(tmp, "bad.extxyz")
    with open(path, "w") as f:
        f.write("2\nProperties=species:S:1:pos:R:3\nCu 0 0 0\nCu 0 zero 0\n")
    r = subprocess.run([DRIVER, path, os.path.join(tmp, "bad_out.extxyz")],
                       capture_output=True, text=True)
    check("malformed fails", r.returncode == 1)
    check("malformed names FILE:LINE", (path + ":4:") in r.stderr, r.stderr)


def main():
    rng = np.random.default_rng(20240601)
    with tempfile.TemporaryDirectory() as tmp:
        images = structures(rng)
        for k, atoms in enumerate(images):
            roundtrip("single%d" % k, atoms, tmp)
        roundtrip("all", images, tmp)
        full_precision(tmp, rng)
        velocities_and_lj(tmp)
        index_many(tmp, rng)
        malformed(tmp)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
