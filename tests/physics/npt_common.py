"""npt_common.py — what the npt_mtk/nph tests share: LJ liquids in reduced
units, batchmd's runs through the npt_run driver (tests/tools/npt_run.c),
LAMMPS's fix npt/nph runs on the same input, and block averages.

Units are LAMMPS's `units lj` and batchmd's `units: lj` (k_B = mvv2e = ftm2v
= 1, pressure in ε/σ³): no constant differs between the two codes."""
import os
import subprocess

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FCC = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])


def tools_dir():
    d = os.environ.get("BATCHMD_TOOLS")
    return d or os.path.join(HERE, "..", "..", "build", "tests", "tools")


def fcc_liquid(n_cell, rho, temperature, seed, jitter=0.05):
    """An fcc lattice of 4 n_cell³ unit-mass atoms at number density rho,
    jittered, with Gaussian velocities of zero total momentum at exactly
    `temperature` (3N − 3 degrees of freedom). Returns (cell rows, pos, vel)."""
    a = (4.0 / rho) ** (1.0 / 3.0)
    pos = np.array([(np.array([i, j, k]) + b) * a for i in range(n_cell) for j in range(n_cell)
                    for k in range(n_cell) for b in FCC])
    rng = np.random.default_rng(seed)
    pos += rng.uniform(-jitter, jitter, pos.shape)
    vel = rng.normal(0, 1, pos.shape)
    vel -= vel.mean(axis=0)
    vel *= np.sqrt(temperature * (3 * len(pos) - 3) / np.sum(vel * vel))
    return np.diag([a * n_cell] * 3), pos, vel


def write_extxyz(path, frames):
    """frames: list of (cell rows, pos, vel, info dict)."""
    with open(path, "w") as f:
        for cell, pos, vel, info in frames:
            extra = "".join(" %s=%s" % kv for kv in info.items())
            f.write("%d\nLattice=\"%s\" Properties=species:S:1:pos:R:3:velocities:R:3 pbc=\"T T T\"%s\n"
                    % (len(pos), " ".join("%.17g" % x for x in np.asarray(cell).ravel()), extra))
            for p, v in zip(pos, vel):
                f.write("Ar %.17g %.17g %.17g %.17g %.17g %.17g\n" % (*p, *v))


def run_batchmd(d, frames, steps, every, dyn, params, rc=2.5, skin=0.3, shift=1, xv=False):
    """Runs dynamics `dyn` with params (dict) on frames in one batch; returns
    {system: {"step", "ke", "pe", "eext", "vol", "press", "temp": arrays,
    "cell": (n, 3, 3)}} and, with xv, {system: {step: (x, v)}}; failed
    systems as {system: status}."""
    write_extxyz(os.path.join(d, "in.extxyz"), frames)
    env = dict(os.environ, BMD_NPT_RUN_XV="1" if xv else "0")
    subprocess.run([os.path.join(tools_dir(), "npt_run"), "lj", "1", "1", str(rc), str(skin), str(shift), "in.extxyz",
                    str(steps), str(every), "out.txt", dyn] + ["%s=%.17g" % kv for kv in params.items()],
                   cwd=d, check=True, env=env)
    rows, xs, vs, failed = {}, {}, {}, {}
    with open(os.path.join(d, "out.txt")) as f:
        for line in f:
            w = line.split()
            if w[0] == "step":
                rows.setdefault(int(w[2]), []).append([float(y) for y in [w[1]] + w[3:]])
            elif w[0] == "x":
                xs.setdefault(int(w[2]), {}).setdefault(int(w[1]), []).append([float(y) for y in w[4:7]])
            elif w[0] == "v":
                vs.setdefault(int(w[2]), {}).setdefault(int(w[1]), []).append([float(y) for y in w[4:7]])
            elif w[0] == "failed":
                failed[int(w[2])] = w[3]
    out = {}
    for s, r in rows.items():
        a = np.array(r)
        out[s] = {"step": a[:, 0].astype(int), "ke": a[:, 1], "pe": a[:, 2], "eext": a[:, 3], "vol": a[:, 4],
                  "press": a[:, 5], "temp": a[:, 6], "cell": a[:, 7:16].reshape(-1, 3, 3)}
    traj = {s: {n: (np.array(xs[s][n]), np.array(vs[s][n])) for n in xs[s]} for s in xs}
    return out, traj, failed


def lammps_box(cell):
    """LAMMPS's box of a cell in its orientation (a along x, b in xy)."""
    c = np.asarray(cell)
    assert c[0, 1] == 0 and c[0, 2] == 0 and c[1, 2] == 0, "cell not in LAMMPS's orientation"
    return c[0, 0], c[1, 1], c[2, 2], c[1, 0], c[2, 0], c[2, 1]  # lx ly lz xy xz yz


