#!/usr/bin/python3
"""kim_fire_test.py — FIRE (the catalogue's "fire", ASE's defaults) on a KIM
EAM Cu model, driven by bmd_stage_run (tests/tools/kim_relax): a displaced
fcc Cu 3x3x3 cell with a vacancy relaxed in ONE batch with a Cu cluster and a
Cu slab, to fmax 0.002 eV/Å. Every system must converge with its energy
lowered, and the vacancy cell's relaxed energy must match LAMMPS's
`minimize` (conjugate gradient, same KIM model, fixed cell) to 1e-6
relative (when LAMMPS is there). The relaxed vacancy cell must also give the
same energy when relaxed alone (batch independence through a whole run).
Prints "N passed, M failed"."""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kim_lammps_test as kl  # noqa: E402

FMAX = 0.002


def relax(tmp, model, frames, tag):
    path = os.path.join(tmp, tag + ".extxyz")
    kl.write_extxyz(path, frames)
    out = os.path.join(tmp, tag + ".out")
    subprocess.run([os.path.join(kl.tools_dir(), "kim_relax"), model, path, out, str(FMAX), "3000"], check=True)
    rows = [line.split() for line in open(out)]
    return [(int(r[3]), int(r[4]), float(r[5]), float(r[6])) for r in rows]  # steps, converged, E, fmax


def lammps_minimize(tmp, model, frame):
    sy, cell, pos, pbc = frame
    d = os.path.join(tmp, "lmp")
    os.mkdir(d)
    kl.run_lammps(d, model, frame, "p p p")  # writes data.txt (and checks the set-up)
    lines = ["kim init %s metal" % model, "atom_style atomic", "boundary p p p", "read_data data.txt",
             "kim interactions Cu", "neighbor 1.0 bin", "thermo_style custom step pe fmax",
             "min_style cg", "minimize 0 1e-10 20000 200000",
             'print "RESULT $(pe:%.17g) $(fmax:%.17g)" file result.txt']
    with open(os.path.join(d, "in.min"), "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["lmp", "-in", "in.min", "-log", "none", "-screen", "none"], cwd=d, check=True)
    vals = open(os.path.join(d, "result.txt")).read().split()
    return float(vals[1]), float(vals[2])


def main():
    why = kl.skip_reason()
    if why:
        print("skipped: %s" % why)
        return kl.report(0, 0)
    model = kl.first_installed(kl.EAM_CU)
    if model is None:
        print("skipped: no EAM Cu KIM model installed")
        return kl.report(0, 0)
    rng = np.random.default_rng(31337)
    cases = {c[0]: c for c in kl.cu_cases(rng)}
    names = ["fcc 3x3x3 with a vacancy", "cluster f f f", "(100) slab p p f"]
    frames = [cases[n][1] for n in names]
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print("ok  " if ok else "FAIL", what)
        passed += bool(ok)
        failed += not ok

    with tempfile.TemporaryDirectory() as tmp:
        start = kl.run_batchmd(tmp, model, frames, tag="start")
        res = relax(tmp, model, frames, "batch")
        for name, (E0, *_), (steps, conv, E, fmax) in zip(names, start, res):
            check(conv == 1 and fmax < FMAX and E < E0,
                  "%s: FIRE converged=%d in %d steps, fmax %.2e eV/Å, E %.8f -> %.8f eV" % (name, conv, steps, fmax,
                                                                                          E0, E))
        alone = relax(tmp, model, frames[:1], "alone")[0]
        check(alone == res[0], "vacancy cell relaxed alone: %d steps, E %.17g (in the batch: %d steps, E %.17g)"
              % (alone[0], alone[2], res[0][0], res[0][2]))
        if shutil.which("lmp"):
            El, fl = lammps_minimize(tmp, model, cases[names[0]][2])
            rel = abs(res[0][2] - El) / abs(El)
            check(rel < 1e-6, "vacancy cell: FIRE E %.10f eV vs LAMMPS minimize %.10f eV (fmax %.1e): relative %.1e"
                  % (res[0][2], El, fl, rel))
        else:
            print("note: no LAMMPS; the comparison with `minimize` is skipped")
    return kl.report(passed, failed)


if __name__ == "__main__":
    sys.exit(main())
