#!/usr/bin/python3
"""Output survives a closed pipe or terminal (issue #14, item 5).

24 LJ argon clusters (10 to 59 atoms, made here with numpy from a fixed
seed); two have atoms 0.3 Å apart, which quarantine.min_distance (0.5 Å)
takes out at once: the test knows from the input alone (numpy pair
distances) which system_ids belong in `failed` and which in `final`.
The campaign writes final, failed, a CSV log and (HDF5 builds) an H5MD
trajectory.

  closed pipe  `batchmd run` with stdout and stderr on a pipe whose reader
               is gone (every write: EPIPE; the old command died of
               SIGPIPE at its summary, before closing its outputs): exit 0,
               and every output complete;
  head -1      `batchmd run c.yaml 2>&1 | head -1`: head gets the summary's
               first line, batchmd exits 0, outputs complete;
  eval, validate, models  on a closed pipe: exit 0 (eval: every structure
               in its output, eval.extxyz beside final);
  hangup       the run's controlling terminal (a pty) closes while the run
               is held mid-run (test-only BATCHMD_TEST_KILL=hold:N, so the
               close always comes before the run's end): the kernel sends
               SIGHUP, later writes to the terminal fail (EIO). The run stops as on SIGTERM: exit
               1, whole frames and rows in every output, no system twice;
               with output.checkpoint, `--resume` then finishes with every
               system exactly once, each frame byte-identical to an
               uninterrupted run's (docs/campaign.md: interruptions change no bit);
  nohup        SIGHUP ignored by whoever started batchmd stays ignored: the
               terminal closes and the run completes (exit 0);
  Ctrl-\       SIGQUIT, which batchmd does not handle (the process dies at
               once, as on a second SIGTERM), held once final and the log
               have bytes (120 small clusters, a few at a time): final holds
               whole frames (ase.io reads them, none twice) and the log
               whole rows. (The old stdio buffers flushed 4 KiB at a time:
               a torn frame and row.)

"Complete": final holds exactly the systems without close atoms, failed
exactly the others (status atoms_too_close), each once and each with the
input's number of atoms, read by ase.io; every log row has 9 fields and
every done system has its row at the last md step (a multiple of
log.every); the trajectory opens with h5py with a group per done system."""
import csv
import fcntl
import os
import pty
import resource
import select
import shutil
import signal
import subprocess
import tempfile
import termios
import time

import numpy as np
import ase.io
from ase import Atoms

from testlib import BATCHMD, Checks

T = Checks()
SIG = 3.40
A0 = 2 ** (1 / 6) * SIG * np.sqrt(2)
rng = np.random.default_rng(14)


def cluster(n):
    g = np.arange(-3, 4, dtype=float)
    base = np.array([[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]])
    sites = (np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)[:, None] + base).reshape(-1, 3)
    sites = sites[np.argsort(np.linalg.norm(sites - rng.normal(0, .3, 3), axis=1), kind="stable")[:n]] * A0
    return Atoms("Ar%d" % n, positions=sites + rng.normal(0, 0.1, sites.shape))


FRAMES = [cluster(int(rng.integers(10, 60))) for _ in range(24)]
for i in (5, 17):
    FRAMES[i].positions[1] = FRAMES[i].positions[0] + [0.3, 0, 0]


def closest(a):
    d = np.linalg.norm(a.positions[:, None] - a.positions[None], axis=-1)
    return d[np.triu_indices(len(a), 1)].min()


BAD = sorted(i for i, a in enumerate(FRAMES) if closest(a) < 0.5)
GOOD = sorted(set(range(len(FRAMES))) - set(BAD))

CAMPAIGN = """seed: 4
threads: 1
model: {type: lj, epsilon: 0.0104, sigma: 3.40, cutoff: 8.0, shift: true}
input: in.extxyz
stages:
  relax: {type: fire, fmax: 0.01, max_steps: 200}
  md: {type: nvt_langevin, dt: 2.0, temperature: 40, friction: 0.02, steps: %d, init_temperature: 30}
batch: {max_atoms: 400, refill_every: 5}
quarantine: {min_distance: 0.5}
output:
  final: out/final.extxyz
  failed: out/failed.extxyz
  log: {file: out/log.csv, every: 50}
"""
TRAJ = "  trajectory: {file: out/traj.h5, every: 200}\n"
CKPT = "  checkpoint: {file: out/c.ckpt, every_s: 60}\n"
top = tempfile.mkdtemp(prefix="bmd_hangup_")
with_traj = True


def setup(name, md_steps, ckpt=False):
    d = os.path.join(top, name)
    os.makedirs(d)
    ase.io.write(os.path.join(d, "in.extxyz"), FRAMES)
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(CAMPAIGN % md_steps + (TRAJ if with_traj else "") + (CKPT if ckpt else ""))
    return d


def closed_pipe():
    """The write end of a pipe whose read end is closed."""
    r, w = os.pipe()
    os.close(r)
    return w


