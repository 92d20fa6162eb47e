"""Ctrl-C stops a Python run cleanly.

A script (run by /usr/bin/python3, with a second Python thread alive, as
torch or a progress bar would start) runs NVE over 6 structures that take
2 steps (steps=2 in their info), 4 that would take 10⁹, and one with
overlapping atoms (atoms_too_close), into ExtXYZ final and failed files.
A Python hook at ON_CONVERGE writes a line into a FIFO the first time it
is called (the short systems leaving at step 2): the test blocks on
reading it, so the run is observably under way, then sends SIGINT once.
Expected: run() raises KeyboardInterrupt in the script, which catches it
and exits 0 with Python's own SIGINT handler back in place; final holds
exactly the 6 short systems and failed the overlapping one, as whole
frames (ase.io.read parses every frame the file's headers announce)."""
import os
import signal
import subprocess
import sys
import tempfile
import time

import ase.io

from pylib import BUILD, Checks

SCRIPT = r'''
import signal, sys, threading
import numpy as np
from ase import Atoms
from ase.cluster import Icosahedron
import batchmd as bmd

fifo, final_path, failed_path = sys.argv[1:4]
threading.Thread(target=threading.Event().wait, daemon=True).start()  # another Python thread
model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
frames = []
for i in range(10):
    a = Icosahedron("Ar", 2, latticeconstant=5.3)
    a.positions += np.random.default_rng(i).normal(0, 0.05, a.positions.shape)
    a.info["steps"] = 2 if i % 5 < 3 else 10**9
    frames.append(a)
frames.insert(4, Atoms("Ar2", positions=[[0, 0, 0], [0.2, 0, 0]]))
told = []


def tell(batch):
    if not told:
        told.append(1)
        with open(fifo, "w") as f:
            f.write("running\n")


tell.stage = bmd.HookStageEnum.ON_CONVERGE
final, failed = bmd.ExtXYZ(final_path), bmd.ExtXYZ(failed_path)
try:
    bmd.NVE(model, dt=1.0, steps=5, init_temperature=20, hooks=[tell]).run(frames, final=final, failed=failed,
                                                                          max_systems=64)
    print("the run finished")
    sys.exit(3)
except KeyboardInterrupt as e:
    print("interrupted:", e)
final.close()
failed.close()
print("python handler back:", signal.getsignal(signal.SIGINT) is signal.default_int_handler)
'''


def frames_announced(path):
    with open(path) as f:
        return sum(1 for line in f if "Properties=" in line)


c = Checks()
with tempfile.TemporaryDirectory() as d:
    fifo = os.path.join(d, "running")
    os.mkfifo(fifo)
    script = os.path.join(d, "long_run.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    final_path, failed_path = os.path.join(d, "final.extxyz"), os.path.join(d, "failed.extxyz")
    env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "python"))
    p = subprocess.Popen(["/usr/bin/python3", script, fifo, final_path, failed_path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    # Wait for the hook's line, or for the script's end: a blocking open of the
    # FIFO would wait forever for a script that died before the hook fired
    # (its writer never comes), so the read end is opened non-blocking and
    # polled together with the script's liveness.
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    line, t0 = b"", time.monotonic()
    while not line.endswith(b"\n") and p.poll() is None and time.monotonic() - t0 < 300:
        try:
            line += os.read(fd, 64)
        except BlockingIOError:
            pass
        if not line.endswith(b"\n"):
            time.sleep(0.005)  # polling the line and the script; 300 s: a hang guard only
    os.close(fd)
    line = line.decode()
    c.check(line == "running\n", f"the hook's line: {line!r} (script {'alive' if p.poll() is None else 'ended'})")
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # a failure guard, not a synchronisation
        p.kill()
        out, err = p.communicate()
        c.check(False, "SIGINT did not stop the run")
    c.check(p.returncode == 0, f"exit status {p.returncode}; stdout {out!r}; stderr {err[-2000:]!r}")
    c.check("interrupted: batchmd: run stopped by a signal" in out, f"no KeyboardInterrupt from run(): {out!r}")
    c.check("python handler back: True" in out, f"Python's SIGINT handler not restored: {out!r}")
    for path, expected in ((final_path, [0, 1, 2, 6, 7, 8]), (failed_path, [4])):
        name = os.path.basename(path)
        got = ase.io.read(path, ":") if os.path.getsize(path) else []
        c.check(len(got) == frames_announced(path), f"{name}: {len(got)} frames read, "
                f"{frames_announced(path)} announced: a torn frame")
        ids = sorted(a.info["system_id"] for a in got)
        c.check(ids == expected, f"{name}: systems {ids}, expected {expected}")
        for a in got:
            if path == final_path:
                c.check(a.info.get("steps_nve") == 2 and len(a) == 13 and a.get_forces().shape == (13, 3),
                        f"{name}: system {a.info['system_id']}: {a.info}")
            else:
                c.check(a.info.get("status") == "atoms_too_close", f"{name}: {a.info}")
c.finish()
