#!/usr/bin/python3
"""crescale_lammps_test.py — npt_crescale's isothermal-isobaric ensemble on
a Lennard-Jones liquid (units lj, k_B = 1): its density against LAMMPS's
`fix npt` (Martyna–Tobias–Klein) at the same state points, and its volume
fluctuations against the slope of its own ⟨V⟩ between two pressures.

System: 32 atoms (fcc 2 x 2 x 2 at ρ = 0.8442, jittered), cutoff 2.5σ,
energy shifted, T = 1.0 (liquid), pressures P1 = 0.8 and P2 = 1.2; dt
0.005τ. batchmd: ONE `batchmd run` whose batch holds NSYS systems at P1 and
NSYS at P2, each given its pressure on its info line (`pressure=`), the
stage's value (1.0) being neither: each group must reach its own state
point. npt_crescale with tau_p 0.2τ, compressibility 0.125 σ³/ε (the
liquid's, so that the volume relaxes in about tau_p), the CSVR thermostat
with tdamp 0.1τ; the log's volume every 10 steps after EQUIL steps. LAMMPS:
`fix npt temp 1 1 0.1 iso P P 0.5` (MTK barostat, Nosé–Hoover chains), one
run of LSTEPS steps per pressure, the volume every 10 steps.

1. Density. The two codes sample the same NPT ensemble up to one finite-size
   term, worked out in npt_crescale.c: with the total momentum held at zero,
   npt_crescale samples the volume law V^N Z(V) e^{−PV/kT} (Z the
   configurational integral over scaled coordinates: the centre of mass
   anywhere in the cell), LAMMPS's fix npt V^{N−1−1/N} Z(V) e^{−PV/kT} (its
   MTK terms count N_f = 3N while its compute temp thermalises 3N − 3
   momenta). So LAMMPS's volume samples, reweighted by V^{1+1/N}, estimate
   npt_crescale's ⟨V⟩ exactly; the reweighting shifts ⟨V⟩ by about
   (1 + 1/N) Var(V)/⟨V⟩ (0.3 % here). Check: |⟨V⟩ − ⟨V⟩_LAMMPS, reweighted|
   < 3 combined SE at each pressure, with the combined SE below 0.5 % of
   ⟨V⟩ (a 2 % density error would be 10 SE away). Measured: z = +1.0 and
   −0.1 against the reweighted means, +3.0 and +2.1 against LAMMPS's plain
   ones (printed, not asserted). batchmd's SE: the spread of the NSYS
   independent systems' time averages; LAMMPS's: block averages (blocks of
   2000 samples, 100 τ, far longer than the volume's correlation time).

2. Compressibility (the physical-validation ensemble test). In any NPT
   ensemble d⟨V⟩/dP = −Var(V)/kT exactly, so ⟨V⟩(P1) − ⟨V⟩(P2) =
   ∫ Var(V)/kT dP, here by the trapezoid rule (its error, ΔP³ Var''/12 ≈ 3 %
   of the difference at these pressures, is below one SE). Check: the two
   sides agree within 3 combined SE, the SE below 15 % of the difference
   (measured: 2.18 ± 0.08 against 2.26 ± 0.03, β_T ≈ 0.13 σ³/ε).
   A barostat that samples the right mean but wrong fluctuations (Berendsen's
   weak coupling: far too small) fails it.

3. The mean logged temperature (N_f = 3N − 3) of each group is T within 4 SE.

Prints "N passed, M failed"; exits 1 on any failure."""
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from testlib import Checks, run  # noqa: E402

N_CELL, RHO, RC = 2, 0.8442, 2.5
N = 4 * N_CELL ** 3
T, PRESSURES = 1.0, (0.8, 1.2)
DT = 0.005
NSYS, EQUIL, STEPS, EVERY = 24, 2000, 24000, 10
LSTEPS, LEQUIL, BLOCK = 500000, 20000, 2000

CAMPAIGN = """units: lj
seed: 3
model: {type: lj, epsilon: 1.0, sigma: 1.0, cutoff: %g, shift: true, skin: 0.3}
input: in.extxyz
stages:
  npt: {type: npt_crescale, dt: %g, temperature: %g, pressure: 1.0, tau_p: 0.2, compressibility: 0.125,
        tdamp: 0.1, init_temperature: %g, steps: %d}
output:
  final: out/final.extxyz
  log: {file: out/log.csv, every: %d}
""" % (RC, DT, T, T, STEPS, EVERY)


def write_input(path):
    a = (4.0 / RHO) ** (1.0 / 3.0)
    L = a * N_CELL
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    pos0 = np.array([(np.array([i, j, k]) + b) * a for i in range(N_CELL) for j in range(N_CELL)
                     for k in range(N_CELL) for b in basis])
    with open(path, "w") as f:
        for g, p in enumerate(PRESSURES):
            for k in range(NSYS):
                x = pos0 + np.random.default_rng(100 * g + k).uniform(-0.05, 0.05, pos0.shape)
                f.write('%d\nLattice="%.17g 0 0 0 %.17g 0 0 0 %.17g" Properties=species:S:1:pos:R:3 pbc="T T T" '
                        'pressure=%.17g\n' % (N, L, L, L, p))
                for r in x:
                    f.write("Ar %.17g %.17g %.17g\n" % tuple(r))


