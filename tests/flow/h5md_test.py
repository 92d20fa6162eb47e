#!/usr/bin/env python3
"""h5md_test.py — the H5MD trajectory sink and the snapshot hooks, read back
with h5py.

ASE writes three structures of different sizes (a periodic Ar crystal, an
Ar/Kr slab periodic in x and y, an Ar/Kr cluster); the driver `h5md_write`
(tests/tools/, through $BATCHMD_TOOLS) runs them in one batch through a
stage on a Lennard-Jones model with a snapshot hook into an H5MD file. The
test asserts the H5MD 1.1 layout (version, author, creator, one particle and
one system_observables group per system, no /observables, no units module,
/parameters' units), shapes [n_frames, N, 3], step arrays (the system's own
step counts: multiples of `every`, continued across fused sub-stages, and
the count it leaves with when that is not a multiple), times (Σ steps·dt
over MD sub-stages), unit attributes (metal: variable-length strings, which
h5py reads as str; lj: none), species and masses equal to the input's,
first-frame positions and box edges bit for bit equal to the input,
boundary strings from pbc; that a system gives the same bits alone as in
the batch; that a run split into several runs (the sink closed and
reopened) gives the same file contents; the system filter; the
converged-snapshot hook, whose frame is the trajectory's last; and that an
unwritable path fails with a message naming it. (MDAnalysis reads these
files in h5md_mdanalysis_test.py.) Prints "N passed, M failed"; exits 1 on
any failure (0 with a note when batchmd was built without HDF5).
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

import ase.io
from ase import Atoms
from ase.build import bulk, fcc111
from ase.cluster import Icosahedron

import h5py

TOOLS = os.environ.get("BATCHMD_TOOLS")
if not TOOLS:
    sys.exit("h5md_test: set BATCHMD_TOOLS to the build's tests/tools folder")
DRIVER = os.path.join(TOOLS, "h5md_write")
EPS, SIGMA, RC = "0.0104", "3.4", "7.0"

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


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def unit(ds):
    """A dataset's `unit` attribute as h5py gives it: a str for a
    variable-length string, None when absent (a fixed-length one comes back
    as bytes, which no expected unit equals)."""
    return ds.attrs.get("unit")


def with_last(steps, total):
    """Frames at multiples of `every` up to total, and the final state."""
    return steps + ([total] if steps[-1] != total else [])


def structures():
    crystal = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((3, 3, 3))
    crystal.rattle(0.05, seed=1)
    slab = fcc111("Ar", size=(3, 3, 3), a=5.26, vacuum=6.0)
    slab.pbc = (True, True, False)
    slab.info.pop("adsorbate_info", None)
    slab.symbols[::4] = "Kr"
    slab.rattle(0.05, seed=2)
    cluster = Icosahedron("Ar", 2)
    cluster.symbols[::3] = "Kr"
    cluster.center(vacuum=8.0)
    cluster.pbc = False
    cluster.rattle(0.05, seed=3)
    return [crystal, slab, cluster]


def run(args, expect=0):
    r = subprocess.run([DRIVER] + [str(a) for a in args], capture_output=True, text=True)
    if r.returncode == 3:
        print("h5md_test: %s" % r.stderr.strip())
        print("0 passed, 0 failed (skipped: batchmd built without HDF5)")
        sys.exit(0)
    if r.returncode != expect:
        print("driver %s exited %d: %s" % (args, r.returncode, r.stderr))
    return r


def summary(path):
    out = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            out[int(w[0])] = [int(x) for x in w[2:]]
    return out


def datasets(path):
    """Every dataset of the file by name, as numpy arrays."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
    return out


def check_layout(tag, path, inputs, ids, expected_steps, expected_times, units="metal"):
    try:
        layout(tag, path, inputs, ids, expected_steps, expected_times, units)
    except Exception as e:  # a missing group or attribute
        check(tag + ": layout", False, repr(e))


