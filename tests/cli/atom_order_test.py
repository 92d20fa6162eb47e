#!/usr/bin/python3
"""The spatial atom order (issue #7, src/neighbor/atom_order.h) keeps
batchmd's bitwise promises and changes no physics.

Every BATCHMD_ORDER_EVERY (default 200) steps of a system's sub-stage the
stage writes a permutation and lattice images of its atoms; lj and morse
gather positions through it, build lists and run kernels in that order,
and scatter forces back. The order is dropped when a system enters a
sub-stage. Here: lj argon (ε 0.0104 eV, σ 3.40 Å, cutoff 8.5 Å, shifted) on
periodic fcc crystals (cubic and triclinic primitive cells) whose atoms are
shuffled, rattled by 0.05 Å, given Maxwell-Boltzmann momenta at 250 K (a
hot NVE: the crystals melt, atoms move) and of which a tenth are put
outside the cell (a lattice vector, -2..2 of each, added): made here with
ASE and numpy from fixed seeds. Every run goes well past 200 steps so that
two or more order events happen, unless said otherwise.

 1. resume: NVE 520 steps (two systems 420 and 600: their info lines), 8
    systems of 108 to 343 atoms inflight (batch of at most 800 atoms:
    systems start at different loop steps), a checkpoint every round;
    SIGKILL after loop steps 230 and 470 (each after an order event),
    --resume each time: final.extxyz byte-identical to an uninterrupted run
    (which itself differs from a run without the order).
 2. batch independence: 4096 (so that pair.c's compute_split shares it over
    the threads), 343 (triclinic), 256, 108 and 500 atoms (the four small
    ones, 1207 atoms, go one system per thread on 2 threads), NVE 450 steps
    (two of them 330 and 260, from their info lines, so that the batch
    compacts around ordered systems): each system run alone and in one
    batch (also inflight: at most 2 systems), on threads: 1 and threads: 2:
    each frame (positions, momenta, forces, energy, stress as printed with
    17 digits) byte-identical whatever the batch; systems below 4096 atoms
    also the same between 1 and 2 threads. The 4096-atom system is only
    promised the same bits for a given number of threads (docs/campaign.md:
    compute_split sums the threads' force arrays in thread order); its 1-
    and 2-thread runs agree to 1e-9 Å.
 4. physics: the default against BATCHMD_ORDER_EVERY=0 (no order), 250
    steps (one order event at step 200): positions agree to 1e-6 Å, total
    energies to a first-order bound (below); the final energies and forces
    of the ordered run are ASE's LennardJones at the written positions
    (1e-9 relative), atoms outside the cell and all. 1500 steps (7 order
    events): the NVE drift (the run summary's max |E - E0|/N, and ASE's
    total energy at the end against that of the input) is the same size
    with and without the order.
    Why 1e-6 Å holds: the two runs differ only in the order in which pair
    forces are summed (rounding, ~1e-16 relative, ~1e-17 eV/Å), and that
    difference grows at most as exp(λt) with the largest Lyapunov exponent,
    of order a few per LJ time τ (2.15 ps for argon) in dense LJ fluids:
    over 1 ps (250 x 4 fs) even a generous λ = 10 /ps gives a factor
    e^10 ≈ 2e4 on a start of ~1e-15 Å (the rounding of positions of
    ~20 Å), so ~1e-11 Å, five orders of magnitude below 1e-6 Å (measured:
    ~1e-14 Å). Energies: to first order the total energies
    differ by sum_i |F_i||δr_i| + |p_i||δp_i|/m_i; the test allows twice
    that plus the rounding of sums of N terms taken in another order
    (N x 64 x 2.2e-16 x (|U| + K)/N).
 5. the order happened: with and without it the finals differ after 201 and
    after 250 steps (otherwise the above proves nothing) and are
    byte-identical after 200 steps (the first order is made before the
    force evaluation of step 201; never at step 0); BATCHMD_ORDER_EVERY=200
    is the default to the bit.
The fused-vs-pipeline claim (3) is tests/mpi/atom_order_pipeline_test.py,
which imports hot_crystal() from here."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import ase.io
from ase.build import bulk
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import BATCHMD, Checks  # noqa: E402

EPS, SIG, RC = 0.0104, 3.40, 8.5  # eV, Å, Å
A0 = 2 ** (1 / 6) * SIG * np.sqrt(2)  # Å, the fcc lattice constant at the LJ minimum
MODEL = "{type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}" % (EPS, SIG, RC)


def hot_crystal(reps, seed, cubic=True, temperature=250.0):
    """An argon fcc crystal (conventional cubic cell, or the triclinic
    primitive one), its atoms shuffled, rattled by 0.05 Å, Maxwell-Boltzmann
    momenta at `temperature` K, and a tenth of them moved out of the cell by
    a lattice vector (each component -2..2, not all 0)."""
    rng = np.random.default_rng(seed)
    a = bulk("Ar", "fcc", a=A0, cubic=cubic).repeat(reps)
    a = a[rng.permutation(len(a))]
    a.positions += rng.normal(0, 0.05, a.positions.shape)
    MaxwellBoltzmannDistribution(a, temperature_K=temperature, rng=np.random.RandomState(seed))
    k = max(3, len(a) // 10)
    idx = rng.choice(len(a), k, replace=False)
    shifts = rng.integers(-2, 3, (k, 3))
    shifts[np.all(shifts == 0, axis=1)] = [1, 0, 0]
    a.positions[idx] += shifts @ a.cell.array
    return a


def campaign(d, name, steps, inp="in.extxyz", threads=1, batch="", ckpt=False, stage="nve", out=None):
    out = out or name
    text = ("units: metal\nseed: 5\nthreads: %d\nmodel: %s\ninput: %s\n"
            "stages:\n  md: {type: %s, dt: 4.0, steps: %d}\n"
            "output:\n  final: %s/final.extxyz\n  failed: %s/failed.extxyz\n"
            % (threads, MODEL, inp, stage, steps, out, out))
    if ckpt:
        text += "  checkpoint: {file: %s/campaign.ckpt, every_s: 0}\n" % out
    if batch:
        text += "batch: %s\n" % batch
    path = os.path.join(d, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def bmd(path, order_every=None, kill=None, resume=False, quiet=True):
    env = dict(os.environ)
    env.pop("BATCHMD_TEST_KILL", None)
    env.pop("BATCHMD_ORDER_EVERY", None)
    env.pop("OMP_NUM_THREADS", None)  # the campaign's threads: decide
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as ctest sets: spinning threads on a shared 2-core machine
    if order_every is not None:
        env["BATCHMD_ORDER_EVERY"] = str(order_every)
    if kill:
        env["BATCHMD_TEST_KILL"] = kill
    args = [BATCHMD, "run"] + (["-q"] if quiet else []) + (["--resume"] if resume else []) + [path]
    return subprocess.run(args, cwd=os.path.dirname(path), env=env, capture_output=True, text=True, timeout=300)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def xyz_frames(path):
    """system_id -> the frame's text without its system_id (so that a
    system run alone compares with itself in a batch)."""
    lines = read(path).decode().split("\n")
    out, i = {}, 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        sid = int(re.search(r"\bsystem_id=(\d+)", lines[i + 1]).group(1))
        head = re.sub(r"\s*\bsystem_id=\d+", "", lines[i + 1])
        out[sid] = "\n".join([lines[i], head] + lines[i + 2:i + 2 + n])
        i += 2 + n
    return out


def atoms(path):
    return {a.info["system_id"]: a for a in ase.io.read(path, ":")}


def main():
    T = Checks()
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # free fsync: fast checkpoints
    top = tempfile.mkdtemp(prefix="bmd_order_", dir=shm)
    t_start = time.perf_counter()

    def ok(r, what):
        T.check(r.returncode == 0, "%s: exit 0 (got %d): %s" % (what, r.returncode, r.stderr[-1500:]))
        return r.returncode == 0

    def final(d, name):
        return xyz_frames(os.path.join(d, name, "final.extxyz"))

    def done_all(d, name, n):
        fail = os.path.join(d, name, "failed.extxyz")
        return sorted(final(d, name)) == list(range(n)) and (not os.path.exists(fail) or not read(fail))

    # ------------------------------------------------------ 1. resume
    d = os.path.join(top, "resume")
    os.makedirs(d)
    small = [hot_crystal((3, 3, 3), 10 + i) if i % 3 == 0 else
             hot_crystal((7, 7, 7) if i % 3 == 1 else (4, 4, 3), 10 + i, cubic=i % 3 != 1) for i in range(8)]
    for i in (2, 5):  # leave early (the info line's steps): the batch compacts around ordered systems
        small[i].info["steps"] = 300 + 60 * i
    ase.io.write(os.path.join(d, "in.extxyz"), small)
    batch = "{max_atoms: 800, max_systems: 8, refill_every: 5}"
    ref = campaign(d, "ref", 520, batch=batch)
    ok(bmd(ref), "resume: the uninterrupted reference")
    T.check(done_all(d, "ref", len(small)), "resume: reference: every system done, none failed")
    ok(bmd(campaign(d, "noorder", 520, batch=batch), order_every=0), "resume: the run without the order")
    T.check(read(os.path.join(d, "ref/final.extxyz")) != read(os.path.join(d, "noorder/final.extxyz")),
            "resume: the reference differs from the run without the order (the order took part)")
    run = campaign(d, "run", 520, batch=batch, ckpt=True, out="ref2")
    # the same output folder name as the reference's would clash: compare by content
    for k, kill in enumerate(["step:230", "step:470"]):
        r = bmd(run, kill=kill, resume=k > 0)
        T.check(r.returncode == -signal.SIGKILL, "resume: %s killed the run (exit %d: %s)" % (kill, r.returncode,
                                                                                            r.stderr[-300:]))
    ok(bmd(run, resume=True), "resume: the last --resume")
    T.check(read(os.path.join(d, "ref2/final.extxyz")) == read(os.path.join(d, "ref/final.extxyz")),
            "resume: final.extxyz after two kills across order events byte-identical to the uninterrupted run")
    print("resume      %5.1f s" % (time.perf_counter() - t_start), flush=True)

    # ------------------------------------------- 2. batch independence
    t0 = time.perf_counter()
    d = os.path.join(top, "batch")
    os.makedirs(d)
    mixed = [hot_crystal((8, 8, 16), 1), hot_crystal((7, 7, 7), 2, cubic=False), hot_crystal((4, 4, 4), 3),
             hot_crystal((3, 3, 3), 4), hot_crystal((5, 5, 5), 5)]
    mixed[1].info["steps"], mixed[3].info["steps"] = 330, 260  # they leave early: the batch compacts
    BIG = 0  # the others together have >= 1024 atoms: on 2 threads they are shared out one system per thread
    ase.io.write(os.path.join(d, "in.extxyz"), mixed)
    for i, a in enumerate(mixed):
        ase.io.write(os.path.join(d, "in%d.extxyz" % i), a)
    runs = {}
    for t in (1, 2):
        name = "all_t%d" % t
        if ok(bmd(campaign(d, name, 450, threads=t)), name):
            runs[name] = final(d, name)
        name = "inflight_t%d" % t  # at most 2 systems at a time: the others start later
        if ok(bmd(campaign(d, name, 450, threads=t, batch="{max_atoms: 4500, max_systems: 2, refill_every: 3}")),
              name):
            runs[name] = final(d, name)
        for i in range(len(mixed)):
            name = "alone%d_t%d" % (i, t)
            if ok(bmd(campaign(d, name, 450, inp="in%d.extxyz" % i, threads=t)), name):
                runs[name] = final(d, name)
    if len(runs) == 4 + 2 * len(mixed):
        for t in (1, 2):
            for i in range(len(mixed)):
                alone = runs["alone%d_t%d" % (i, t)].get(0)
                for b in ("all", "inflight"):
                    T.check(alone is not None and runs["%s_t%d" % (b, t)].get(i) == alone,
                            "batch: system %d (%d atoms), threads %d: %s byte-identical to the system alone"
                            % (i, len(mixed[i]), t, b))
        for i in range(len(mixed)):
            if i == BIG:
                continue
            T.check(runs["all_t1"][i] == runs["all_t2"][i],
                    "batch: system %d (%d atoms): threads 1 and 2 byte-identical" % (i, len(mixed[i])))
        a1, a2 = atoms(os.path.join(d, "all_t1/final.extxyz")), atoms(os.path.join(d, "all_t2/final.extxyz"))
        dev = np.abs(a1[BIG].positions - a2[BIG].positions).max()
        T.check(dev < 1e-9, "batch: the 4096-atom system on 1 and 2 threads agrees to 1e-9 Å (%.2g)" % dev)
    print("batch       %5.1f s" % (time.perf_counter() - t0), flush=True)

    # --------------------------------------------- 4, 5. physics, the order happened
    t0 = time.perf_counter()
    d = os.path.join(top, "physics")
    os.makedirs(d)
    phys = [hot_crystal((7, 7, 7), 20, cubic=False), hot_crystal((4, 4, 4), 21), hot_crystal((3, 3, 3), 22)]
    ase.io.write(os.path.join(d, "in.extxyz"), phys)
    for steps in (200, 201, 250):
        for every in (None, 0):
            name = "s%d_%s" % (steps, "default" if every is None else "off")
            ok(bmd(campaign(d, name, steps), order_every=every), name)
    ok(bmd(campaign(d, "s250_200", 250), order_every=200), "s250 with BATCHMD_ORDER_EVERY=200")
    f = {n: read(os.path.join(d, n, "final.extxyz")) for n in
         ("s200_default", "s200_off", "s201_default", "s201_off", "s250_default", "s250_off", "s250_200")}
    T.check(all(f.values()) and f["s200_default"] == f["s200_off"],
            "order happened: 200 steps: byte-identical with and without the order (none made yet)")
    fd, fo = xyz_frames(os.path.join(d, "s201_default/final.extxyz")), xyz_frames(
        os.path.join(d, "s201_off/final.extxyz"))
    T.check(sorted(fd) == [0, 1, 2] and all(fd[i] != fo[i] for i in fd),
            "order happened: 201 steps: every system's frame differs with and without the order")
    fd, fo = xyz_frames(os.path.join(d, "s250_default/final.extxyz")), xyz_frames(
        os.path.join(d, "s250_off/final.extxyz"))
    T.check(sorted(fd) == [0, 1, 2] and all(fd[i] != fo[i] for i in fd),
            "order happened: 250 steps: every system's frame differs with and without the order")
    T.check(f["s250_200"] == f["s250_default"], "BATCHMD_ORDER_EVERY=200 is the default, to the bit")

    ad, ao = atoms(os.path.join(d, "s250_default/final.extxyz")), atoms(os.path.join(d, "s250_off/final.extxyz"))
    from ase.calculators.lj import LennardJones
    for i, a in ad.items():
        b = ao[i]
        dr = np.linalg.norm(a.positions - b.positions, axis=1)
        T.check(dr.max() < 1e-6, "physics: system %d: positions with and without the order agree to 1e-6 Å "
                                 "after 250 steps (max %.2g Å)" % (i, dr.max()))
        print("  system %d (%d atoms), 250 steps: max |δr| %.2g Å with and without the order"
              % (i, len(a), dr.max()))
        m = a.get_masses()
        p, q = a.get_momenta(), b.get_momenta()
        e_a = a.get_potential_energy() + a.get_kinetic_energy()
        e_b = b.get_potential_energy() + b.get_kinetic_energy()
        fabs = np.linalg.norm(a.get_forces(), axis=1)
        first = (fabs * dr).sum() + (np.linalg.norm(p, axis=1) * np.linalg.norm(p - q, axis=1) / m).sum()
        epa = np.abs(a.get_potential_energy()) / len(a) + a.get_kinetic_energy() / len(a)
        tol = 2 * first + len(a) * 64 * 2.2e-16 * epa
        T.check(abs(e_a - e_b) <= tol, "physics: system %d: total energies with and without the order agree "
                                       "(|ΔE| %.3g eV <= %.3g eV)" % (i, abs(e_a - e_b), tol))
        # independent: ASE's LennardJones at the written positions (atoms outside the cell too)
        ref = a.copy()
        ref.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
        eu, fu = ref.get_potential_energy(), ref.get_forces()
        T.check(abs(a.get_potential_energy() - eu) <= 1e-9 * abs(eu),
                "physics: system %d: energy with the order is ASE's (%.12g vs %.12g eV)"
                % (i, a.get_potential_energy(), eu))
        ferr = np.abs(a.get_forces() - fu).max()
        T.check(ferr <= 1e-9 * np.abs(fu).max(), "physics: system %d: forces with the order are ASE's (max "
                                                  "error %.2g eV/Å)" % (i, ferr))

    # NVE drift over 1500 steps (7 order events) with and without the order
    drift = {}
    e_end = {}
    for every in (None, 0):
        name = "long_%s" % ("default" if every is None else "off")
        r = bmd(campaign(d, name, 1500), order_every=every, quiet=False)
        if not ok(r, name):
            continue
        m = re.search(r"energy drift max ([0-9.eE+-]+) eV/atom", r.stderr)
        T.check(m is not None, "%s: the summary gives the NVE energy drift: %r" % (name, r.stderr[-800:]))
        drift[every] = float(m.group(1)) if m else float("nan")
        e_end[every] = atoms(os.path.join(d, name, "final.extxyz"))
    if len(drift) == 2:
        print("  1500 steps: NVE drift max %.4g eV/atom with the order, %.4g without" % (drift[None], drift[0]))
        T.check(0 < drift[None] < 1e-4 and abs(drift[None] - drift[0]) <= 0.25 * drift[0],
                "physics: NVE drift max %.3g eV/atom with the order, %.3g without: the same size"
                % (drift[None], drift[0]))
        for i, a0 in enumerate(phys):
            start = a0.copy()
            start.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
            e0 = start.get_potential_energy() + start.get_kinetic_energy()
            dd = []
            for every in (None, 0):
                a = e_end[every][i].copy()
                k = a.get_kinetic_energy()
                a.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
                dd.append(abs(a.get_potential_energy() + k - e0) / len(a))
            print("  system %d: |E_end - E_0|/N (ASE) %.3g eV/atom with the order, %.3g without" % (i, dd[0], dd[1]))
            T.check(dd[0] <= drift[None] * 1.0001 + 1e-12 and dd[1] <= drift[0] * 1.0001 + 1e-12
                    and abs(dd[0] - dd[1]) <= 0.25 * max(dd[1], 1e-7),
                    "physics: system %d: |E_end - E_0|/N by ASE %.3g eV/atom with the order, %.3g without: the "
                    "same size, within the summary's max" % (i, dd[0], dd[1]))
    print("physics     %5.1f s" % (time.perf_counter() - t0), flush=True)

    shutil.rmtree(top)
    print("total       %5.1f s" % (time.perf_counter() - t_start))
    T.finish()


if __name__ == "__main__":
    main()
