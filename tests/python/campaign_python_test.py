"""`model: {type: python}` in campaign files (issue #15 item 5): the command
loads Python for such a model only, and the model gets everything a
campaign has.

The model: Lennard-Jones written in numpy as a batchmd PythonModel (half
neighbor edges, energy, forces and virial), in a file this test writes next
to the campaign, with ε, σ, cutoff and shift as the campaign's params.
Structures: 14 argon clusters and small periodic crystals (ASE and numpy,
fixed seed); one has two atoms 0.3 Å apart (taken out as it arrives,
atoms_too_close). Stages: FIRE, then Langevin with init_temperature (so the
random streams matter), refilled every 3 steps in a batch of at most 120
atoms, with a log, a checkpoint at every round and (HDF5 builds) an H5MD
trajectory.

Checks:
  - the command is not linked with libpython, and a classical campaign does
    not load it (the process's maps, read while the run holds at a step:
    BATCHMD_TEST_KILL=hold:N), a Python one does;
  - params arrive typed as YAML 1.2 reads them (the types and values of the
    factory's keyword arguments, written down by the factory), a *_file
    key's text resolved against the campaign's folder;
  - `batchmd eval`: energies, forces and stress of the Python model equal
    the built-in lj's within 1e-12 (relative);
  - `batchmd run` with the Python model: every structure's final positions,
    momenta, forces and energy equal the built-in lj run's within 1e-12 Å,
    eV/Å, eV (relative) with the same step counts and statuses;
  - the same stages and model from the Python package (bmd.FIRE + bmd.NVT
    Langevin over the structures) give the command's final bit for bit, and
    bmd.Campaign(...).run() in this process writes the command's bytes;
  - killed with SIGKILL after steps 30 and then 90 (BATCHMD_TEST_KILL), each
    time resumed with --resume: final, failed and log byte-identical to the
    uninterrupted run, the trajectory dataset by dataset; SIGTERM while the
    run holds: exit 1, then --resume: the same bytes again;
  - a 2-rank pipeline (relax | md) under mpirun equals the fused run bit
    for bit;
  - the model raising in its third evaluation: exit 1, the traceback and
    the exception on stderr;
  - errors, exit 2, naming module and object: no such file, no such module,
    no such object, the object raising (its traceback on stderr), the module
    raising while imported, a model in metal units in an lj campaign, an
    unquoted `yes` parameter (at its line and column)."""
import json
import os
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

from pylib import BATCHMD, SOURCE, Checks
import batchmd as bmd

sys.path.insert(0, os.path.join(SOURCE, "tests", "mpi"))
import mpilib  # noqa: E402

c = Checks()
EPS, SIG, RC = 0.0104, 3.40, 8.0
A0 = 2 ** (1 / 6) * SIG * np.sqrt(2)
rng = np.random.default_rng(15)


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


FRAMES = [cluster(int(rng.integers(2, 40))) if rng.random() < 0.7 else crystal() for _ in range(14)]
FRAMES[5].positions[1] = FRAMES[5].positions[0] + [0.3, 0, 0]

