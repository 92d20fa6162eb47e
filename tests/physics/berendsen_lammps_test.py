#!/usr/bin/python3
"""berendsen_lammps_test.py — batchmd's nvt_berendsen against LAMMPS's
`fix nve` + `fix temp/berendsen`, step by step.

Both take a velocity Verlet step (LAMMPS's fix nve: initial_integrate,
final_integrate), then scale every velocity by λ, λ² = 1 + (dt/τ)(T0/T − 1)
with T = 2K/(N_f k_B) and N_f = 3N − 3 (LAMMPS's compute temp removes 3 for
the total momentum; the catalogue's rule for nvt_berendsen), at the end of
the step (fix temp/berendsen's end_of_step), and count the energy the
rescaling moved, Σ K (1 − λ²) (LAMMPS: f_ID, FixTempBerendsen's
compute_scalar; batchmd: ecouple, the first entry of the state row
"nvt_berendsen.0.st"). LAMMPS runs in `units lj`, where k_B = mvv2e =
ftm2v = 1, as batchmd's lj units: no constant differs.

System: 108 LJ atoms (fcc at ρ = 0.8442 with a small jitter, periodic,
cutoff 2.5σ, energy shifted), velocities drawn here (zero total momentum, T =
2.0) and given to both (extxyz `velocities`, the data file's Velocities
section; LAMMPS runs no `velocity` command), bath T0 = 1.0 with tdamp = 0.1τ
(20 steps: the thermostat works hard), then again with tdamp = 1τ and with
T0 = 3.0 (heating); dt = 0.005τ, 200 steps. Every step: positions (LAMMPS's
unwrapped xu yu zu), velocities, kinetic and potential energy and ecouple
must agree to TOL = 1e-10: positions relative to the box length, velocities
relative to the largest velocity component, energies relative to max(|K|,
|U|). The two codes differ only in rounding (LAMMPS sums forces in its own
neighbor order and computes 2K as N_f k_B T_current), which the chaotic
dynamics of a liquid amplifies; a different N_f (3N) would move λ by 1e-4
per step, a rescale before the second half kick by more.
Prints "N passed, M failed"; exits 1 on any failure."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lj_lammps_test import tools_dir  # noqa: E402

N_CELL = 3
RHO = 0.8442
DT, STEPS, T0 = 0.005, 200, 2.0
RC = 2.5
TOL = 1e-10

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)
    return ok


def lattice():
    a = (4.0 / RHO) ** (1.0 / 3.0)
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    pos = np.array([(np.array([i, j, k]) + b) * a for i in range(N_CELL) for j in range(N_CELL)
                    for k in range(N_CELL) for b in basis])
    rng = np.random.default_rng(42)
    pos += rng.uniform(-0.05, 0.05, pos.shape)
    vel = rng.normal(0, 1, pos.shape)
    vel -= vel.mean(axis=0)  # unit masses: zero total momentum
    n = len(pos)
    vel *= np.sqrt(T0 * (3 * n - 3) / np.sum(vel * vel))
    return a * N_CELL, pos, vel


def run_lammps(d, L, pos, vel, t_bath, tdamp):
    with open(os.path.join(d, "data.txt"), "w") as f:
        f.write("LAMMPS data\n\n%d atoms\n1 atom types\n\n0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n\n"
                % (len(pos), L, L, L))
        f.write("Masses\n\n1 1.0\n\nAtoms # atomic\n\n")
        for i, p in enumerate(pos):
            f.write("%d 1 %.17g %.17g %.17g\n" % (i + 1, p[0], p[1], p[2]))
        f.write("\nVelocities\n\n")
        for i, v in enumerate(vel):
            f.write("%d %.17g %.17g %.17g\n" % (i + 1, v[0], v[1], v[2]))
    lines = ["units lj", "atom_style atomic", "boundary p p p", "read_data data.txt",
             "pair_style lj/cut %g" % RC, "pair_coeff 1 1 1.0 1.0 %g" % RC, "pair_modify shift yes",
             "neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes",
             "timestep %.17g" % DT,
             "fix 1 all nve", "fix 2 all temp/berendsen %.17g %.17g %.17g" % (t_bath, t_bath, tdamp),
             "thermo_style custom step ke pe f_2", "thermo_modify norm no",
             'fix 3 all print 1 "$(step) $(ke:%.17g) $(pe:%.17g) $(f_2:%.17g)" file thermo.txt screen no',
             "dump 1 all custom 1 traj.dump id xu yu zu vx vy vz",
             "dump_modify 1 sort id format float %.17g",
             "run %d" % STEPS]
    with open(os.path.join(d, "in.ber"), "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["lmp", "-in", "in.ber", "-log", "none", "-screen", "none"], cwd=d, check=True)
    thermo = {}
    with open(os.path.join(d, "thermo.txt")) as f:
        for line in f:
            w = line.split()
            if w and not line.startswith("#"):
                thermo[int(w[0])] = [float(x) for x in w[1:4]]
    frames = {}
    with open(os.path.join(d, "traj.dump")) as f:
        text = f.read().split("ITEM: TIMESTEP\n")[1:]
    for block in text:
        rows = block.split("\n")
        step = int(rows[0])
        atoms = block.split("ITEM: ATOMS id xu yu zu vx vy vz\n")[1].split("\n")
        frames[step] = np.array([[float(x) for x in r.split()[1:]] for r in atoms if r.strip()])
    return thermo, frames


def run_batchmd(d, L, pos, vel, t_bath, tdamp):
    with open(os.path.join(d, "params.txt"), "w") as f:
        f.write("shift 1\nskin 0.3\nAr Ar 1.0 1.0 0 %g\n" % RC)
    with open(os.path.join(d, "in.extxyz"), "w") as f:
        f.write("%d\nLattice=\"%.17g 0 0 0 %.17g 0 0 0 %.17g\" Properties=species:S:1:pos:R:3:velocities:R:3 "
                "pbc=\"T T T\"\n" % (len(pos), L, L, L))
        for p, v in zip(pos, vel):
            f.write("Ar %.17g %.17g %.17g %.17g %.17g %.17g\n" % (*p, *v))
    subprocess.run([os.path.join(tools_dir(), "pair_eval"), "md", "lj", "params.txt", "lj", "in.extxyz", str(STEPS),
                    "out.txt", "nvt_berendsen", "dt=%.17g" % DT, "temperature=%.17g" % t_bath,
                    "tdamp=%.17g" % tdamp], cwd=d, check=True)
    thermo, x, v = {}, {}, {}
    with open(os.path.join(d, "out.txt")) as f:
        for line in f:
            w = line.split()
            n = int(w[1])
            if w[0] == "step":
                thermo[n] = [float(y) for y in w[3:6]]
            elif w[0] == "x":
                x.setdefault(n, {})[int(w[3])] = [float(y) for y in w[4:7]]
            elif w[0] == "v":
                v.setdefault(n, {})[int(w[3])] = [float(y) for y in w[4:7]]
    frames = {n: np.hstack([np.array([x[n][i] for i in range(len(pos))]), np.array([v[n][i] for i in range(len(pos))])])
              for n in x}
    return thermo, frames


def compare(t_bath, tdamp):
    L, pos, vel = lattice()
    with tempfile.TemporaryDirectory() as d:
        lt, lf = run_lammps(d, L, pos, vel, t_bath, tdamp)
        bt, bf = run_batchmd(d, L, pos, vel, t_bath, tdamp)
    worst = {"x": 0.0, "v": 0.0, "ke": 0.0, "pe": 0.0, "ecouple": 0.0}
    for n in range(1, STEPS + 1):
        if not check(n in lt and n in lf and n in bt and n in bf, "T0 %g, tdamp %g: step %d missing" % (t_bath, tdamp, n)):
            return
        dx = np.abs(bf[n][:, :3] - lf[n][:, :3]).max() / L
        dv = np.abs(bf[n][:, 3:] - lf[n][:, 3:]).max() / np.abs(lf[n][:, 3:]).max()
        worst["x"] = max(worst["x"], dx)
        worst["v"] = max(worst["v"], dv)
        for k, name in enumerate(("ke", "pe", "ecouple")):
            scale = max(abs(lt[n][0]), abs(lt[n][1]))  # energies relative to the system's energy scale
            worst[name] = max(worst[name], abs(bt[n][k] - lt[n][k]) / scale)
    e_th = lt[STEPS][2]
    what = "T0 %g, tdamp %g" % (t_bath, tdamp)
    print("%s: after %d steps ecouple %.6f (K %.3f -> %.3f), worst relative differences %s"
          % (what, STEPS, e_th, lt[1][0], lt[STEPS][0], " ".join("%s %.1e" % kv for kv in worst.items())))
    check(abs(e_th) > 1.0, "%s: the thermostat did work (ecouple %.3g)" % (what, e_th))
    for k, w in worst.items():
        check(w < TOL, "%s: %s differs from LAMMPS by %.2e (tolerance %.0e)" % (what, k, w, TOL))


for t_bath, tdamp in ((1.0, 0.1), (1.0, 1.0), (3.0, 0.1)):
    compare(t_bath, tdamp)
print("%d failed" % len(failures))
sys.exit(1 if failures else 0)