def run_lammps(d, cell, pos, vel, fix, steps, every, rc=2.5, skin=0.3, shift=True, dump=False, thermo_every=None,
               extra=(), check=True):
    """Runs LAMMPS (units lj, lj/cut rc, the same skin, every step
    neighbor check) with `fix` (the text after "fix 1 all") on one system;
    returns arrays per printed step: step, ke, pe, f_1, vol, press, lx, ly,
    lz, xy, xz, yz and the thermo keywords in `extra` (e.g. "f_1[9]"); and
    with dump, {step: (xu yu zu, v)} sorted by id."""
    lx, ly, lz, xy, xz, yz = lammps_box(cell)
    tri = xy != 0 or xz != 0 or yz != 0 or " tri " in " %s " % fix
    with open(os.path.join(d, "data.txt"), "w") as f:
        f.write("LAMMPS data\n\n%d atoms\n1 atom types\n\n0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n"
                % (len(pos), lx, ly, lz))
        if tri:
            f.write("%.17g %.17g %.17g xy xz yz\n" % (xy, xz, yz))
        f.write("\nMasses\n\n1 1.0\n\nAtoms # atomic\n\n")
        for i, p in enumerate(pos):
            f.write("%d 1 %.17g %.17g %.17g\n" % (i + 1, p[0], p[1], p[2]))
        f.write("\nVelocities\n\n")
        for i, v in enumerate(vel):
            f.write("%d %.17g %.17g %.17g\n" % (i + 1, v[0], v[1], v[2]))
    lines = ["units lj", "atom_style atomic", "boundary p p p", "read_data data.txt",
             "pair_style lj/cut %g" % rc, "pair_coeff 1 1 1.0 1.0 %g" % rc,
             "pair_modify shift %s" % ("yes" if shift else "no"),
             "neighbor %g bin" % skin, "neigh_modify every 1 delay 0 check %s" % ("yes" if check else "no"),
             "fix 1 all %s" % fix, "thermo_modify norm no", "thermo %d" % (thermo_every or steps)]
    cols = ["step", "ke", "pe", "f_1", "vol", "press", "lx", "ly", "lz", "xy", "xz", "yz"] + list(extra)
    lines.append('fix 2 all print %d "%s" file thermo.txt screen no'
                 % (every, " ".join("$(%s:%%.17g)" % c if c != "step" else "$(step)" for c in cols)))
    if dump:
        lines += ["dump 1 all custom %d traj.dump id xu yu zu vx vy vz" % every,
                  "dump_modify 1 sort id format float %.17g"]
    lines.append("run %d" % steps)
    with open(os.path.join(d, "in.lmp"), "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["lmp", "-in", "in.lmp", "-log", "log.lammps", "-screen", "none"], cwd=d, check=True)
    rows = []
    with open(os.path.join(d, "thermo.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                rows.append([float(x) for x in line.split()])
    t = np.array(rows)
    out = {c: t[:, k] for k, c in enumerate(cols)}
    out["step"] = out["step"].astype(int)
    frames = {}
    if dump:
        with open(os.path.join(d, "traj.dump")) as f:
            blocks = f.read().split("ITEM: TIMESTEP\n")[1:]
        for block in blocks:
            step = int(block.split("\n")[0])
            atoms = block.split("ITEM: ATOMS id xu yu zu vx vy vz\n")[1].split("\n")
            a = np.array([[float(x) for x in r.split()[1:]] for r in atoms if r.strip()])
            frames[step] = (a[:, :3], a[:, 3:])
    return out, frames


def lammps_neighbor_builds(d):
    """'Neighbor list builds = N' of LAMMPS's log in d."""
    with open(os.path.join(d, "log.lammps")) as f:
        for line in f:
            if line.startswith("Neighbor list builds"):
                return int(line.split("=")[1])
    return None


def block_mean(x, n_blocks):
    """Mean of x and its standard error from n_blocks contiguous blocks
    (the blocks must be much longer than x's correlation time)."""
    x = np.asarray(x, float)
    m = len(x) // n_blocks
    b = x[:m * n_blocks].reshape(n_blocks, m).mean(axis=1)
    return b.mean(), b.std(ddof=1) / np.sqrt(n_blocks)


def correlation_time(x):
    """Integrated autocorrelation time of x in samples (1 + 2 Σ ρ_k, summed
    until ρ_k first drops below 0)."""
    x = np.asarray(x, float) - np.mean(x)
    n = len(x)
    f = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n] / np.arange(n, 0, -1)
    acf /= acf[0]
    tau = 1.0
    for k in range(1, n // 2):
        if acf[k] < 0:
            break
        tau += 2 * acf[k]
    return tau
