#!/usr/bin/python3
"""A pipeline run (`relax | anneal + md`, 2 ranks) and closed pipes or
terminals (issue #14, item 5), on mpilib's 16 structures (2 of them with
atoms 0.4 Å apart, taken out as force_blowup):

  closed pipe  mpirun's stdout and stderr on a pipe whose reader is gone:
               exit 0, every structure exactly once across final + failed;
  hangup       SIGHUP to the last rank's process (a closed terminal) while
               it is held mid-run, without output.checkpoint: the rank stops
               as on SIGTERM ("interrupted by a stop request"), the other
               follows, mpirun exits 1; final and failed hold whole frames
               (ase.io reads them), no system twice, the failed ones among
               the broken structures; every log row of both ranks has its 6
               fields. (The old command died of the signal: no such message.)"""
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time

import ase.io

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpilib  # noqa: E402
from mpilib import BATCHMD, MPIRUN, Checks  # noqa: E402

mpilib.skip_without_mpi()
c = Checks()
N = 16
FRAMES = mpilib.frames(N, seed=23)
BAD = sorted(i for i, a in enumerate(FRAMES) if len(a) > 1 and a.get_distance(0, 1) < 0.5)


def setup(d, name, md):
    ase.io.write(os.path.join(d, "in.extxyz"), FRAMES)
    path = mpilib.campaign(d, name, "relax | anneal + md", md=md)
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("failed: %s.failed.extxyz}" % name,
                             "failed: %s.failed.extxyz, log: {file: %s.log.csv, every: 5}}" % (name, name)))
    return os.path.basename(path)


def log_rows_whole(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return len(rows) > 0 and all(len(r) == 9 for r in rows)


with tempfile.TemporaryDirectory() as d:
    yaml = setup(d, "pipe", 25)
    r, w = os.pipe()
    os.close(r)
    p = subprocess.run([MPIRUN, "--oversubscribe", "-np", "2", "--wdir", d, BATCHMD, "run", yaml], stdout=w,
                       stderr=w, env=mpilib.ENV, timeout=300)
    os.close(w)
    c.check(p.returncode == 0, "closed pipe: exit 0 (got %d)" % p.returncode)
    c.check(mpilib.exactly_once(d, "pipe", N), "closed pipe: every structure once across final + failed")

    # rank 1 holds (test-only BATCHMD_TEST_KILL=rank1:hold:3: after the step in
    # which its 3rd system was stepped it writes batchmd.rank1.held and steps
    # nothing more until a signal), so the hang-up comes mid-run however fast
    # or loaded the machine
    yaml = setup(d, "hup", 400)
    p = subprocess.Popen([MPIRUN, "--oversubscribe", "-np", "2", "--wdir", d, BATCHMD, "run", yaml],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=dict(mpilib.ENV, BATCHMD_TEST_KILL="rank1:hold:3"), start_new_session=True)
    held = os.path.join(d, "batchmd.rank1.held")
    t0 = time.monotonic()
    while not os.path.exists(held) and p.poll() is None and time.monotonic() - t0 < mpilib.HANG:
        time.sleep(0.005)  # a hang guard only
    c.check(os.path.exists(held), "hangup: rank 1 holds mid-run (job exit %s)" % p.poll())
    kids = sorted(mpilib.children(p.pid))
    c.check(len(kids) == 2, "hangup: found the 2 rank processes")
    if kids:
        os.kill(kids[1], signal.SIGHUP)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        c.check(False, "hangup: the job ends (no hang)")
    c.check(p.returncode == 1, "hangup: exit 1 (got %s)" % p.returncode)
    c.check("rank 1: run failed: interrupted by a stop request" in err, "hangup: rank 1 says it was stopped: %s" %
            err[-800:])
    try:
        fin = [a.info["system_id"] for a in mpilib.read(os.path.join(d, "hup.final.extxyz"))]
        fai = mpilib.read(os.path.join(d, "hup.failed.extxyz"))
        ids = fin + [a.info["system_id"] for a in fai]
        c.check(len(ids) == len(set(ids)) and set(ids) <= set(range(N)), "hangup: no system twice: %s" % ids)
        c.check(all(a.info["system_id"] in BAD and a.info.get("status") == "force_blowup" for a in fai),
                "hangup: failed holds broken structures only")
    except Exception as e:  # a torn frame
        c.check(False, "hangup: final and failed read with ase.io (%s)" % e)
    for rank in (0, 1):
        c.check(log_rows_whole(os.path.join(d, "hup.log.rank%d.csv" % rank)), "hangup: rank %d's log rows whole" % rank)
c.finish()