def xyz(path):
    """system_id -> ase.Atoms (raises on a torn frame or a system twice)."""
    out = {}
    if os.path.getsize(path) == 0:
        return out
    for a in ase.io.read(path, ":"):
        sid = a.info["system_id"]
        if sid in out:
            raise ValueError("system_id %d twice" % sid)
        out[sid] = a
    return out


def frame_texts(path):
    """system_id -> the frame's text (whole frames only)."""
    lines = open(path).read().split("\n")
    out, i = {}, 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        sid = int(lines[i + 1].split("system_id=")[1].split()[0])
        out[sid] = "\n".join(lines[i:i + 2 + n])
        i += 2 + n
    return out


def check_outputs(d, what, md_steps, complete):
    """complete: every system once across final + failed; else (a stopped
    run) whole frames and rows, none twice, the failed ones the bad ones."""
    out = os.path.join(d, "out")
    try:
        final, failed = xyz(os.path.join(out, "final.extxyz")), xyz(os.path.join(out, "failed.extxyz"))
    except Exception as e:  # a torn frame, a system twice
        T.check(False, "%s: final and failed read with ase.io (%s)" % (what, e))
        return None
    if complete:
        T.check(sorted(final) == GOOD and sorted(failed) == BAD,
                "%s: final holds %s, failed %s (got %s and %s)" % (what, GOOD, BAD, sorted(final), sorted(failed)))
    else:
        T.check(set(final) <= set(GOOD) and set(failed) <= set(BAD) and not set(final) & set(failed),
                "%s: what was written is whole and in its place (final %s, failed %s)" % (what, sorted(final),
                                                                                       sorted(failed)))
    T.check(all(len(a) == len(FRAMES[i]) for i, a in {**final, **failed}.items()), "%s: atom counts" % what)
    T.check(all(a.info.get("status") == "atoms_too_close" for a in failed.values()), "%s: failed status" % what)
    with open(os.path.join(out, "log.csv"), newline="") as f:
        rows = list(csv.reader(f))
    T.check(len(rows) > 1 and all(len(r) == 9 for r in rows), "%s: every log row has 9 fields" % what)
    last = {(int(r[0]), r[1], int(r[2])) for r in rows[1:] if len(r) == 9}
    T.check(all((i, "md", md_steps) in last for i in final),
            "%s: every done system has its log row at md step %d" % (what, md_steps))
    if with_traj:
        import h5py
        try:
            with h5py.File(os.path.join(out, "traj.h5"), "r") as h:
                groups = set(h["particles"].keys())
            T.check(all("system_%d" % i in groups for i in final), "%s: a trajectory group per done system" % what)
        except Exception as e:
            T.check(False, "%s: the trajectory opens with h5py (%s)" % (what, e))
    return final


# ------------------------------------------------- closed pipe, head -1
d = setup("closed_pipe", 300)
w = closed_pipe()
p = subprocess.run([BATCHMD, "run", "c.yaml"], cwd=d, stdout=w, stderr=w, timeout=300)
os.close(w)
if p.returncode == 2 and "HDF5" in subprocess.run([BATCHMD, "run", "c.yaml"], cwd=d, capture_output=True,
                                                 text=True).stderr:  # built without HDF5: no trajectory anywhere
    with_traj = False
    d = setup("closed_pipe_notraj", 300)
    w = closed_pipe()
    p = subprocess.run([BATCHMD, "run", "c.yaml"], cwd=d, stdout=w, stderr=w, timeout=300)
    os.close(w)
T.check(p.returncode == 0, "closed pipe: exit 0 (got %d)" % p.returncode)
check_outputs(d, "closed pipe", 300, True)