LJ_MODEL = '''"""Lennard-Jones in numpy as a batchmd PythonModel (the test's model)."""
import numpy as np

import batchmd as bmd


class LennardJones(bmd.models.PythonModel):
    """phi(r) = 4 eps [(sig/r)^12 - (sig/r)^6] (- phi(rc) when shift), r < rc."""

    neighbors = "half"
    outputs = ("energy", "forces", "virial")

    def __init__(self, epsilon, sigma, cutoff, shift=False, units="metal"):
        super().__init__()
        self.epsilon, self.sigma, self.cutoff, self.shift = epsilon, sigma, cutoff, shift
        self.units = units

    def compute(self, batch):
        i, j = batch.edge_index
        d = batch.edge_vectors()  # r_j - r_i
        r2 = np.einsum("ea,ea->e", d, d)
        s6 = (self.sigma * self.sigma / r2) ** 3
        e = 4 * self.epsilon * (s6 * s6 - s6)
        if self.shift:
            c6 = (self.sigma / self.cutoff) ** 6
            e -= 4 * self.epsilon * (c6 * c6 - c6)
        g = 24 * self.epsilon * (2 * s6 * s6 - s6) / r2  # -phi'(r) / r
        f = g[:, None] * d  # the force on j; -f on i
        n, s = len(batch.positions), len(batch.atom_start)
        forces = np.zeros((n, 3))
        np.add.at(forces, j, f)
        np.add.at(forces, i, -f)
        si = batch.system_index[i]
        w = np.zeros((s, 3, 3))  # W_ab = sum phi'(r) r_a r_b / r
        np.add.at(w, si, -g[:, None, None] * d[:, :, None] * d[:, None, :])
        return {"energy": np.bincount(si, weights=e, minlength=s), "forces": forces,
                "virial": w[:, [0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]}


def recorded(record_file, **params):
    """Writes its keyword arguments' types and values to record_file, then makes the model."""
    import json
    with open(record_file, "w") as f:
        json.dump({k: [type(v).__name__, repr(v)] for k, v in dict(params, record_file=record_file).items()}, f)
    return LennardJones(epsilon=0.0104, sigma=3.40, cutoff=8.0)


class GivingUp(LennardJones):
    """Raises in its third evaluation."""

    def compute(self, batch):
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == 3:
            raise RuntimeError("compute gave up at call 3")
        return super().compute(batch)


def failing(**params):
    raise ValueError("the factory refuses: %r" % sorted(params))
'''

STAGES = """stages:
  relax: {type: fire, fmax: 0.005, max_steps: 40}
  md: {type: nvt_langevin, dt: 2.0, temperature: 40, friction: 0.02, steps: 40, init_temperature: 30}
"""
PY = "{type: python, module: ljmodel.py, object: LennardJones, params: {epsilon: %r, sigma: %r, cutoff: %r, " \
     "shift: true}}" % (EPS, SIG, RC)
LJ = "{type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}" % (EPS, SIG, RC)


def campaign(model, pipeline="relax + md", ckpt=True, traj=True, units="metal"):
    return ("units: %s\nseed: 23\nthreads: 1\nmodel: %s\ninput: in.extxyz\n%spipeline: %s\n"
            "batch: {max_atoms: 120, max_systems: 6, refill_every: 3}\n"
            "output:\n  final: out/final.extxyz\n  failed: out/failed.extxyz\n  log: {file: out/log.csv, every: 4}\n"
            % (units, model, STAGES, pipeline)
            + ("  trajectory: {file: out/traj.h5, every: 8}\n" if traj else "")
            + ("  checkpoint: {file: out/c.ckpt, every_s: 0}\n" if ckpt else ""))


top = tempfile.mkdtemp(prefix="bmd_campaign_py_")
ENV = dict(os.environ, OMP_NUM_THREADS="1")
ENV.pop("BATCHMD_TEST_KILL", None)


def folder(name, model, **kw):
    d = os.path.join(top, name)
    os.makedirs(d)
    ase.io.write(os.path.join(d, "in.extxyz"), FRAMES)
    with open(os.path.join(d, "ljmodel.py"), "w") as f:
        f.write(LJ_MODEL)
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(campaign(model, **kw))
    return d


def bmd_cmd(d, *args, kill=None, timeout=300):
    env = dict(ENV)
    if kill:
        env["BATCHMD_TEST_KILL"] = kill
    return subprocess.run([BATCHMD, *args], cwd=d, env=env, capture_output=True, text=True, timeout=timeout)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def traj_data(path):
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, o: out.__setitem__(name, o[()].tobytes()) if isinstance(o, h5py.Dataset) else None)
    return out


def frames_by_id(data):
    """system_id -> the frame's text."""
    lines, out, i = data.decode().split("\n"), {}, 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        out[int(lines[i + 1].split("system_id=")[1].split()[0])] = "\n".join(lines[i:i + 2 + n])
        i += 2 + n
    return out


def rows_by_id(data):
    rows = {}
    for line in data.decode().splitlines()[1:]:
        rows.setdefault(int(line.split(",")[0]), []).append(line)
    return rows


