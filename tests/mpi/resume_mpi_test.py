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
followed by `mpirun -np N batchmd run --resume` until a run exits 0. Every
kill point is one the run reaches whatever the ranks' relative speeds, and
after a generation complete on every rank (the last rank cuts generation 1
before its first step; rank 0 starts its 2nd checkpoint only once its 1st
is complete everywhere; a step kill fires at the first step >= N, also in
a resumed run that starts beyond N):
  k0step    2 ranks, async_recv: SIGKILL of rank 0 while it holds after
            stepping its 9th system (rankR:hold:N, below), once every rank
            has a checkpoint;
  klast     2 ranks, sync: SIGKILL of the last rank after its 40th step;
  kckpt     3 ranks, fully_async: SIGKILL of rank 1 halfway through writing
            its 3rd checkpoint (its cuts of generation 1, of rank 0's last
            and its own last: at least 3);
  kappend   3 ranks, async_recv: SIGKILL of the last rank halfway through
            the 6th frame it appends to final (a torn frame is left);
  kseveral  2 ranks, fully_async: rank 0 in its 2nd checkpoint, twice (a
            resumed rank 0 that is not done cuts at its first round and at
            its end), then rank 1 at step 20, then rank 1 in its first
            checkpoint (it cuts at its end at the latest);
  kfail     3 ranks, sync: the last rank's 20th step fails with an error:
            every rank exits 1, rank 2 saying why, the others naming it;
  late      2 ranks, md of 600 steps: the md rank holds (rankR:hold:N, the
            command's test-only hold: after the step in which its N-th
            system was stepped, it writes batchmd.rankR.held and steps nothing
            until a signal or until the file is removed) once its last system
            has come, so rank 0 has ended (its last checkpoint says done) and
            that system's md is not over; SIGKILLed there; resumed; resumed
            again after the end (the last rank's final checkpoint: nothing
            left to do);
  sigusr1   3 ranks: SIGUSR1 to mpirun (Slurm's --signal=USR1@T; mpirun
            forwards it to every rank) while the last rank holds;
  sigrank   3 ranks: SIGTERM to rank 1's process only (it asks rank 0 for
            the cut); sigint0: SIGINT to rank 0 only (2 ranks); siglate:
            SIGTERM to the last of 3 ranks while it holds at its last system
            (rank 0 has ended: the stop's cut, coordinated by rank 0 after
            its end, is of a later generation than rank 0's last). The
            signalled rank holds. Each: every rank exits 1 saying
            "interrupted by signal; checkpoint written ...; continue with
            `mpirun -np N batchmd run --resume c.yaml`";
  sigterm   2 ranks: SIGTERM to mpirun (Open MPI's mpirun ends the job
            itself, its ranks have no time to cut: like a kill); resumed.
Every signal and kill from outside is sent while a rank holds: never after
the run's end, whatever the machine's speed.
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
LIMIT = mpilib.HANG  # s: a hang guard only, never a wait for a state
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


def mpi(d, ranks, *args, kill=None, timeout=LIMIT):
    env = dict(mpilib.ENV)
    env.pop("BATCHMD_TEST_KILL", None)
    if kill:
        env["BATCHMD_TEST_KILL"] = kill
    return run([MPIRUN, "--oversubscribe", "-np", str(ranks), "--wdir", d, BATCHMD, "run", "-q", *args, "c.yaml"],
               timeout=timeout, env=env)


refs = {}
for ranks, md in ((2, 30), (3, 30), (2, 600), (3, 600)):
    d = setup("ref%d_%d" % (ranks, md), ranks, fused=True, ckpt=False, md=md)
    p = subprocess.run([BATCHMD, "run", "-q", "c.yaml"], cwd=d, capture_output=True, text=True, timeout=LIMIT)
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


def wait_held(name, d, p, rank):
    """Waits until `rank` of job p holds (BATCHMD_TEST_KILL=rankR:hold:N: its
    marker file is there, and it steps nothing more until a signal or until
    the file is removed), so that whatever is done to the job now comes
    before the run's end, however slow or loaded the machine. False (a
    failed check) when the job ended first; LIMIT is only a hang guard."""
    held = os.path.join(d, "batchmd.rank%d.held" % rank)
    t1 = time.monotonic()
    while not os.path.exists(held) and p.poll() is None and time.monotonic() - t1 < LIMIT:
        time.sleep(0.005)
    ok = os.path.exists(held)
    c.check(ok, "%s: rank %d holds at its chosen point (job exit %s)" % (name, rank, p.poll()))
    return ok


def start(d, ranks, hold):
    env = dict(mpilib.ENV, BATCHMD_TEST_KILL=hold)
    return subprocess.Popen([MPIRUN, "--oversubscribe", "-np", str(ranks), "--wdir", d, BATCHMD, "run", "-q",
                             "c.yaml"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def finish(name, p):
    """(exit status, stderr) of job p; None for the status, and a failed
    check, when it hangs (then its process group is killed)."""
    try:
        err = p.communicate(timeout=LIMIT)[1]
        return p.returncode, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        c.check(False, "%s: the job ends (no hang)" % name)
        return None, p.communicate()[1]


def held_kill(name, d, ranks, rank, k):
    """SIGKILL of `rank` while it holds after stepping its k-th system, once
    every rank has a complete checkpoint (so a resume has a generation to
    start from; a file is only ever there complete: written, then renamed).
    Returns mpi()'s (rc, out, err)."""
    p = start(d, ranks, "rank%d:hold:%d" % (rank, k))
    if wait_held(name, d, p, rank):
        t1 = time.monotonic()
        while any(newest(d, r) is None for r in range(ranks)) and time.monotonic() - t1 < LIMIT:
            time.sleep(0.005)
        c.check(all(newest(d, r) is not None for r in range(ranks)), "%s: every rank has a checkpoint" % name)
        kids = sorted(mpilib.children(p.pid))
        c.check(len(kids) == ranks, "%s: found the %d rank processes" % (name, ranks))
        if len(kids) == ranks:
            os.kill(kids[rank], signal.SIGKILL)
    rc, err = finish(name, p)
    return rc, "", err


def scenario(name, ranks, kills, comm="async_recv"):
    """kills[0] on the first run (a ("hold", R, K) tuple: held_kill of rank R
    at its K-th system), each next one on a resumed run."""
    t0 = time.perf_counter()
    d = setup(name, ranks, comm)
    runs = 1
    if isinstance(kills[0], tuple):
        rc, out, err = held_kill(name, d, ranks, kills[0][1], kills[0][2])
    else:
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


scenario("k0step", 2, [("hold", 0, 9)])
scenario("klast", 2, ["rank1:step:40"], comm="sync")
scenario("kckpt", 3, ["rank1:checkpoint:3"], comm="fully_async")
scenario("kappend", 3, ["rank2:append:6"])
scenario("kseveral", 2, ["rank0:checkpoint:2", "rank0:checkpoint:2", "rank1:step:20", "rank1:checkpoint:1"],
         comm="fully_async")

# a rank that fails (an error, not a kill): every rank exits 1 naming it, and
# the checkpoint it leaves resumes correctly (the last rank: its first
# checkpoint, before its first step, completes generation 1)
d = setup("kfail", 3, comm="sync")
rc, out, err = mpi(d, 3, kill="rank2:fail:20")
c.check(rc == 1, "kfail: exit 1 (got %s)" % rc)
c.check("rank 2: run failed: test failure at step 20" in err, "kfail: rank 2 says why: %s" % err[-1500:])
c.check(all(re.search(r"rank %d: run failed: rank 2 failed" % r, err) for r in (0, 1)),
        "kfail: ranks 0 and 1 name rank 2: %s" % err[-1500:])
rc, out, err = mpi(d, 3, "--resume")
c.check(rc == 0 and "from the beginning" not in err, "kfail: resumed, completes (got %s): %s" % (rc, err[-1500:]))
compare("kfail", d, 3)


def signalled(name, ranks, how, sig, hold, late=False):
    """Signals the job (how: "mpirun", or "rank1": that rank's process only)
    while rank `hold` holds after stepping its first system (late: its
    last, N - 2, the two that blow up never reach it; rank 0 has then
    ended: its last message carries its last systems and the marker of its
    final checkpoint, written before the message left); then resumes until
    it completes."""
    t0 = time.perf_counter()
    d = setup(name, ranks, md=600)
    p = start(d, ranks, "rank%d:hold:%d" % (hold, N - 2 if late else 1))
    if not wait_held(name, d, p, hold):
        finish(name, p)
        return
    n0 = newest(d, 0)
    if late:
        c.check(n0 is not None and n0[1] == 1, "%s: rank 0 has ended (its last checkpoint says done): %s" % (name, n0))
    if how == "mpirun":
        p.send_signal(sig)
    else:
        kids = sorted(mpilib.children(p.pid))
        c.check(len(kids) == ranks, "%s: found the %d rank processes" % (name, ranks))
        if kids:
            os.kill(kids[int(how[4:])], sig)  # mpirun starts them in rank order
    first, err = finish(name, p)
    if first is None:
        return
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
    if late:
        # the stop's cut was coordinated by rank 0 after its end: the last
        # rank's newest checkpoint is of a later generation than rank 0's
        nl = newest(d, ranks - 1)
        c.check(nl is not None and n0 is not None and nl[0] > n0[0],
                "%s: the last rank cut after rank 0 ended: %s vs rank 0's %s" % (name, nl, n0))
    rc = first
    for _ in range(4):
        rc, out, err = mpi(d, ranks, "--resume")
        c.check("from the beginning" not in err, "%s: resumed from a checkpoint" % name)
        if rc == 0:
            break
    c.check(rc == 0, "%s: the resumed run completes (got %s): %s" % (name, rc, err[-1500:]))
    compare(name, d, ranks, md=600)
    print("%-9s %d ranks, first exit %s %5.1f s" % (name, ranks, first, time.perf_counter() - t0), flush=True)


# the signalled rank holds (or, for a signal to mpirun, the last rank: its
# hold keeps every rank from ending; the others are in their run by then,
# their signal handlers set)
signalled("sigusr1", 3, "mpirun", signal.SIGUSR1, 2)  # Slurm's --signal=USR1@T: mpirun forwards it to every rank
signalled("sigrank", 3, "rank1", signal.SIGTERM, 1)   # one rank only: it asks rank 0 for the cut
signalled("sigint0", 2, "rank0", signal.SIGINT, 0)
signalled("sigterm", 2, "mpirun", signal.SIGTERM, 1)
signalled("siglate", 3, "rank2", signal.SIGTERM, 2, late=True)

# rank 0 is done long before the md rank: the cuts go on without it (rank 0
# coordinates them), so a kill late in the md leaves a late checkpoint. The
# md rank holds once its last system has come (rank 0 has then ended, as in
# siglate) and is killed there, with that system's md not over.
d = setup("late", 2, md=600)
p = start(d, 2, "rank1:hold:%d" % (N - 2))
if wait_held("late", d, p, 1):
    n0 = newest(d, 0)
    c.check(n0 is not None and n0[1] == 1, "late: rank 0 ended before the md rank's last system came: %s" % (n0,))
    kids = sorted(mpilib.children(p.pid))
    c.check(len(kids) == 2, "late: found the 2 rank processes")
    if len(kids) == 2:
        os.kill(kids[1], signal.SIGKILL)
rc, err = finish("late", p)
c.check(rc not in (0, None), "late: rank 1 killed (SIGKILL) late in its md (got %s)" % rc)
n0, n1 = newest(d, 0), newest(d, 1)
c.check(n0 is not None and n1 is not None and n0[1] == 1 and n1[1] == 0 and n1[0] >= n0[0],
        "late: rank 0 ended (its last checkpoint is its final state), rank 1 did not: %s %s" % (n0, n1))
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
rc, out, err = mpi(d, 3, kill="rank2:step:20")
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