def layout(tag, path, inputs, ids, expected_steps, expected_times, units):
    u = {"metal": ("Angstrom", "fs", "Angstrom ps-1", "kJ mol-1 Angstrom-1", "eV", "u", "K"),
         "lj": (None,) * 7}[units]
    with h5py.File(path, "r") as f:
        check(tag + ": h5md version", list(f["h5md"].attrs["version"]) == [1, 1])
        check(tag + ": creator", text(f["h5md/creator"].attrs["name"]) == "batchmd"
              and len(text(f["h5md/creator"].attrs["version"])) > 0)
        check(tag + ": author", "name" in f["h5md/author"].attrs)
        check(tag + ": no units module", "modules" not in f["h5md"])
        check(tag + ": parameters units", text(f["parameters"].attrs["units"]) == units)
        want = sorted("system_%d" % i for i in ids)
        check(tag + ": particle groups", sorted(f["particles"].keys()) == want, str(list(f["particles"].keys())))
        check(tag + ": observable groups", sorted(f["system_observables"].keys()) == want
              and "observables" not in f)
        for i in ids:
            a = inputs[i]
            g = f["particles/system_%d" % i]
            o = f["system_observables/system_%d" % i]
            n, steps, times = len(a), expected_steps[i], expected_times[i]
            nf = len(steps)
            t = "%s: system %d" % (tag, i)
            for el in ("position", "velocity", "force"):
                check(t + " %s shape" % el, g[el + "/value"].shape == (nf, n, 3), str(g[el + "/value"].shape))
                check(t + " %s dtype" % el, g[el + "/value"].dtype == np.float64)
                check(t + " %s step" % el, g[el + "/step"].dtype == np.int64 and list(g[el + "/step"][()]) == steps,
                      "%s != %s" % (list(g[el + "/step"][()]), steps))
                check(t + " %s time" % el, same_bits(g[el + "/time"][()], times),
                      "%s != %s" % (list(g[el + "/time"][()]), times))
                check(t + " %s unit" % el, unit(g[el + "/value"]) ==
                      {"position": u[0], "velocity": u[2], "force": u[3]}[el], repr(unit(g[el + "/value"])))
                check(t + " %s time unit" % el, unit(g[el + "/time"]) == u[1])
                check(t + " %s step has no unit" % el, unit(g[el + "/step"]) is None)
                check(t + " %s extensible" % el, g[el + "/value"].maxshape[0] is None
                      and g[el + "/value"].chunks is not None)
            check(t + " species", g["species"].dtype == np.int32
                  and list(g["species"][()]) == list(a.numbers))
            check(t + " mass", g["mass"].shape == (n,) and np.allclose(g["mass"][()], a.get_masses(), rtol=1e-4)
                  and unit(g["mass"]) == u[5])
            check(t + " first frame = input", same_bits(g["position/value"][0], a.positions))
            box = g["box"]
            check(t + " box dimension", int(box.attrs["dimension"]) == 3)
            check(t + " box boundary", [text(x) for x in box.attrs["boundary"]] ==
                  ["periodic" if p else "none" for p in a.pbc], str(box.attrs["boundary"]))
            check(t + " box edges", box["edges/value"].shape == (nf, 3, 3)
                  and all(same_bits(e, a.cell[:]) for e in box["edges/value"][()]))
            check(t + " box edges step/time", list(box["edges/step"][()]) == steps
                  and same_bits(box["edges/time"][()], times))
            check(t + " edges unit", unit(box["edges/value"]) == u[0])
            for ob, want_unit in (("potential_energy", u[4]), ("temperature", u[6])):
                check(t + " " + ob, o[ob + "/value"].shape == (nf,) and list(o[ob + "/step"][()]) == steps
                      and unit(o[ob + "/value"]) == want_unit
                      and np.all(np.isfinite(o[ob + "/value"][()])))


