#!/usr/bin/python3
"""Checkpoints and `batchmd run --resume` (issue #8): a relax + md campaign
(FIRE, then Langevin with init_temperature, so the random numbers matter)
over 32 LJ argon structures of 2 to 60 atoms (clusters and small periodic
crystals, made here with ASE and numpy from a fixed seed; two have atoms
0.3 Å apart and go to `failed` as atoms_too_close), batch budget 200 atoms /
8 systems, refill every 3 steps, with a log and (HDF5 builds) an H5MD
trajectory; a checkpoint at every round (every_s: 0).

Reference: the same campaign without output.checkpoint, uninterrupted.
Scenarios, each in its own folder (BATCHMD_TEST_KILL is the command's
test-only switch: SIGKILL at a chosen point):
  steps      SIGKILL after loop steps 40, 150 and 260, resumed each time;
  checkpoint SIGKILL halfway through writing the 3rd checkpoint, then
             through the 4th of the resumed process (a .tmp left behind);
  append     SIGKILL halfway through the 5th frame appended to final (a
             torn frame is left: checked), then the 7th after resuming;
  ordered    output.ordered: true, SIGKILL after step 100 and halfway
             through the 10th frame;
  sigterm    SIGTERM from outside while the run holds after stepping its
             12th system (BATCHMD_TEST_KILL=hold:12: it writes batchmd.held
             and steps nothing until a signal, so the signal cannot come
             after the run's end): exit 1, "interrupted by signal ...
             --resume", then resumed;
  nockpt     --resume without a checkpoint: a notice, a run from the start.
The second run of each SIGKILL scenario is started from the folder above
(`batchmd run --resume steps/c.yaml`): a checkpoint knows its inputs by
content, not by the path string. Each scenario must end with exit 0 and: every system_id exactly once across
final + failed; each system's frame byte-identical to the reference's; the
log's rows and (HDF5) every dataset of the trajectory bitwise equal to the
reference's, system by system. For the SIGKILL scenarios the whole final
and log files are byte-identical too (checkpoints are taken at round
boundaries, so a resumed run repeats the very same rounds); the ordered
final equals the reference's frames sorted by system_id.
Refusals (exit 2, nothing written, the checkpoint left as it was): an
edited campaign file, a changed input file, a garbled checkpoint; --resume
without output.checkpoint. After the refusals the resume still completes."""
import glob
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
from ase import Atoms
from ase.build import bulk

from testlib import BATCHMD, Checks

T = Checks()
SIG = 3.40
A0 = 2 ** (1 / 6) * SIG * np.sqrt(2)
rng = np.random.default_rng(8)


def cluster(n):
    k = int(np.ceil((n / 4) ** (1 / 3))) + 2
    r = np.arange(-k, k + 1, dtype=float)
    g = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    base = np.array([[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]])
    sites = (g[:, None, :] + base[None]).reshape(-1, 3) * A0 * rng.uniform(1.0, 1.05)
    sites = sites[np.argsort(np.linalg.norm(sites - rng.normal(0, 0.3, 3), axis=1), kind="stable")[:n]]
    return Atoms("Ar%d" % n, positions=sites + rng.normal(0, 0.1, sites.shape), pbc=False)


def crystal():
    a = bulk("Ar", "fcc", a=A0 * rng.uniform(0.99, 1.03), cubic=True).repeat((2, 2, int(rng.integers(2, 4))))
    a.positions += rng.normal(0, 0.05, a.positions.shape)
    return a


frames = [cluster(int(rng.integers(2, 61))) if rng.random() < 0.7 else crystal() for _ in range(32)]
for i in (7, 19):  # broken input: two atoms 0.3 Å apart
    frames[i].positions[1] = frames[i].positions[0] + [0.3, 0, 0]

CAMPAIGN = """units: metal
seed: 11
model: {type: lj, epsilon: 0.0104, sigma: 3.40, cutoff: 8.0, shift: true}
input: in.extxyz
stages:
  relax: {type: fire, fmax: 0.01, max_steps: 60}
  md: {type: nvt_langevin, dt: 2.0, temperature: 40, friction: 0.02, steps: 50, init_temperature: 30}
pipeline: relax + md
batch: {max_atoms: 200, max_systems: 8, refill_every: 3}
output:
  final: out/final.extxyz
  failed: out/failed.extxyz
  log: {file: out/log.csv, every: 5}
"""
TRAJ = "  trajectory: {file: out/traj.h5, every: 10}\n"
CKPT = "  checkpoint: {file: out/campaign.ckpt, every_s: 0}\n"

shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # fsync is free there: fast checkpoints
top = tempfile.mkdtemp(prefix="bmd_resume_", dir=shm)
with_traj = True


def setup(name, ckpt=True, ordered=False):
    d = os.path.join(top, name)
    os.makedirs(d)
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    text = CAMPAIGN + (TRAJ if with_traj else "") + (CKPT if ckpt else "") + ("  ordered: true\n" if ordered else "")
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(text)
    return d


