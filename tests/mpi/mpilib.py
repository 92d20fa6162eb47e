"""Helpers of the MPI pipeline tests (tests/mpi/*_test.py): the test
structures (copper-like LJ clusters and small periodic crystals made with
ASE and numpy from a fixed seed, plus a few with two atoms 0.4 Å apart,
which the force blow-up quarantine takes out at once), campaign files,
running mpirun with a time limit (the whole process group is killed on
timeout, so a hang is a failure, never a stuck test), and comparing
outputs bitwise."""
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import ase.io
from ase import Atoms
from ase.build import bulk

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from testlib import BATCHMD, Checks  # noqa: E402,F401

TOOLS = os.environ.get("BATCHMD_TOOLS", os.path.join("build", "tests", "tools"))
MPIRUN = shutil.which("mpirun") or shutil.which("mpiexec")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="none")
ENV.pop("BATCHMD_PIPELINE_DEBUG", None)
EPS, SIG, RC = 0.415, 2.277, 5.7
A0 = 2 ** (1 / 6) * SIG * np.sqrt(2)
STAGE_KEYS = ("steps_relax", "converged_relax", "steps_anneal", "converged_anneal", "steps_md", "converged_md",
              "status")


def frames(n, seed, n_bad=2):
    """n structures of 4 to 60 atoms; n_bad of them (spread out) blow up."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        if rng.random() < 0.5:
            k = int(rng.integers(4, 61))
            g = np.arange(-3, 4, dtype=float)
            base = np.array([[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]])
            sites = (np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)[:, None] + base).reshape(-1, 3)
            sites = sites[np.argsort(np.linalg.norm(sites - rng.normal(0, .3, 3), axis=1), kind="stable")[:k]] * A0
            a = Atoms("Cu%d" % k, positions=sites + rng.normal(0, 0.1, sites.shape), pbc=False)
        else:
            a = bulk("Cu", "fcc", a=A0 * rng.uniform(0.99, 1.03), cubic=True).repeat((2, 2, int(rng.integers(1, 3))))
            del a[int(rng.integers(0, len(a)))]
            a.positions += rng.normal(0, 0.05, a.positions.shape)
        out.append(a)
    for j in range(n_bad):
        i = (j + 1) * n // (n_bad + 1)
        out[i].positions[1] = out[i].positions[0] + [0.4, 0, 0]
    return out


CAMPAIGN = """units: metal
seed: %(seed)d
threads: 1
model: {type: lj, epsilon: %(eps)r, sigma: %(sig)r, cutoff: %(rc)r, shift: true}
input: %(input)s
stages:
  relax: {type: fire, fmax: 0.05, max_steps: %(relax)d}
  anneal: {type: nvt_langevin, dt: 2.0, temperature: 300, friction: 0.02, steps: %(anneal)d, init_temperature: 300}
  md: {type: nvt_langevin, dt: 2.0, temperature: 150, friction: 0.05, steps: %(md)d}
pipeline: %(pipeline)s
batch: {max_atoms: %(max_atoms)d, max_systems: %(max_systems)d, refill_every: %(refill)d,
        buffer: {systems: %(bs)d, atoms: %(ba)d}, comm: %(comm)s, synchronized: %(sync)s}
output: {final: %(name)s.final.extxyz, failed: %(name)s.failed.extxyz}
# the overlapping structures must blow up (force_blowup) on their way through
# the pipeline, not be stopped at input by the distance check
quarantine: {min_distance: 0}
"""


def campaign(d, name, pipeline, inp="in.extxyz", seed=11, relax=120, anneal=25, md=25, max_atoms=600,
             max_systems=64, refill=3, bs=8, ba=400, comm="async_recv", sync=False):
    path = os.path.join(d, name + ".yaml")
    with open(path, "w") as f:
        f.write(CAMPAIGN % dict(seed=seed, eps=EPS, sig=SIG, rc=RC, input=inp, relax=relax, anneal=anneal, md=md,
                                pipeline=pipeline, max_atoms=max_atoms, max_systems=max_systems, refill=refill,
                                bs=bs, ba=ba, comm=comm, sync="true" if sync else "false", name=name))
    return path


HANG = 300  # s: the hang guard of every run (a few seconds each): a failure, never a wait for a state


def run(cmd, timeout=HANG, env=None):
    """Runs cmd in its own process group; on timeout kills the group.
    Returns (returncode or None on timeout, stdout, stderr)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or ENV,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        return None, out, err


def mpirun(np_, *args, timeout=HANG, env=None):
    return run([MPIRUN, "--oversubscribe", "-np", str(np_), *args], timeout=timeout, env=env)


def read(path):
    return ase.io.read(path, ":", format="extxyz") if os.path.exists(path) and os.path.getsize(path) else []


def outputs(d, name):
    """{system_id: Atoms} of final and of failed."""
    fin = {a.info["system_id"]: a for a in read(os.path.join(d, name + ".final.extxyz"))}
    fai = {a.info["system_id"]: a for a in read(os.path.join(d, name + ".failed.extxyz"))}
    return fin, fai


def exactly_once(d, name, n):
    fin = [a.info["system_id"] for a in read(os.path.join(d, name + ".final.extxyz"))]
    fai = [a.info["system_id"] for a in read(os.path.join(d, name + ".failed.extxyz"))]
    return sorted(fin + fai) == list(range(n))


def same(a, b):
    """Bitwise the same state and the same stage record."""
    return (len(a) == len(b) and np.array_equal(a.numbers, b.numbers) and np.array_equal(a.positions, b.positions)
            and np.array_equal(a.get_momenta(), b.get_momenta())
            and a.get_potential_energy() == b.get_potential_energy()
            and all(a.info.get(k) == b.info.get(k) for k in STAGE_KEYS))


def same_runs(d, ref, name):
    """Every system of run `name` equals run `ref`'s (final and failed); returns a list of differences."""
    rf, rx = outputs(d, ref)
    f, x = outputs(d, name)
    bad = []
    if sorted(rf) != sorted(f):
        bad.append("final ids differ: %s vs %s" % (sorted(set(rf) ^ set(f))[:10], ""))
    if sorted(rx) != sorted(x):
        bad.append("failed ids differ: %s" % sorted(set(rx) ^ set(x)))
    for i in set(rf) & set(f):
        if not same(rf[i], f[i]):
            bad.append("system %d differs (%s vs %s)" % (i, {k: rf[i].info.get(k) for k in STAGE_KEYS},
                                                         {k: f[i].info.get(k) for k in STAGE_KEYS}))
    for i in set(rx) & set(x):
        if rx[i].info.get("status") != x[i].info.get("status") or not np.array_equal(rx[i].positions, x[i].positions):
            bad.append("failed system %d differs" % i)
    return bad


def children(pid):
    """Pids whose parent is pid (mpirun's ranks, in rank order when sorted)."""
    out = []
    for e in os.listdir("/proc"):
        try:
            if e.isdigit() and int(open("/proc/%s/stat" % e).read().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(e))
        except (OSError, ValueError, IndexError):
            pass
    return out


def no_mpi_reason():
    """Why the MPI tests cannot run here, or None."""
    if not MPIRUN:
        return "no mpirun on PATH"
    return None


def skip_without_mpi():
    """Ends the calling test (exit 0, saying why) where MPI cannot run."""
    reason = no_mpi_reason()
    if reason:
        print("SKIP: %s" % reason)
        sys.exit(0)