def main():
    tmp = tempfile.mkdtemp(prefix="bmd_h5md_")
    inputs_raw = structures()
    src = os.path.join(tmp, "in.extxyz")
    ase.io.write(src, inputs_raw, format="extxyz")
    inputs = ase.io.read(src, ":")  # what batchmd reads: the file's numbers
    ids = [0, 1, 2]

    # 1. one MD sub-stage: frames at 0, 5, ..., 20 of 23 steps, and 23 (the
    # state it leaves with), time = step * dt
    out = os.path.join(tmp, "md.h5")
    r = run(["-s", "md:nve:23:0.5", "-e", 5, src, out, os.path.join(tmp, "md.txt"), EPS, SIGMA, RC])
    check("md run", r.returncode == 0)
    steps = {i: [0, 5, 10, 15, 20, 23] for i in ids}
    times = {i: [s * 0.5 for s in steps[i]] for i in ids}
    if r.returncode == 0:
        check_layout("md", out, inputs, ids, steps, times)

    # 2. fused relax + md: own steps continue across the sub-stages; time
    # counts only the md steps; the same bits alone and in the batch
    fused = ["-s", "relax:fire:40", "-s", "md:nve:13:2.0", "-f", "0.02", "-e", 4]
    out = os.path.join(tmp, "fused.h5")
    conv = os.path.join(tmp, "conv.h5")
    r = run(fused + ["-c", conv, src, out, os.path.join(tmp, "fused.txt"), EPS, SIGMA, RC])
    check("fused run", r.returncode == 0)
    if r.returncode == 0:
        sm = summary(os.path.join(tmp, "fused.txt"))
        steps, times = {}, {}
        for i in ids:
            relax, md = sm[i]
            total = relax + md
            steps[i] = with_last([s for s in range(0, total + 1, 4)], total)
            times[i] = [max(0, s - relax) * 2.0 for s in steps[i]]
        check("fused: relaxation took steps", all(sm[i][0] > 0 and sm[i][1] == 13 for i in ids), str(sm))
        check_layout("fused", out, inputs, ids, steps, times)
        batch = datasets(out)
        for i in ids:
            alone = os.path.join(tmp, "alone%d.h5" % i)
            r = run(fused + [src, alone, os.path.join(tmp, "alone.txt"), EPS, SIGMA, RC, i])
            one = datasets(alone)
            mine = {k: v for k, v in batch.items() if "/system_%d/" % i in k}
            check("fused: system %d alone = in the batch" % i, r.returncode == 0
                  and sorted(mine) == sorted(k for k in one if k.startswith(("particles", "system_observables")))
                  and all(v.dtype == one[k].dtype and v.tobytes() == one[k].tobytes() for k, v in mine.items()))
        # converged snapshots (last_only): one frame per system, as it leaves
        with h5py.File(conv, "r") as f:
            for i in ids:
                g = f["particles/system_%d" % i]
                total = sum(sm[i])
                check("converged: system %d" % i, g["position/value"].shape[0] == 1
                      and list(g["position/step"][()]) == [total]
                      and same_bits(g["position/time"][()], [13 * 2.0]))
                check("converged: system %d = the trajectory's last frame" % i, same_bits(
                    g["position/value"][0], batch["particles/system_%d/position/value" % i][-1]))

        # 3. the same run in pieces of 3 loop steps: the sink is closed at the
        # end of each piece and reopened by the next write; same contents
        out3 = os.path.join(tmp, "pieces.h5")
        r = run(fused + ["-l", 3, src, out3, os.path.join(tmp, "pieces.txt"), EPS, SIGMA, RC])
        pieces = datasets(out3)
        check("pieces: same file contents", r.returncode == 0 and sorted(pieces) == sorted(batch)
              and all(k.startswith("h5md") or (v.dtype == pieces[k].dtype and v.tobytes() == pieces[k].tobytes())
                      for k, v in batch.items()))

    # 4. only system 1, and in another order of appending
    out = os.path.join(tmp, "one.h5")
    r = run(["-s", "md:nve:10:1.0", "-e", 5, "-i", 1, src, out, os.path.join(tmp, "one.txt"), EPS, SIGMA, RC, 2, 1, 0])
    if r.returncode == 0:
        check_layout("filter", out, inputs, [1], {1: [0, 5, 10]}, {1: [0.0, 5.0, 10.0]})
    else:
        check("filter run", False)

    # 5. lj units: no unit attributes, /parameters says lj
    lj = []
    for a in inputs_raw:
        b = a.copy()
        b.set_cell(a.cell[:] / 3.4, scale_atoms=True)
        lj.append(b)
    src_lj = os.path.join(tmp, "lj.extxyz")
    ase.io.write(src_lj, lj, format="extxyz")
    lj_in = ase.io.read(src_lj, ":")
    out = os.path.join(tmp, "lj.h5")
    r = run(["-u", "lj", "-s", "md:nve:6:0.005", "-e", 3, src_lj, out, os.path.join(tmp, "lj.txt"), "1", "1", "2.5"])
    if r.returncode == 0:
        with h5py.File(out, "r") as f:  # masses are 1 in lj units
            for i in ids:
                check("lj: masses", np.all(f["particles/system_%d/mass" % i][()] == 1.0))
        for a in lj_in:
            a.set_masses([1.0] * len(a))
        check_layout("lj", out, lj_in, ids, {i: [0, 3, 6] for i in ids},
                     {i: [0.0, 3 * 0.005, 6 * 0.005] for i in ids}, units="lj")
    else:
        check("lj run", False)

    # 6. an unwritable path: exit 1, the message names it
    bad = "/proc/batchmd_no_such_dir/t.h5"
    r = run([src, bad, os.path.join(tmp, "bad.txt"), EPS, SIGMA, RC], expect=1)
    check("bad path fails", r.returncode == 1 and bad in r.stderr, r.stderr)

    print("%d passed, %d failed" % (passed, failed))
    if not failed:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
