#!/usr/bin/python3
"""Checkpoints and `--resume` of MPI pipelines (issue #8, must-have 7).

30 small copper-like LJ structures (tests/mpi/mpilib.py; two blow up and
are taken out on rank 0) go through a 2-rank `relax | md` (FIRE, then
Langevin with init_temperature) and a 3-rank `relax | anneal | md`
campaign, with a per-rank log and a checkpoint at every round
(every_s: 0). Reference: the same stages fused (`relax + md`, `relax +
anneal + md`) on one process without a checkpoint, uninterrupted.

Scenarios (BATCHMD_TEST_KILL=rankR:WHAT:N is the command's test-only switch:
SIGKILL of rank R at a chosen point; mpirun then ends the job), each
followed by `mpirun -np N batchmd run --resume` until a run exits 0:
  k0step    2 ranks, async_recv: SIGKILL of rank 0 after its 25th step;
  klast     2 ranks, sync: SIGKILL of the last rank after its 40th step;
  kckpt     3 ranks, fully_async: SIGKILL of rank 1 halfway through writing
            its 3rd checkpoint;
  kappend   3 ranks, async_recv: SIGKILL of the last rank halfway through
            the 6th frame it appends to final (a torn frame is left);
  kseveral  2 ranks, fully_async: rank 0 at step 15, then rank 1 at step
            20, then rank 1 in its 2nd checkpoint, then rank 0 in its 3rd;
  kfail     3 ranks, sync: rank 1's 20th step fails with an error: every
            rank exits 1, rank 1 saying why, the others naming rank 1;
  late      2 ranks, md of 600 steps: rank 0 ends long before rank 1 (its
            last checkpoint then says done) and the cuts go on without it;
            rank 1 SIGKILLed once it has cut 5 more generations: its newest
            checkpoint is newer than rank 0's; resumed; resumed again after
            the end (the last rank's final checkpoint: nothing left to do);
  sigusr1   3 ranks: SIGUSR1 to mpirun (Slurm's --signal=USR1@T; mpirun
            forwards it to every rank) once every rank has a checkpoint;
  sigrank   3 ranks: SIGTERM to rank 1's process only (it asks rank 0 for
            the cut); sigint0: SIGINT to rank 0 only (2 ranks); siglate:
            SIGTERM to the last of 3 ranks once rank 0 has ended. Each: every
            rank exits 1 saying "interrupted by signal; checkpoint written
            ...; continue with `mpirun -np N batchmd run --resume c.yaml`";
  sigterm   2 ranks: SIGTERM to mpirun (Open MPI's mpirun ends the job
            itself, its ranks have no time to cut: like a kill); resumed.
Each must end with: every system_id exactly once across final + failed,
and each system's frame (its text in final or failed) byte-identical to
the reference's.
Refusals: the 3-rank campaign resumed with 2 ranks and the 2-rank one
with 3: exit 2, and every rank says why; --resume without any checkpoint
yet starts from the beginning (and completes)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpilib  # noqa: E402
from mpilib import BATCHMD, MPIRUN, run  # noqa: E402

import ase.io  # noqa: E402

N = 30
c = mpilib.Checks()
mpilib.skip_without_mpi()

CAMPAIGN = """units: metal
seed: 11
threads: 1
model: {type: lj, epsilon: 0.415, sigma: 2.277, cutoff: 5.7, shift: true}
input: in.extxyz
stages:
  relax: {type: fire, fmax: 0.05, max_steps: 80}
  anneal: {type: nvt_langevin, dt: 2.0, temperature: 300, friction: 0.02, steps: 20, init_temperature: 300}
  md: {type: nvt_langevin, dt: 2.0, temperature: 150, friction: 0.05, steps: %(md)d, init_temperature: 100}
pipeline: %(pipeline)s
batch: {max_atoms: 300, max_systems: 8, refill_every: 3, buffer: {systems: 4, atoms: 200}, comm: %(comm)s}
output:
  final: out/final.extxyz
  failed: out/failed.extxyz
  log: {file: out/log.csv, every: 5}