def maps_while_held(d):
    """The shared objects mapped by `batchmd run` while it holds after its first system's step."""
    held = os.path.join(d, "batchmd.held")
    p = subprocess.Popen([BATCHMD, "run", "-q", "c.yaml"], cwd=d, env=dict(ENV, BATCHMD_TEST_KILL="hold:1"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not os.path.exists(held) and p.poll() is None and time.monotonic() - t0 < 300:
        time.sleep(0.002)  # 300 s: a hang guard only
    try:
        with open("/proc/%d/maps" % p.pid) as f:
            maps = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        maps = None
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=300)[1]
    return maps, p.returncode, err


try:
    # ------------------------------------------------ libpython only when used
    ldd = subprocess.run(["ldd", BATCHMD], capture_output=True, text=True).stdout
    c.check("libpython" not in ldd, "the command is not linked with libpython: %s" % ldd)
    d = folder("maps_lj", LJ)
    maps, rc, err = maps_while_held(d)
    c.check(maps is not None and rc == 1, "lj run held and stopped by SIGTERM (exit %s): %s" % (rc, err))
    c.check(maps is not None and not any("libpython" in m for m in maps), "a classical campaign loads no libpython")
    d = folder("maps_py", PY)
    maps, rc, err = maps_while_held(d)
    c.check(maps is not None and rc == 1, "python run held and stopped by SIGTERM (exit %s): %s" % (rc, err))
    c.check(maps is not None and any("libpython3" in m for m in maps) and any("_core" in m for m in maps),
            "a Python campaign loads libpython and the extension: %s" % sorted(m for m in maps or () if "python" in m))

    # ------------------------------------------------ params, typed
    d = folder("params", "{type: python, module: ljmodel.py, object: recorded, params: {record_file: kw.json, "
                         "a_float: 2.5, an_exp: 1e3, an_int: 8, big: 123456789012345678901234567890, hexa: 0x1F, "
                         "octal: 0o17, padded: 007, yes_: true, no_: False, none: null, tilde: ~, text: Ar, "
                         "quoted: '3', neg_inf: -.inf, dotted: .5}}")
    r = bmd_cmd(top, "validate", "params/c.yaml")  # from the folder above: record_file is a path
    c.check(r.returncode == 0, "validate with the recording factory: %s" % r.stderr)
    got = json.load(open(os.path.join(d, "kw.json"))) if os.path.exists(os.path.join(d, "kw.json")) else {}
    rec = got.pop("record_file", ["?", "'?'"])
    c.check(rec[0] == "str" and os.path.normpath(os.path.join(top, eval(rec[1]))) == os.path.join(d, "kw.json"),
            "record_file is the path of kw.json in the campaign's folder: %s" % rec)
    # YAML 1.2 core schema, by hand
    want = {"a_float": ["float", "2.5"], "an_exp": ["float", "1000.0"],
            "an_int": ["int", "8"], "big": ["int", "123456789012345678901234567890"], "hexa": ["int", "31"],
            "octal": ["int", "15"], "padded": ["int", "7"], "yes_": ["bool", "True"], "no_": ["bool", "False"],
            "none": ["NoneType", "None"], "tilde": ["NoneType", "None"], "text": ["str", "'Ar'"],
            "quoted": ["str", "'3'"], "neg_inf": ["float", "-inf"], "dotted": ["float", "0.5"]}
    for k, v in want.items():
        c.check(got.get(k) == v, "param %s: %s, expected %s" % (k, got.get(k), v))
    c.check(sorted(got) == sorted(want), "params passed: %s" % sorted(got))

    # ------------------------------------------------ single points: eval against the built-in lj
    d_py = folder("eval_py", PY)
    d_lj = folder("eval_lj", LJ)
    for d in (d_py, d_lj):
        r = bmd_cmd(d, "eval", "-q", "-o", "eval.extxyz", "c.yaml")
        c.check(r.returncode == 0, "eval in %s: %s" % (d, r.stderr))
    e_py = ase.io.read(os.path.join(d_py, "eval.extxyz"), ":")
    e_lj = ase.io.read(os.path.join(d_lj, "eval.extxyz"), ":")
    c.check(len(e_py) == len(e_lj) == len(FRAMES), "eval: %d and %d structures" % (len(e_py), len(e_lj)))

    def close(a, b, what, tol=1e-12):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
        ok = a.shape == b.shape and np.all(np.abs(a - b) <= tol * scale)
        c.check(ok, "%s: max difference %s" % (what, np.max(np.abs(a - b)) if a.shape == b.shape else "shapes"))

    for a, b in zip(e_py, e_lj):
        sid = b.info["system_id"]
        close(a.get_potential_energy(), b.get_potential_energy(), "eval %d: energy" % sid)
        close(a.get_forces(), b.get_forces(), "eval %d: forces" % sid)
        if b.pbc.all():
            close(a.get_stress(), b.get_stress(), "eval %d: stress" % sid)

    # ------------------------------------------------ the run: Python model, built-in lj, the package
    ref = folder("reference", PY, ckpt=False)
    r = bmd_cmd(ref, "run", "-q", "c.yaml")
    c.check(r.returncode == 0, "run with the Python model: %s" % r.stderr)
    with_traj = r.returncode == 0
    if r.returncode == 2 and "HDF5" in r.stderr:  # built without HDF5: no trajectory anywhere
        with_traj = False
        shutil.rmtree(ref)
        ref = folder("reference", PY, ckpt=False, traj=False)
        r = bmd_cmd(ref, "run", "-q", "c.yaml")
        c.check(r.returncode == 0, "run with the Python model (no trajectory): %s" % r.stderr)
    REF = {f: read_bytes(os.path.join(ref, "out", f)) for f in ("final.extxyz", "failed.extxyz", "log.csv")}
    REF_TRAJ = traj_data(os.path.join(ref, "out", "traj.h5")) if with_traj else None
    final = {a.info["system_id"]: a for a in ase.io.read(os.path.join(ref, "out", "final.extxyz"), ":")}
    failed = {a.info["system_id"]: a for a in ase.io.read(os.path.join(ref, "out", "failed.extxyz"), ":")}
    c.check(sorted(failed) == [5] and failed[5].info.get("status") == "atoms_too_close",
            "system 5 failed as atoms_too_close: %s" % {k: v.info.get("status") for k, v in failed.items()})
    c.check(sorted(final) == [i for i in range(len(FRAMES)) if i != 5], "every other system in final")

    d_lj = folder("run_lj", LJ, ckpt=False, traj=with_traj)
    r = bmd_cmd(d_lj, "run", "-q", "c.yaml")
    c.check(r.returncode == 0, "run with the built-in lj: %s" % r.stderr)
    lj_final = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d_lj, "out", "final.extxyz"), ":")}
    c.check(sorted(lj_final) == sorted(final), "lj: the same systems in final")
    for sid in sorted(set(final) & set(lj_final)):
        a, b = final[sid], lj_final[sid]
        for k in ("steps_relax", "converged_relax", "steps_md", "status"):
            c.check(a.info.get(k) == b.info.get(k), "run %d: %s %s, lj %s" % (sid, k, a.info.get(k), b.info.get(k)))
        close(a.positions, b.positions, "run %d: positions" % sid)
        close(a.get_momenta(), b.get_momenta(), "run %d: momenta" % sid)
        close(a.get_forces(), b.get_forces(), "run %d: forces" % sid)
        close(a.get_potential_energy(), b.get_potential_energy(), "run %d: energy" % sid)

    sys.path.insert(0, ref)
    import ljmodel  # noqa: E402  (the very file the campaign ran)
    model = ljmodel.LennardJones(epsilon=EPS, sigma=SIG, cutoff=RC, shift=True)
    relax = bmd.FIRE(model, name="relax", fmax=0.005, max_steps=40)
    md = bmd.NVTLangevin(model, name="md", dt=2.0, temperature=40, friction=0.02, steps=40, init_temperature=30)
    res = (relax + md).run(ase.io.read(os.path.join(ref, "in.extxyz"), ":"), seed=23, max_atoms=120,
                           max_systems=6, refill_every=3)
    mine = {a.info["system_id"]: a for a in res.final}
    c.check(sorted(mine) == sorted(final) and [a.info["system_id"] for a in res.failed] == [5],
            "package run: final %s, failed %s" % (sorted(mine), [a.info["system_id"] for a in res.failed]))
    for sid in sorted(set(mine) & set(final)):
        a, b = mine[sid], final[sid]
        b.info.pop("energy", None)  # ASE 3.22's reader copies energy and stress into info
        stress = b.info.pop("stress", None)
        c.check(np.array_equal(a.positions, b.positions), "package %d: positions differ" % sid)
        c.check(np.array_equal(a.get_momenta(), b.get_momenta()), "package %d: momenta differ" % sid)
        c.check(np.array_equal(a.get_forces(), b.get_forces()), "package %d: forces differ" % sid)
        c.check(a.get_potential_energy() == b.get_potential_energy(), "package %d: energy differs" % sid)
        if stress is not None:
            c.check(np.array_equal(a.get_stress(voigt=False), stress), "package %d: stress differs" % sid)
        c.check(a.info == b.info, "package %d: info %s != %s" % (sid, a.info, b.info))

    # the campaign run inside this Python process (Campaign.run: the
    # command's code in the extension, whose own copy makes the model)
    d = folder("in_process", PY, ckpt=False, traj=with_traj)
    status = bmd.Campaign(os.path.join(d, "c.yaml")).run(quiet=True, check=False)
    c.check(status == 0, "Campaign.run in this process: exit %d" % status)
    for f, data in REF.items():
        c.check(read_bytes(os.path.join(d, "out", f)) == data, "Campaign.run: %s byte-identical" % f)
    if with_traj:
        c.check(traj_data(os.path.join(d, "out", "traj.h5")) == REF_TRAJ, "Campaign.run: the same trajectory")

    # ------------------------------------------------ SIGKILL, SIGTERM and --resume
    def same_outputs(d, what):
        for f, data in REF.items():
            c.check(read_bytes(os.path.join(d, "out", f)) == data, "%s: %s byte-identical" % (what, f))
        if with_traj:
            c.check(traj_data(os.path.join(d, "out", "traj.h5")) == REF_TRAJ,
                    "%s: every trajectory dataset bitwise equal" % what)

    d = folder("kill", PY, traj=with_traj)
    r = bmd_cmd(d, "run", "-q", "c.yaml", kill="step:30")
    c.check(r.returncode == -signal.SIGKILL, "killed after step 30 (exit %d: %s)" % (r.returncode, r.stderr))
    r = bmd_cmd(d, "run", "-q", "--resume", "c.yaml", kill="step:90")
    c.check(r.returncode == -signal.SIGKILL, "the resumed run killed after step 90 (exit %d: %s)"
            % (r.returncode, r.stderr))
    r = bmd_cmd(d, "run", "-q", "--resume", "c.yaml")
    c.check(r.returncode == 0, "resumed to the end: %s" % r.stderr)
    same_outputs(d, "SIGKILL twice, resumed")

    d = folder("sigterm", PY, traj=with_traj)
    held = os.path.join(d, "batchmd.held")
    p = subprocess.Popen([BATCHMD, "run", "-q", "c.yaml"], cwd=d, env=dict(ENV, BATCHMD_TEST_KILL="hold:6"),
                         stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not os.path.exists(held) and p.poll() is None and time.monotonic() - t0 < 300:
        time.sleep(0.002)  # 300 s: a hang guard only
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=300)[1]
    c.check(p.returncode == 1 and "interrupted by signal" in err, "SIGTERM while held: exit %d: %s"
            % (p.returncode, err))
    r = bmd_cmd(d, "run", "-q", "--resume", "c.yaml")
    c.check(r.returncode == 0, "resumed after SIGTERM: %s" % r.stderr)
    # stopped mid-round (not at a checkpoint's round boundary): the files
    # hold the same frames and rows, system by system
    for f in ("final.extxyz", "failed.extxyz"):
        c.check(frames_by_id(read_bytes(os.path.join(d, "out", f))) == frames_by_id(REF[f]),
                "SIGTERM, resumed: %s frames byte-identical, system by system" % f)
    c.check(rows_by_id(read_bytes(os.path.join(d, "out", "log.csv"))) == rows_by_id(REF["log.csv"]),
            "SIGTERM, resumed: log rows equal, system by system")
    if with_traj:
        c.check(traj_data(os.path.join(d, "out", "traj.h5")) == REF_TRAJ,
                "SIGTERM, resumed: every trajectory dataset bitwise equal")

    # ------------------------------------------------ a 2-rank pipeline
    if mpilib.MPIRUN:
        d = folder("pipe", PY, pipeline="relax | md", ckpt=False, traj=False)
        rc, out, err = mpilib.mpirun(2, BATCHMD, "run", "-q", os.path.join(d, "c.yaml"))
        c.check(rc == 0, "relax | md on 2 ranks: exit %s: %s" % (rc, err))
        pf = {a.info["system_id"]: a for a in ase.io.read(os.path.join(d, "out", "final.extxyz"), ":")}
        c.check(sorted(pf) == sorted(final), "pipeline: the same systems in final")
        for sid in sorted(set(pf) & set(final)):
            c.check(mpilib.same(pf[sid], final[sid]), "pipeline %d: bitwise the fused run's" % sid)
    else:
        c.check(False, "no mpirun: the pipeline check cannot run")

    # ------------------------------------------------ the model raising in the run: exit 1, its traceback
    d = folder("giving_up", PY.replace("LennardJones", "GivingUp"), ckpt=False, traj=False)
    r = bmd_cmd(d, "run", "-q", "c.yaml")
    c.check(r.returncode == 1 and "Traceback (most recent call last)" in r.stderr
            and "in compute" in r.stderr and "RuntimeError: compute gave up at call 3" in r.stderr,
            "a model raising in the run: exit %d: %s" % (r.returncode, r.stderr))

    # ------------------------------------------------ errors: exit 2, naming module and object
    def refused(model, needles, what, units="metal"):
        d = os.path.join(top, "err_%d" % len(os.listdir(top)))
        os.makedirs(d)
        ase.io.write(os.path.join(d, "in.extxyz"), FRAMES[:2])
        with open(os.path.join(d, "ljmodel.py"), "w") as f:
            f.write(LJ_MODEL)
        with open(os.path.join(d, "broken.py"), "w") as f:
            f.write("import batchmd\nraise ImportError('broken on purpose')\n")
        with open(os.path.join(d, "c.yaml"), "w") as f:
            f.write(campaign(model, ckpt=False, traj=False, units=units))
        r = bmd_cmd(d, "run", "-q", "c.yaml")
        ok = r.returncode == 2 and all(n in r.stderr for n in needles)
        c.check(ok, "%s: exit %d, stderr %r (expected %s)" % (what, r.returncode, r.stderr, needles))
        c.check(not os.path.exists(os.path.join(d, "out", "final.extxyz")), "%s: nothing written" % what)

    refused("{type: python, module: nosuch.py, object: LennardJones}",
            ["c.yaml:4:8", "nosuch.py", "LennardJones", "no such file"], "no such file")
    refused("{type: python, module: nosuch_pkg.nosuch_mod, object: build}",
            ["nosuch_pkg.nosuch_mod", "build", "no module"], "no such module")
    refused("{type: python, module: ljmodel.py, object: NoSuchThing}",
            ["ljmodel.py", "NoSuchThing", "has no object"], "no such object")
    refused("{type: python, module: ljmodel.py, object: failing, params: {x: 1}}",
            ["ljmodel.py", "failing", "ValueError: the factory refuses: ['x']", "Traceback (most recent call last)"],
            "the object raises")
    refused("{type: python, module: broken.py, object: build}",
            ["broken.py", "build", "ImportError: broken on purpose", "Traceback"], "the module raises")
    refused("{type: python, module: ljmodel.py, object: LennardJones, params: {epsilon: 1, sigma: 1, cutoff: 2.5}}",
            ["LennardJones", "metal units", "lj units"], "a metal model in an lj campaign", units="lj")
    spec = "{type: python, module: ljmodel.py, object: LennardJones, params: {shift: yes}}"
    refused(spec, ["c.yaml:4:%d" % (len("model: ") + spec.index("yes") + 1), "model.params.shift", "'yes'"],
            "an unquoted yes")
finally:
    shutil.rmtree(top)
c.finish()
