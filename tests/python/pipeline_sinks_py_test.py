"""File sinks in a pipeline script: only the rank that writes one opens its
file (python/batchmd/sinks.py, python/src/sink.c).

A script (written below) runs `(relax | md).run(...)` under `mpirun -np 2
python3 script.py`; every rank makes the same sinks, each rank in a
directory of its own (as node-local disks would be): ExtXYZ snapshots on
relax (rank 0's stage), H5MD snapshots on md (rank 1's), an ExtXYZ final
(the last rank's), an ExtXYZ and an H5MD no run uses; and a file md.h5
already there in both directories.

  - rank 0's directory: relax.extxyz, its own md.h5 untouched (not
    truncated), no final, no unused file; rank 1's: a valid md.h5 and the
    final, no relax.extxyz, no unused file;
  - md.h5 (opened by h5py) holds every system's md frames and equals the
    fused run's trajectory, dataset by dataset: `(relax + md).run(...)` in
    this process with SnapshotHook(H5MD(every=1)) frames every step of the
    fused group, and system i's md frames are its frames from step
    steps_relax on (positions, velocities, forces, box, energies,
    temperatures, times equal bit for bit; the pipeline's steps count from
    md's step 0, docs/campaign.md trajectory); species and masses equal;
  - relax.extxyz, frame by frame as text, is each system's fused frames up
    to step steps_relax (the fused run's ExtXYZ snapshots);
  - a path that cannot be created (under a file), as final or as md's H5MD snapshots,
    stops the pipeline run before any step (hooks on both ranks never
    called): the last rank raises the open error naming the file, rank 0
    "rank 1 failed".

One process (no MPI): a file sink no run used leaves no file (closed or
dropped); a run creates its file sinks as it starts (an empty failed file
when nothing failed); a bad path as final or as a SnapshotHook's H5MD
raises before any step, naming the file; a relative path is taken against
the working directory of when the sink was made; relax's snapshots and the
final in one file are refused (ranks 0 and 1 would write it)."""
import json
import os
import re
import sys
import tempfile

import h5py
import numpy as np
from ase.cluster import Icosahedron
from ase.io import read, write

from pylib import BUILD, SOURCE, Checks
import batchmd as bmd

sys.path.insert(0, os.path.join(SOURCE, "tests", "mpi"))
import mpilib  # noqa: E402  (mpirun under a hang guard, its environment)

SCRIPT = r'''
import json, os, sys
from ase.io import read
import batchmd as bmd

d = sys.argv[1]
structures = read(os.path.join(d, "in.extxyz"), index=":")
own = os.path.join(d, "proc%d" % os.getpid())  # this rank's directory (its rank is known after the run)
os.makedirs(own)
os.chdir(own)
with open("md.h5", "w") as f:
    f.write("this process's own file\n")
model = bmd.models.LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)
snaps, traj = bmd.ExtXYZ("relax.extxyz"), bmd.H5MD("md.h5", every=1)
unused = [bmd.ExtXYZ("unused.extxyz"), bmd.H5MD("unused.h5")]
final = bmd.ExtXYZ("final.extxyz")
relax = bmd.FIRE(model, name="relax", fmax=0.02, max_steps=500, hooks=[bmd.SnapshotHook(snaps, 1)])
md = bmd.NVE(model, name="md", dt=2.0, steps=10, hooks=[bmd.SnapshotHook(traj)])
r = (relax | md).run(structures, final=final, max_atoms=200)
for s in [snaps, traj, final]:
    s.close()
del unused

calls = {"relax": 0, "md": 0}


def counter(name):
    def hook(batch):
        calls[name] += 1
    return hook


bad = os.path.join(d, "in.extxyz", "x")  # under a file: no directory can be made there
errors = {}
for what in ("final", "h5md"):
    relax = bmd.FIRE(model, name="relax", fmax=0.02, max_steps=500, hooks=[counter("relax")])
    md_hooks = [counter("md")] + ([bmd.SnapshotHook(bmd.H5MD(bad + ".h5"))] if what == "h5md" else [])
    md = bmd.NVE(model, name="md", dt=2.0, steps=10, hooks=md_hooks)
    try:
        (relax | md).run(structures, final=bmd.ExtXYZ(bad + ".extxyz") if what == "final" else None,
                         max_atoms=200)
        errors[what] = None
    except Exception as e:
        errors[what] = [type(e).__name__, str(e)]
with open(os.path.join(d, "rank%d.json" % r.rank), "w") as f:
    json.dump(dict(dir=own, errors=errors, calls=calls), f)
'''

MODEL = dict(epsilon=0.0104, sigma=3.40, cutoff=8.5, shift=True)