def bmd(d, *args, kill=None, from_top=False):
    """batchmd run [args] c.yaml in folder d (from_top: from the folder above, as d/c.yaml)."""
    env = dict(os.environ)
    env.pop("BATCHMD_TEST_KILL", None)
    if kill:
        env["BATCHMD_TEST_KILL"] = kill
    path = os.path.join(os.path.basename(d), "c.yaml") if from_top else "c.yaml"
    return subprocess.run([BATCHMD, "run", "-q", *args, path], cwd=os.path.dirname(d) if from_top else d, env=env,
                          capture_output=True, text=True, timeout=300)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def xyz_frames(path):
    """system_id -> the frame's text, in file order (raises on a torn frame)."""
    lines = read(path).decode().split("\n")
    out, order, i = {}, [], 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        if i + 2 + n > len(lines) - 1:
            raise ValueError("torn frame at line %d" % (i + 1))
        sid = int(re.search(r"\bsystem_id=(\d+)", lines[i + 1]).group(1))
        text = "\n".join(lines[i:i + 2 + n])
        if sid in out:
            raise ValueError("system_id %d twice" % sid)
        out[sid] = text
        order.append(sid)
        i += 2 + n
    return out, order


def log_rows(path):
    rows = {}
    for line in read(path).decode().splitlines()[1:]:
        rows.setdefault(int(line.split(",")[0]), []).append(line)
    return rows


def traj_data(path):
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()].tobytes()
        f.visititems(visit)
    return out


# ------------------------------------------------------------ reference
ref_dir = setup("reference", ckpt=False)
r = bmd(ref_dir)
if r.returncode == 2 and "HDF5" in r.stderr:
    with_traj = False  # built without HDF5: no trajectory anywhere
    shutil.rmtree(ref_dir)
    ref_dir = setup("reference", ckpt=False)
    r = bmd(ref_dir)
T.check(r.returncode == 0, "reference run: exit %d: %s" % (r.returncode, r.stderr))
if r.returncode != 0:
    T.finish()
REF_FINAL, _ = xyz_frames(os.path.join(ref_dir, "out/final.extxyz"))
REF_FAILED, _ = xyz_frames(os.path.join(ref_dir, "out/failed.extxyz"))
REF_LOG = log_rows(os.path.join(ref_dir, "out/log.csv"))
REF_TRAJ = traj_data(os.path.join(ref_dir, "out/traj.h5")) if with_traj else None
T.check(len(REF_FINAL) == 30 and sorted(REF_FAILED) == [7, 19], "reference: 30 done, systems 7 and 19 failed")
T.check(all("atoms_too_close" in REF_FAILED[i] for i in REF_FAILED), "reference: failed as atoms_too_close")


def check_outputs(d, what, whole_files):
    try:
        final, _ = xyz_frames(os.path.join(d, "out/final.extxyz"))
        failed, _ = xyz_frames(os.path.join(d, "out/failed.extxyz"))
    except (ValueError, AttributeError) as e:
        T.check(False, "%s: final and failed are whole frames, each system once (%s)" % (what, e))
        return
    ids = sorted(list(final) + list(failed))
    T.check(ids == list(range(len(frames))), "%s: every system_id exactly once across final + failed" % what)
    T.check(final == REF_FINAL, "%s: final frames byte-identical to the reference, system by system" % what)
    T.check(failed == REF_FAILED, "%s: failed frames byte-identical to the reference" % what)
    T.check(log_rows(os.path.join(d, "out/log.csv")) == REF_LOG, "%s: log rows equal, system by system" % what)
    if with_traj:
        T.check(traj_data(os.path.join(d, "out/traj.h5")) == REF_TRAJ,
                "%s: every trajectory dataset bitwise equal to the reference's" % what)
    if whole_files:
        for f in ("final.extxyz", "failed.extxyz", "log.csv"):
            T.check(read(os.path.join(d, "out", f)) == read(os.path.join(ref_dir, "out", f)),
                    "%s: %s byte-identical as a whole" % (what, f))


def killed_then_resumed(name, kills, ordered=False, check_torn=False):
    d = setup(name, ordered=ordered)
    for k, kill in enumerate(kills):
        r = bmd(d, *(["--resume"] if k else []), kill=kill, from_top=k == 1)  # a resume run from elsewhere too
        T.check(r.returncode == -signal.SIGKILL, "%s: %s killed the run (exit %d: %s)" % (name, kill, r.returncode,
                                                                                            r.stderr[-300:]))
        if check_torn:
            try:
                xyz_frames(os.path.join(d, "out/final.extxyz"))
                T.check(False, "%s: a torn last frame after %s" % (name, kill))
            except ValueError:
                pass
    r = bmd(d, "--resume")
    T.check(r.returncode == 0, "%s: the last resume exits 0 (%d: %s)" % (name, r.returncode, r.stderr))
    return d


d = killed_then_resumed("steps", ["step:40", "step:150", "step:260"])
check_outputs(d, "steps", True)

d = killed_then_resumed("checkpoint", ["checkpoint:3", "checkpoint:4"])
check_outputs(d, "checkpoint", True)

