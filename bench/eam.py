#!/usr/bin/python3
"""bench/eam.py — native EAM in batchmd vs LAMMPS, side by side in one run.

32,000 Cu atoms (fcc 20x20x20, a = 3.615 Å), velocities at 600 K, NVE with
dt = 1 fs, neighbor skin 1.0 Å (LAMMPS: `neighbor 1.0 bin`, `neigh_modify
every 1 delay 0 check yes`; batchmd rebuilds a list when an atom moved more
than skin/2), one thread, for each potential:
  - pair_style eam        with Cu_u3.eam          (funcfl, Foiles 1986)
  - pair_style eam/alloy  with Cu_mishin1.eam.alloy (setfl, 10,001-point tables)
batchmd steps through the stage API (tests/tools/eam_eval bench: the NVE
dynamics of bmd_dynamics_create + bmd_stage_step, one model evaluation per
step); LAMMPS runs its own input. Timed: batchmd's step loop (after the
first step) against LAMMPS's "Loop time". Prints steps/s, atom-steps/s and
the ratio batchmd / LAMMPS.

usage: bench/eam.py [--steps N] [--cells N] [--tools BUILD/tests/tools]"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=200)
ap.add_argument("--cells", type=int, default=20)
ap.add_argument("--tools", default=os.environ.get("BATCHMD_TOOLS", os.path.join(here, "..", "build", "tests", "tools")))
ap.add_argument("--potentials", default="/usr/share/lammps/potentials")
args = ap.parse_args()

A, T0 = 3.615, 600.0
n = 4 * args.cells ** 3
env = dict(os.environ, OMP_NUM_THREADS="1")
tool = os.path.join(args.tools, "eam_eval")
if not os.path.exists(tool):
    sys.exit("no %s: build batchmd with its tests first (cmake --build BUILD)" % tool)

rows = []
for style, fname in (("eam", "Cu_u3.eam"), ("eam/alloy", "Cu_mishin1.eam.alloy")):
    pot = os.path.join(args.potentials, fname)
    # batchmd: 1 untimed step (initial forces), then steps - 1 timed
    r = subprocess.run([tool, "bench", pot, style, "Cu", repr(A), str(args.cells), str(args.steps + 1), repr(T0)],
                       capture_output=True, text=True, env=env)
    if r.returncode:
        sys.exit("eam_eval failed: " + r.stderr)
    t_bmd = float(re.search(r"loop time ([0-9.eE+-]+) s", r.stdout).group(1))
    drift = re.search(r"drift (\S+) eV/atom", r.stdout).group(1)
    coeff = "pair_coeff 1 1 %s" % pot if style == "eam" else "pair_coeff * * %s Cu" % pot
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "in.eam"), "w") as f:
            f.write("units metal\natom_style atomic\nlattice fcc %r\nregion box block 0 %d 0 %d 0 %d\n"
                    "create_box 1 box\ncreate_atoms 1 box\nmass 1 63.546\npair_style %s\n%s\n"
                    "velocity all create %r 376847 loop geom\nneighbor 1.0 bin\n"
                    "neigh_modify every 1 delay 0 check yes\ntimestep 0.001\nfix 1 all nve\nthermo 100\nrun %d\n"
                    % (A, args.cells, args.cells, args.cells, style, coeff, T0, args.steps))
        r2 = subprocess.run(["lmp", "-in", "in.eam", "-log", "none"], capture_output=True, text=True, cwd=d, env=env)
        if r2.returncode:
            sys.exit("lmp failed: " + r2.stdout[-2000:] + r2.stderr)
    t_lmp = float(re.search(r"Loop time of ([0-9.eE+-]+) on", r2.stdout).group(1))
    rows.append((style, fname, args.steps / t_bmd, args.steps / t_lmp, drift))

# The same Cu through an OpenKIM EAM model: batchmd's KIM adapter (model time
# per step, tests/tools/kim_eval bench) against LAMMPS running that KIM model
# (kim init / kim interactions) in the same run.
KIM_MODEL = "EAM_Dynamo_MendelevKing_2013_Cu__MO_748636486270_005"
kim_tool = os.path.join(args.tools, "kim_eval")
if os.path.exists(kim_tool):
    r = subprocess.run([kim_tool, "bench", KIM_MODEL, str(args.cells), str(args.steps)], capture_output=True, text=True,
                       env=env)
    m = re.search(r"\(([0-9.eE+-]+) ms/step\)", r.stdout)
    if r.returncode == 0 and m:
        s_bmd = 1000.0 / float(m.group(1))
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "in.kim"), "w") as f:
                f.write("kim init %s metal\natom_style atomic\nlattice fcc %r\nregion box block 0 %d 0 %d 0 %d\n"
                        "create_box 1 box\ncreate_atoms 1 box\nmass 1 63.546\nkim interactions Cu\n"
                        "velocity all create 300 376847 loop geom\nneighbor 0.5 bin\n"
                        "neigh_modify every 1 delay 0 check yes\ntimestep 0.001\nfix 1 all nve\nrun %d\n"
                        % (KIM_MODEL, A, args.cells, args.cells, args.cells, args.steps))
            r2 = subprocess.run(["lmp", "-in", "in.kim", "-log", "none"], capture_output=True, text=True, cwd=d, env=env)
        m2 = re.search(r"Loop time of ([0-9.eE+-]+) on", r2.stdout)
        if m2:
            rows.append(("kim", KIM_MODEL[:22], s_bmd, args.steps / float(m2.group(1)), "-"))
    else:
        print("kim_eval bench failed: " + r.stderr.strip())

print("EAM bench: %d Cu atoms, NVE dt 1 fs from %g K, skin 1 Å, %d steps, 1 thread" % (n, T0, args.steps))
print("%-10s %-22s %14s %14s %16s %8s %14s" % ("style", "file", "batchmd st/s", "LAMMPS st/s", "batchmd at-st/s",
                                                 "ratio", "bmd drift eV/at"))
for style, fname, s_bmd, s_lmp, drift in rows:
    print("%-10s %-22s %14.2f %14.2f %16.4g %8.3f %14s" % (style, fname, s_bmd, s_lmp, s_bmd * n, s_bmd / s_lmp, drift))
print("(ratio = batchmd steps/s / LAMMPS steps/s: > 1 means batchmd is faster)")