def extxyz_frames(path):
    """{system_id: [frame text, ...]} in file order, and the step of each."""
    with open(path) as f:
        lines = f.read().splitlines(keepends=True)
    out, i = {}, 0
    while i < len(lines):
        n = int(lines[i])
        head = lines[i + 1]
        info = dict(kv.split("=", 1) for kv in head.split() if "=" in kv and not kv.startswith("Properties"))
        out.setdefault(int(info["system_id"]), []).append((int(info["step"]), "".join(lines[i:i + n + 2])))
        i += n + 2
    return out


def datasets(f):
    """{path: array} of every dataset in an open h5py file."""
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


c = Checks()
if not mpilib.MPIRUN:
    c.check(False, "mpirun is not on PATH (install openmpi-bin)")
    c.finish()
with tempfile.TemporaryDirectory() as d:
    rng = np.random.default_rng(6)
    frames = []
    for i in range(6):
        a = Icosahedron("Ar", 2, latticeconstant=5.3)
        a.positions += rng.normal(0, 0.05, a.positions.shape)
        frames.append(a)
    write(os.path.join(d, "in.extxyz"), frames)
    frames = read(os.path.join(d, "in.extxyz"), index=":")  # exactly what rank 0 reads
    script = os.path.join(d, "script.py")
    with open(script, "w") as f:
        f.write(SCRIPT)

    # the fused reference: every step of relax + md, in H5MD and in extxyz
    model = bmd.models.LennardJones(**MODEL)
    fused_h5, fused_xyz = bmd.H5MD(os.path.join(d, "fused.h5"), every=1), bmd.ExtXYZ(os.path.join(d, "fused.extxyz"))
    relax = bmd.FIRE(model, name="relax", fmax=0.02, max_steps=500)
    md = bmd.NVE(model, name="md", dt=2.0, steps=10)
    fused = (relax + md).run(frames, max_atoms=200, hooks=[bmd.SnapshotHook(fused_h5), bmd.SnapshotHook(fused_xyz, 1)])
    fused_h5.close()
    fused_xyz.close()
    steps_relax = {int(a.info["system_id"]): int(a.info["steps_relax"]) for a in fused.final}
    c.check(sorted(steps_relax) == list(range(6)) and min(steps_relax.values()) > 1,
            f"fused: systems and relax steps {steps_relax}")

    env = dict(mpilib.ENV, PYTHONPATH=os.path.join(BUILD, "python"))
    rc, out, err = mpilib.run([mpilib.MPIRUN, "--allow-run-as-root", "--oversubscribe", "-np", "2", "-x",
                               "PYTHONPATH", "-x", "OMP_NUM_THREADS", "/usr/bin/python3", script, d], env=env)
    c.check(rc == 0, f"mpirun: exit {rc}: {err[-2000:]}")
    ranks = {}
    for r in (0, 1):
        p = os.path.join(d, "rank%d.json" % r)
        if os.path.exists(p):
            with open(p) as f:
                ranks[r] = json.load(f)
    c.check(sorted(ranks) == [0, 1], f"ranks that reported: {sorted(ranks)}")
    if sorted(ranks) == [0, 1]:
        d0, d1 = ranks[0]["dir"], ranks[1]["dir"]
        files0, files1 = sorted(os.listdir(d0)), sorted(os.listdir(d1))
        c.check(files0 == ["md.h5", "relax.extxyz"], f"rank 0's directory: {files0}")
        c.check(files1 == ["final.extxyz", "md.h5"], f"rank 1's directory: {files1}")
        with open(os.path.join(d0, "md.h5")) as f:
            kept = f.read()
        c.check(kept == "this process's own file\n", f"rank 0's md.h5 was touched: {kept[:40]!r}")
        with open(os.path.join(d1, "final.extxyz")) as f:
            n_final = sum(" system_id=" in line for line in f)
        c.check(n_final == 6, f"the last rank's final.extxyz: {n_final} systems")

        # md.h5 = the fused trajectory from each system's step steps_relax on
        with h5py.File(os.path.join(d1, "md.h5"), "r") as f, h5py.File(os.path.join(d, "fused.h5"), "r") as g:
            got, ref = datasets(f), datasets(g)
            c.check(sorted(f["particles"]) == sorted(g["particles"]) == ["system_%d" % i for i in range(6)],
                    f"md.h5's systems {sorted(f['particles'])}, fused {sorted(g['particles'])}")
            c.check(sorted(got) == sorted(ref), f"datasets: {sorted(set(got) ^ set(ref))} in one file only")
            c.check(f["parameters"].attrs.get("units") == g["parameters"].attrs.get("units"),
                    "the units attribute")
            n_frames, bad = 0, []
            for name in sorted(set(got) & set(ref)):
                parts = name.split("/")
                system = next((p for p in parts if re.fullmatch(r"system_\d+", p)), None)
                if system is None:  # file-wide (/h5md, /parameters)
                    same = np.array_equal(got[name], ref[name])
                elif name.endswith(("species", "mass")):
                    same = np.array_equal(got[name], ref[name])
                else:  # a time series: frames from step steps_relax on
                    k0 = steps_relax[int(system.split("_")[1])]
                    want = ref[name][k0:] - k0 if name.endswith("step") else ref[name][k0:]
                    same = got[name].shape[0] == 11 and np.array_equal(got[name], want)
                    n_frames += got[name].shape[0] if name.endswith("position/value") else 0
                if not same:
                    bad.append(name)
            c.check(not bad, f"md.h5 datasets that differ from the fused run's: {bad[:6]}")
            c.check(n_frames == 6 * 11, f"md.h5: {n_frames} position frames (6 systems x 11)")

        # relax.extxyz = each system's fused frames up to step steps_relax
        got, ref = extxyz_frames(os.path.join(d0, "relax.extxyz")), extxyz_frames(os.path.join(d, "fused.extxyz"))
        c.check(sorted(got) == list(range(6)), f"relax.extxyz's systems {sorted(got)}")
        bad = [i for i in sorted(got) if got[i] != [fr for fr in ref.get(i, []) if fr[0] <= steps_relax[i]]]
        c.check(not bad, f"relax.extxyz: the frames of systems {bad} differ from the fused run's")

        # paths that cannot be created: refused before any step, on every rank
        for what, suffix in (("final", ".extxyz"), ("h5md", ".h5")):
            e0, e1 = ranks[0]["errors"][what], ranks[1]["errors"][what]
            c.check(e1 is not None and os.path.join(d, "in.extxyz", "x" + suffix) in e1[1],
                    f"{what} under a file, the last rank: {e1}")
            c.check(e0 is not None and "rank 1 failed" in e0[1], f"{what} under a file, rank 0: {e0}")
        c.check(ranks[0]["calls"] == {"relax": 0, "md": 0} and ranks[1]["calls"] == {"relax": 0, "md": 0},
                f"hook calls before the refusals: {ranks[0]['calls']}, {ranks[1]['calls']}")

    # one process
    os.chdir(d)
    for p in ("never.extxyz", "never.h5", "dropped.h5"):
        c.check(not os.path.exists(p), f"{p} before")
    bmd.ExtXYZ("never.extxyz").close()
    bmd.H5MD("never.h5").close()
    bmd.H5MD("dropped.h5")
    for p in ("never.extxyz", "never.h5", "dropped.h5"):
        c.check(not os.path.exists(p), f"a sink no run used made {p}")
    # one file for two ranks: refused on every rank before MPI starts
    relax = bmd.FIRE(model, name="relax", fmax=0.02, max_steps=500, hooks=[bmd.SnapshotHook(bmd.ExtXYZ("x.extxyz"))])
    md = bmd.NVE(model, name="md", dt=2.0, steps=10)
    try:
        (relax | md).run(frames, final=bmd.ExtXYZ("x.extxyz"))
        c.check(False, "relax's snapshots and final in one file: no error")
    except ValueError as e:
        c.check("x.extxyz is written on ranks 1 and 0" in str(e), f"relax's snapshots and final in one file: {e}")
    c.check(not os.path.exists("x.extxyz"), "x.extxyz made by a refused pipeline")
    later = bmd.ExtXYZ("here.extxyz")
    os.makedirs("sub")
    os.chdir("sub")
    calls = []

    def count(batch):
        calls.append(batch.step)

    relax = bmd.FIRE(model, name="relax", fmax=0.02, max_steps=500, hooks=[count])
    relax.run(frames[:2], failed=later, max_atoms=200)
    later.close()
    c.check(os.path.exists(os.path.join(d, "here.extxyz")) and os.path.getsize(os.path.join(d, "here.extxyz")) == 0
            and not os.path.exists("here.extxyz"), "failed=ExtXYZ('here.extxyz') made in the directory before: an "
            "empty file there, created by the run")
    for what in ("final", "h5md"):
        calls.clear()
        bad = os.path.join(d, "in.extxyz", "y." + what)
        hooks = [count] + ([bmd.SnapshotHook(bmd.H5MD(bad))] if what == "h5md" else [])
        try:
            bmd.FIRE(model, name="relax", fmax=0.02, max_steps=500, hooks=hooks).run(
                frames[:2], final=bmd.ExtXYZ(bad) if what == "final" else None, max_atoms=200)
            c.check(False, f"{what} under a file: no error")
        except Exception as e:
            c.check(bad in str(e), f"{what} under a file: {type(e).__name__}: {e}")
        c.check(calls == [], f"{what} under a file: steps taken {calls[:5]}")
    os.chdir(SOURCE)
c.finish()