d = setup("head", 300)
run = subprocess.Popen([BATCHMD, "run", "c.yaml"], cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
head = subprocess.Popen(["head", "-1"], stdin=run.stdout, stdout=subprocess.PIPE)
run.stdout.close()
first = head.communicate(timeout=300)[0].decode()
T.check(run.wait(timeout=300) == 0, "head -1: batchmd exits 0 (got %d)" % run.returncode)
T.check(first.startswith("batchmd: 24 structures in"), "head -1 got the summary's first line: %r" % first)
check_outputs(d, "head -1", 300, True)

w = closed_pipe()
p = subprocess.run([BATCHMD, "eval", "c.yaml"], cwd=d, stdout=w, stderr=w, timeout=300)
T.check(p.returncode == 0, "eval on a closed pipe: exit 0 (got %d)" % p.returncode)
T.check(sorted(xyz(os.path.join(d, "out/eval.extxyz"))) == list(range(24)), "eval: every structure in its output (out/eval.extxyz)")
for args in (["validate", "c.yaml"], ["models"]):
    p = subprocess.run([BATCHMD, *args], cwd=d, stdout=w, stderr=w, timeout=300)
    T.check(p.returncode == 0, "%s on a closed pipe: exit 0 (got %d)" % (args[0], p.returncode))
os.close(w)


# ------------------------------------------------------------- hangup
def on_terminal(d, ignore_hup=False):
    """Runs batchmd with a pty as its controlling terminal and closes the
    terminal mid-run: the run is held (test-only BATCHMD_TEST_KILL=hold:18:
    after the step in which its 18th system was stepped, some 7 having left;
    it writes batchmd.held and steps nothing more until a signal or the
    file's removal), so the hang-up comes before the run's end however
    fast or loaded the machine. Under nohup (SIGHUP ignored) the hold is
    then released and the run goes on. Returns the exit status."""
    master, slave = pty.openpty()

    def child():
        os.setsid()
        fcntl.ioctl(2, termios.TIOCSCTTY, 0)
        if ignore_hup:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)

    held = os.path.join(d, "batchmd.held")
    p = subprocess.Popen([BATCHMD, "run", "c.yaml"], cwd=d, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         env=dict(os.environ, BATCHMD_TEST_KILL="hold:18"), preexec_fn=child)
    os.close(slave)
    seen, t0 = b"", time.monotonic()
    while not os.path.exists(held) and p.poll() is None and time.monotonic() - t0 < 300:  # 300 s: a hang guard
        if select.select([master], [], [], 0.01)[0]:  # the terminal is read, so that writing to it never blocks
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    T.check(os.path.exists(held), "%s: the run holds mid-run on its terminal (exit %s)" % (d, p.poll()))
    os.close(master)  # the terminal hangs up: SIGHUP to its session
    if ignore_hup and os.path.exists(held):
        os.remove(held)  # nohup: the signal was ignored; let the run go on
    return p.wait(timeout=300)


MD = 2500
d = setup("nohup", MD)
T.check(on_terminal(d, ignore_hup=True) == 0, "nohup: SIGHUP stays ignored, the run completes")
reference = check_outputs(d, "nohup", MD, True)
ref_text = frame_texts(os.path.join(d, "out/final.extxyz"))

d = setup("hangup", MD)
T.check(on_terminal(d) == 1, "hangup: the run stops with exit 1, as on SIGTERM")
check_outputs(d, "hangup", MD, False)

d = setup("hangup_ckpt", MD, ckpt=True)
T.check(on_terminal(d) == 1, "hangup with a checkpoint: exit 1")
check_outputs(d, "hangup with a checkpoint", MD, False)
T.check(os.path.exists(os.path.join(d, "out/c.ckpt")), "hangup: the checkpoint is there")
p = subprocess.run([BATCHMD, "run", "--quiet", "--resume", "c.yaml"], cwd=d, capture_output=True, text=True,
                   timeout=300)
T.check(p.returncode == 0, "hangup: the resume exits 0 (%d: %s)" % (p.returncode, p.stderr))
check_outputs(d, "hangup, resumed", MD, True)
T.check(frame_texts(os.path.join(d, "out/final.extxyz")) == ref_text,
        "hangup, resumed: each final frame byte-identical to the uninterrupted run's")

# --------------------------------------------------- killed at once
d = os.path.join(top, "quit")
os.makedirs(d)
many = [cluster(int(rng.integers(8, 24))) for _ in range(120)]
ase.io.write(os.path.join(d, "in.extxyz"), many)
with open(os.path.join(d, "c.yaml"), "w") as f:
    f.write((CAMPAIGN % 3000).replace("max_atoms: 400", "max_atoms: 150"))
# held (test-only BATCHMD_TEST_KILL=hold:N) once its 100th system has been
# stepped: about 90 have left by then, so final (~2 kB a frame) and the log
# have been written out past their 64 KiB record buffers, and the signal
# comes mid-run however fast or loaded the machine
p = subprocess.Popen([BATCHMD, "run", "-q", "c.yaml"], cwd=d, stderr=subprocess.PIPE,
                     env=dict(os.environ, BATCHMD_TEST_KILL="hold:100"),
                     preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
final, log, t0 = os.path.join(d, "out/final.extxyz"), os.path.join(d, "out/log.csv"), time.monotonic()
while not os.path.exists(os.path.join(d, "batchmd.held")) and p.poll() is None and time.monotonic() - t0 < 300:
    time.sleep(0.002)  # 300 s: a hang guard only
T.check(all(os.path.exists(f) and os.path.getsize(f) > 0 for f in (final, log)),
        "Ctrl-\\: held mid-run with frames and rows already written")
p.send_signal(signal.SIGQUIT)
p.communicate(timeout=120)
T.check(p.returncode == -signal.SIGQUIT, "Ctrl-\\: died of SIGQUIT mid-run (got %d)" % p.returncode)
try:
    got = xyz(final)
    T.check(len(got) > 0, "Ctrl-\\: final has frames")
except Exception as e:
    T.check(False, "Ctrl-\\: final holds whole frames (%s)" % e)
with open(log, newline="") as f:
    rows = list(csv.reader(f))
T.check(len(rows) > 1 and all(len(r) == 9 for r in rows), "Ctrl-\\: the log holds whole rows")
shutil.rmtree(top, ignore_errors=True)
T.finish()