def run_batchmd(c, d):
    """{pressure: (per-system mean V, per-system Var V, per-system mean T)}"""
    write_input(os.path.join(d, "in.extxyz"))
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(CAMPAIGN)
    r = run("run", "--quiet", os.path.join(d, "c.yaml"))
    c.check(r.returncode == 0, "batchmd run exit 0: %s" % r.stderr)
    v, t = {}, {}
    with open(os.path.join(d, "out", "log.csv")) as f:
        for row in csv.DictReader(f):
            if int(row["step"]) > EQUIL:
                s = int(row["system_id"])
                v.setdefault(s, []).append(float(row["volume_sigma3"]))
                t.setdefault(s, []).append(float(row["temperature_eps_per_kB"]))
    out = {}
    for g, p in enumerate(PRESSURES):
        ids = range(g * NSYS, (g + 1) * NSYS)
        c.check(all(len(v.get(s, [])) == (STEPS - EQUIL) // EVERY for s in ids), "P %g: every system logged" % p)
        out[p] = (np.array([np.mean(v[s]) for s in ids]), np.array([np.var(v[s]) for s in ids]),
                  np.array([np.mean(t[s]) for s in ids]))
    return out


def run_lammps(d, p):
    """The volume every EVERY steps after LEQUIL of fix npt at pressure p."""
    lines = ["units lj", "atom_style atomic", "boundary p p p", "lattice fcc %.17g" % RHO,
             "region box block 0 %d 0 %d 0 %d" % (N_CELL, N_CELL, N_CELL), "create_box 1 box", "create_atoms 1 box",
             "mass 1 1.0", "pair_style lj/cut %g" % RC, "pair_coeff 1 1 1.0 1.0 %g" % RC, "pair_modify shift yes",
             "neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes",
             "velocity all create %g 4928 mom yes dist gaussian" % T, "timestep %g" % DT,
             "fix 1 all npt temp %g %g 0.1 iso %.17g %.17g 0.5" % (T, T, p, p),
             "run %d" % LEQUIL, "variable v equal vol",
             "fix 2 all ave/time %d 1 %d v_v file vol.txt format ' %%.17g'" % (EVERY, EVERY), "run %d" % LSTEPS]
    with open(os.path.join(d, "in.npt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["lmp", "-in", "in.npt", "-log", "none", "-screen", "none"], cwd=d, check=True)
    return np.loadtxt(os.path.join(d, "vol.txt"))[:, 1]


def mean_se(x):
    return x.mean(), x.std(ddof=1) / np.sqrt(len(x))


def reweighted(v):
    """LAMMPS's volume samples reweighted to V^N: ⟨V^{2+1/N}⟩/⟨V^{1+1/N}⟩,
    its plain mean, and the block SE of each."""
    vr = v / v.mean()  # (scale-free weights)
    w = vr ** (1.0 + 1.0 / N)
    nb = len(v) // BLOCK
    blocks = [(np.sum(w[i * BLOCK:(i + 1) * BLOCK] * v[i * BLOCK:(i + 1) * BLOCK]) / np.sum(w[i * BLOCK:(i + 1) * BLOCK]),
               v[i * BLOCK:(i + 1) * BLOCK].mean()) for i in range(nb)]
    rw, plain = np.array(blocks).T
    return np.sum(w * v) / np.sum(w), rw.std(ddof=1) / np.sqrt(nb), v.mean(), plain.std(ddof=1) / np.sqrt(nb)


def main():
    c = Checks()
    with tempfile.TemporaryDirectory() as d:
        ours = run_batchmd(c, d)
        if c.failed:
            c.finish()
        for p in PRESSURES:
            vm, vse = mean_se(ours[p][0])
            lrw, lrw_se, lplain, lplain_se = reweighted(run_lammps(d, p))
            se = np.hypot(vse, lrw_se)
            z = (vm - lrw) / se
            print("P %g: <V> batchmd %.4f (SE %.4f); LAMMPS fix npt %.4f (SE %.4f), reweighted to V^N %.4f (SE %.4f); "
                  "z = %+.2f (against the plain mean: %+.2f)"
                  % (p, vm, vse, lplain, lplain_se, lrw, lrw_se, z, (vm - lplain) / np.hypot(vse, lplain_se)))
            c.check(abs(z) < 3.0, "P %g: <V> %.4f vs LAMMPS's %.4f: %.2f combined SE apart" % (p, vm, lrw, z))
            c.check(se < 0.005 * vm, "P %g: combined SE %.4f is below 0.5 %% of <V>" % (p, se))
            tm, tse = mean_se(ours[p][2])
            print("P %g: mean logged temperature %.4f (SE %.4f)" % (p, tm, tse))
            c.check(abs(tm - T) < 4 * tse, "P %g: mean temperature %.4f is T = %g within 4 SE (%.4f)" % (p, tm, T, tse))
    (m1, s1), (m2, s2) = mean_se(ours[PRESSURES[0]][0]), mean_se(ours[PRESSURES[1]][0])
    (w1, e1), (w2, e2) = mean_se(ours[PRESSURES[0]][1]), mean_se(ours[PRESSURES[1]][1])
    dv, dv_se = m1 - m2, np.hypot(s1, s2)
    dp = PRESSURES[1] - PRESSURES[0]
    fl, fl_se = 0.5 * dp * (w1 + w2) / T, 0.5 * dp * np.hypot(e1, e2) / T
    z = (dv - fl) / np.hypot(dv_se, fl_se)
    print("<V>(P1) - <V>(P2) = %.4f (SE %.4f); from the fluctuations, dP (Var1 + Var2)/2kT = %.4f (SE %.4f); "
          "z = %+.2f; beta_T about %.4f" % (dv, dv_se, fl, fl_se, z, fl / dp / (0.5 * (m1 + m2))))
    c.check(abs(z) < 3.0, "compressibility: slope %.4f and fluctuations %.4f are %.2f combined SE apart" % (dv, fl, z))
    c.check(np.hypot(dv_se, fl_se) < 0.15 * dv, "compressibility: combined SE below 15 %% of the difference")
    c.finish()


main()