d = killed_then_resumed("append", ["append:5", "append:7"], check_torn=True)
check_outputs(d, "append", True)

d = killed_then_resumed("ordered", ["step:100", "append:10"], ordered=True)
final, order = xyz_frames(os.path.join(d, "out/final.extxyz"))
T.check(order == sorted(REF_FINAL), "ordered: final in input order")
T.check(read(os.path.join(d, "out/final.extxyz")).decode() ==
        "".join(REF_FINAL[i] + "\n" for i in sorted(REF_FINAL)), "ordered: final = the reference's frames by id")
check_outputs(d, "ordered", False)

# ------------------------------------------------------- SIGTERM, graceful
d = setup("sigterm")
p = subprocess.Popen([BATCHMD, "run", "-q", "c.yaml"], cwd=d, stderr=subprocess.PIPE, text=True,
                     env=dict(os.environ, BATCHMD_TEST_KILL="hold:12"))
t0 = time.monotonic()
while not os.path.exists(os.path.join(d, "batchmd.held")) and p.poll() is None and time.monotonic() - t0 < 300:
    time.sleep(0.002)  # 300 s: a hang guard only
T.check(os.path.exists(os.path.join(d, "batchmd.held")) and os.path.exists(os.path.join(d, "out/campaign.ckpt")),
        "sigterm: the run holds after its 12th system, with a checkpoint (exit %s)" % p.poll())
p.send_signal(signal.SIGTERM)
err = p.communicate(timeout=300)[1]
T.check(p.returncode == 1, "sigterm: exit 1 (got %d)" % p.returncode)
T.check("interrupted by signal" in err and "checkpoint written to" in err and "batchmd run --resume c.yaml" in err,
        "sigterm: the message says a checkpoint was written and how to continue: %r" % err)
r = bmd(d, "--resume")
T.check(r.returncode == 0, "sigterm: the resume exits 0 (%d: %s)" % (r.returncode, r.stderr))
check_outputs(d, "sigterm", False)
r = bmd(d, "--resume")  # the last checkpoint is the end: nothing left to do
T.check(r.returncode == 0, "sigterm: a second resume of the finished campaign exits 0")
check_outputs(d, "sigterm, resumed once more", False)

# -------------------------------------------------- --resume, no checkpoint
d = setup("nockpt")
r = subprocess.run([BATCHMD, "run", "--resume", "c.yaml"], cwd=d, capture_output=True, text=True, timeout=300)
T.check(r.returncode == 0 and "starting the campaign from the beginning" in r.stderr,
        "--resume without a checkpoint: a notice and a full run (%d: %s)" % (r.returncode, r.stderr[:300]))
check_outputs(d, "nockpt", True)

# --------------------------------------------------------------- refusals
d = setup("refusals")
r = bmd(d, kill="step:120")
T.check(r.returncode == -signal.SIGKILL, "refusals: killed at step 120")
out = os.path.join(d, "out")


def snapshot():
    return {f: read(f) for f in glob.glob(os.path.join(out, "*"))}


before = snapshot()


def refused(what, expect):
    r = bmd(d, "--resume")
    T.check(r.returncode == 2, "%s: --resume exits 2 (got %d: %s)" % (what, r.returncode, r.stderr))
    T.check(expect in r.stderr, "%s: the message says %r: %r" % (what, expect, r.stderr))
    T.check(snapshot() == before, "%s: nothing written" % what)


campaign = read(os.path.join(d, "c.yaml"))
with open(os.path.join(d, "c.yaml"), "ab") as f:
    f.write(b"# edited\n")
refused("edited campaign", "campaign file differs")
with open(os.path.join(d, "c.yaml"), "wb") as f:
    f.write(campaign)

inp = read(os.path.join(d, "in.extxyz"))
changed = inp.replace(b"Ar ", b"Ar  ", 1)
with open(os.path.join(d, "in.extxyz"), "wb") as f:
    f.write(changed)
refused("changed input", "changed since the checkpoint")
with open(os.path.join(d, "in.extxyz"), "wb") as f:
    f.write(inp)

ck = os.path.join(out, "campaign.ckpt")
good = read(ck)
bad = bytearray(good)
bad[len(bad) // 2] ^= 0x40
with open(ck, "wb") as f:
    f.write(bytes(bad))
before = snapshot()
refused("garbled checkpoint", "not a usable checkpoint")
with open(ck, "wb") as f:
    f.write(good)
r = bmd(d, "--resume")
T.check(r.returncode == 0, "refusals: the resume completes afterwards (%d: %s)" % (r.returncode, r.stderr))
check_outputs(d, "refusals", True)

d = setup("no_checkpoint_key", ckpt=False)
r = bmd(d, "--resume")
T.check(r.returncode == 2 and "output.checkpoint" in r.stderr and not os.path.exists(os.path.join(d, "out")),
        "--resume without output.checkpoint: exit 2, nothing written (%d: %s)" % (r.returncode, r.stderr))

shutil.rmtree(top)
T.finish()