%(ckpt)squarantine: {min_distance: 0}
"""
CKPT = "  checkpoint: {file: out/c.ckpt, every_s: 0}\n"
PIPE = {2: "relax | md", 3: "relax | anneal | md"}
FUSED = {2: "relax + md", 3: "relax + anneal + md"}

shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # fsync is cheap there
top = tempfile.mkdtemp(prefix="bmd_resume_mpi_", dir=shm)
in_frames = mpilib.frames(N, 5)


def setup(name, ranks, comm="async_recv", fused=False, ckpt=True, md=30):
    d = os.path.join(top, name)
    os.makedirs(d)
    ase.io.write(os.path.join(d, "in.extxyz"), in_frames)
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(CAMPAIGN % dict(pipeline=(FUSED if fused else PIPE)[ranks], comm=comm, ckpt=CKPT if ckpt else "",
                                md=md))
    return d


def frames_text(path):
    """{system_id: the frame's text} of an extxyz file."""
    out = {}
    if not os.path.exists(path):
        return out
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        text = "\n".join(lines[i:i + n + 2])
        m = re.search(r"system_id=(\d+)", lines[i + 1])
        sid = int(m.group(1)) if m else -1
        out.setdefault(sid, []).append(text)
        i += n + 2
    return out


def result(d):
    fin = frames_text(os.path.join(d, "out", "final.extxyz"))
    fai = frames_text(os.path.join(d, "out", "failed.extxyz"))
    return fin, fai


def mpi(d, ranks, *args, kill=None, timeout=90):
    env = dict(mpilib.ENV)
    env.pop("BATCHMD_TEST_KILL", None)
    if kill:
        env["BATCHMD_TEST_KILL"] = kill
    return run([MPIRUN, "--oversubscribe", "-np", str(ranks), "--wdir", d, BATCHMD, "run", "-q", *args, "c.yaml"],
               timeout=timeout, env=env)


refs = {}
for ranks, md in ((2, 30), (3, 30), (2, 600), (3, 600)):
    d = setup("ref%d_%d" % (ranks, md), ranks, fused=True, ckpt=False, md=md)
    p = subprocess.run([BATCHMD, "run", "-q", "c.yaml"], cwd=d, capture_output=True, text=True, timeout=120)
    c.check(p.returncode == 0, "reference %d: exit 0 (got %d): %s" % (ranks, p.returncode, p.stderr[-1500:]))
    refs[ranks, md] = result(d)
    fin, fai = refs[ranks, md]
    c.check(sorted(list(fin) + list(fai)) == list(range(N)) and len(fai) == 2,
            "reference %d: every system once, two failed" % ranks)


def compare(name, d, ranks, md=30):
    fin, fai = result(d)
    rfin, rfai = refs[ranks, md]
    ids = sorted([i for i in fin for _ in fin[i]] + [i for i in fai for _ in fai[i]])
    c.check(ids == list(range(N)), "%s: every system_id exactly once across final + failed (got %s)" %
            (name, [i for i in range(N) if ids.count(i) != 1][:10]))
    bad = [i for i in rfin if fin.get(i) != rfin[i]] + [i for i in rfai if fai.get(i) != rfai[i]]
    c.check(not bad, "%s: each frame byte-identical to the uninterrupted reference (differ: %s)" % (name, bad[:10]))


def ckpt_state(path):
    """(generation, done) of a rank's checkpoint file (checkpoint.h: the
    header, then sections; the pipeline's "source" section starts with the
    generation (i64), sequence number, dataset size (i64 each) and the done
    flag (u32)); None when absent or unreadable."""
    import struct
    try:
        b = open(path, "rb").read()
        o = 12
        n, = struct.unpack_from("<I", b, o)
        o += 4 + n + 8 + 8
        k, = struct.unpack_from("<I", b, o)
        o += 4
        for _ in range(k):
            n, = struct.unpack_from("<I", b, o)
            o += 4 + n + 16
        k, = struct.unpack_from("<I", b, o)
        o += 4
        for _ in range(k):
            n, = struct.unpack_from("<I", b, o)
            name = b[o + 4:o + 4 + n]
            o += 4 + n
            m, = struct.unpack_from("<Q", b, o)
            o += 8
            if name == b"source":
                g, = struct.unpack_from("<q", b, o)
                d, = struct.unpack_from("<I", b, o + 24)
                return g, d
            o += m
    except (OSError, struct.error):
        pass
    return None


def newest(d, rank):
    s = [ckpt_state(os.path.join(d, "out", "c.ckpt.rank%d.%s" % (rank, x))) for x in "ab"]
    s = [x for x in s if x]
    return max(s) if s else None


def scenario(name, ranks, kills, comm="async_recv"):
    t0 = time.perf_counter()
    d = setup(name, ranks, comm)
    runs = 1
    rc, out, err = mpi(d, ranks, kill=kills[0])
    for k in kills[1:] + [None] * 6:
        if rc == 0:
            break
        c.check(rc is not None, "%s: run %d ends (no hang)" % (name, runs))
        if rc is None:
            return
        rc, out, err = mpi(d, ranks, "--resume", kill=k)
        runs += 1
        c.check("from the beginning" not in err, "%s: run %d resumed from a checkpoint" % (name, runs))
    c.check(rc == 0, "%s: the resumed run completes with exit 0 (got %s): %s" % (name, rc, err[-2000:]))
    c.check(runs == len(kills) + 1, "%s: %d runs for %d kills" % (name, runs, len(kills)))
    compare(name, d, ranks)
    print("%-9s %d ranks %d runs %5.1f s" % (name, ranks, runs, time.perf_counter() - t0), flush=True)


scenario("k0step", 2, ["rank0:step:25"])
scenario("klast", 2, ["rank1:step:40"], comm="sync")
scenario("kckpt", 3, ["rank1:checkpoint:3"], comm="fully_async")
scenario("kappend", 3, ["rank2:append:6"])
scenario("kseveral", 2, ["rank0:step:15", "rank1:step:20", "rank1:checkpoint:2", "rank0:checkpoint:3"],
         comm="fully_async")

# a rank that fails (an error, not a kill): every rank exits 1 naming it, and
# the checkpoint it leaves resumes correctly
d = setup("kfail", 3, comm="sync")
rc, out, err = mpi(d, 3, kill="rank1:fail:20")
c.check(rc == 1, "kfail: exit 1 (got %s)" % rc)
c.check("rank 1: run failed: test failure at step 20" in err, "kfail: rank 1 says why: %s" % err[-1500:])
c.check(all(re.search(r"rank %d: run failed: rank 1 failed" % r, err) for r in (0, 2)),
        "kfail: ranks 0 and 2 name rank 1: %s" % err[-1500:])
rc, out, err = mpi(d, 3, "--resume")
c.check(rc == 0 and "from the beginning" not in err, "kfail: resumed, completes (got %s): %s" % (rc, err[-1500:]))
compare("kfail", d, 3)


def signalled(name, ranks, how, sig, late=False):
    """Signals the job (how: "mpirun", or "rank1": that rank's process only)
    once every rank has a checkpoint (late: and rank 0 has ended); then
    resumes until it completes."""
    t0 = time.perf_counter()
    d = setup(name, ranks, md=600)
    env = dict(mpilib.ENV)
    env.pop("BATCHMD_TEST_KILL", None)
    p = subprocess.Popen([MPIRUN, "--oversubscribe", "-np", str(ranks), "--wdir", d, BATCHMD, "run", "-q", "c.yaml"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    t1 = time.time()
    while time.time() - t1 < 30 and p.poll() is None:
        if all(os.path.exists(os.path.join(d, "out", "c.ckpt.rank%d.a" % r)) for r in range(ranks)):
            if not late or (newest(d, 0) or (0, 0))[1]:
                break
        time.sleep(0.005)
    if how == "mpirun":
        p.send_signal(sig)
    else:
        kids = sorted(mpilib.children(p.pid))
        c.check(len(kids) == ranks, "%s: found the %d rank processes" % (name, ranks))
        if kids:
            os.kill(kids[int(how[4:])], sig)  # mpirun starts them in rank order
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        c.check(False, "%s: the signalled job ends (no hang)" % name)
        return
    first = p.returncode
    if how != "mpirun" or sig != signal.SIGTERM:
        # a clean stop: every rank cuts, says so and exits 1
        c.check(first == 1, "%s: exit 1 (got %s)" % (name, first))
        for r in range(ranks):
            c.check(re.search(r"rank %d: interrupted by signal; checkpoint written to .*; continue with `mpirun -np %d "
                              r"batchmd run --resume c.yaml`" % (r, ranks), err) is not None,
                    "%s: rank %d says it was interrupted and how to continue: %s" % (name, r, err[-1500:]))
    else:
        # Open MPI's mpirun ends the job itself on SIGTERM (its ranks get
        # SIGTERM, then SIGKILL): whatever the ranks managed, the newest
        # complete generation is there
        c.check(first != 0, "%s: the job ends unfinished (got %s)" % (name, first))
    rc = first
    for _ in range(4):
        rc, out, err = mpi(d, ranks, "--resume")
        c.check("from the beginning" not in err, "%s: resumed from a checkpoint" % name)
        if rc == 0:
            break
    c.check(rc == 0, "%s: the resumed run completes (got %s): %s" % (name, rc, err[-1500:]))
    compare(name, d, ranks, md=600)
    print("%-9s %d ranks, first exit %s %5.1f s" % (name, ranks, first, time.perf_counter() - t0), flush=True)


signalled("sigusr1", 3, "mpirun", signal.SIGUSR1)   # Slurm's --signal=USR1@T: mpirun forwards it to every rank
signalled("sigrank", 3, "rank1", signal.SIGTERM)    # one rank only: it asks rank 0 for the cut
signalled("sigint0", 2, "rank0", signal.SIGINT)
signalled("sigterm", 2, "mpirun", signal.SIGTERM)
signalled("siglate", 3, "rank2", signal.SIGTERM, late=True)

# rank 0 is done long before the md rank: the cuts go on without it (rank 0
# coordinates them), so a kill late in the md leaves a late checkpoint
d = setup("late", 2, md=600)
p = subprocess.Popen([MPIRUN, "--oversubscribe", "-np", "2", "--wdir", d, BATCHMD, "run", "-q", "c.yaml"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=mpilib.ENV, start_new_session=True)
t1 = time.time()
while time.time() - t1 < 30 and p.poll() is None:
    n0, n1 = newest(d, 0), newest(d, 1)
    if n0 and n1 and n0[1] and n1[0] > n0[0] + 5:
        break
    time.sleep(0.002)
kids = sorted(mpilib.children(p.pid))
if len(kids) == 2:
    os.kill(kids[1], signal.SIGKILL)
try:
    p.communicate(timeout=60)
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
c.check(p.returncode not in (0, None), "late: rank 1 killed (SIGKILL) late in its md (got %s)" % p.returncode)
n0, n1 = newest(d, 0), newest(d, 1)
c.check(n0 is not None and n1 is not None and n0[1] == 1 and n1[0] > n0[0] + 5,
        "late: rank 0 ended (its last checkpoint is its final state) and rank 1 went on cutting: %s %s" % (n0, n1))
rc, out, err = mpi(d, 2, "--resume")
c.check(rc == 0 and "from the beginning" not in err, "late: resumed, completes (got %s): %s" % (rc, err[-1500:]))
compare("late", d, 2, md=600)
n0b, n1b = newest(d, 0), newest(d, 1)
c.check(n1b is not None and n1b[1] == 1, "late: the last rank's final checkpoint says done: %s" % (n1b,))
rc, out, err = mpi(d, 2, "--resume")
c.check(rc == 0, "late: resuming a finished run finds nothing left to do (got %s): %s" % (rc, err[-1500:]))
compare("late", d, 2, md=600)

# refusals: another number of ranks
d = setup("ranks3", 3)
rc, out, err = mpi(d, 3, kill="rank0:step:20")
c.check(rc not in (0, None), "ranks3: killed")
rc, out, err = mpi(d, 2, "--resume")
c.check(rc == 2, "resume of a 3-rank pipeline with 2 ranks: exit 2 (got %s)" % rc)
c.check(all(("rank %d" % r) in err for r in range(2)) and "3 rank" in err,
        "every rank says why (3 ranks needed): %s" % err[-1500:])
rc, out, err = mpi(d, 3, "--resume")
c.check(rc == 0, "ranks3: then resumed with 3 ranks, completes (got %s): %s" % (rc, err[-1500:]))
compare("ranks3", d, 3)
d = setup("ranks2", 2)
rc, out, err = mpi(d, 2, kill="rank1:step:20")
rc, out, err = mpi(d, 3, "--resume")
c.check(rc == 2 and all(("rank %d" % r) in err for r in range(3)),
        "resume of a 2-rank pipeline with 3 ranks: exit 2 naming every rank (got %s): %s" % (rc, err[-1500:]))

# --resume with no checkpoint yet: from the beginning
d = setup("fresh", 2, comm="sync")
rc, out, err = mpi(d, 2, "--resume")
c.check(rc == 0 and "from the beginning" in err, "resume without a checkpoint: starts from the beginning (%s): %s"
        % (rc, err[-800:]))
compare("fresh", d, 2)

shutil.rmtree(top, ignore_errors=True)
c.finish()
