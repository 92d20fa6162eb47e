#!/usr/bin/python3
"""Neighbor-list builds in the end-of-run summary (issue #7), against a count
made in closed form here:

  "  neighbor lists: B builds, one per X steps of a system"

Three Cu dimers with their atoms 30 Å apart (far beyond any cutoff + skin,
so every force is exactly zero and the velocities given in the input stay
exactly constant), non-periodic, NVE dt 1 fs:
  A: both atoms at the same velocity (rigid translation), 0.0137 Å/fs;
  B: one atom at rest, the other at 0.0523 Å/fs (along (2,-1,2)/3), and
     steps=150 on its info line (the stage says 200);
  C: the two atoms in opposite directions, 0.031 Å/fs each.
Each atom's displacement since a build at step k0 is (k - k0) |v| dt, so
with the rule of verlet.c (rebuild when the two largest displacements add
up to more than the skin; lj, morse, eam, and the KIM model, whose padded
sets are kept with their half lists) a system rebuilds every
K = floor(skin / (dt (|v1| + |v2|))) + 1 steps. Over N steps a system builds its
list 1 + floor(N / K) times (the first build on entry, positions of steps
0..N evaluated). The summary must give the sum over systems, and
X = system_steps / B with system_steps = sum of the systems' N.
Cases (a few seconds in all):
  - lj, morse, eam (Cu_u3.eam), kim, inflight with max_systems 2, refill
    every 7 steps (systems move between slots: the count must not change);
  - a plug-in model keeps no lists: no "neighbor lists" line;
  - interrupted (BATCHMD_TEST_KILL=step:105, a checkpoint every round of
    10 steps, so the last one is at step 100, all three systems live) and
    resumed: the summary covers the whole run: system_steps = sum N, and
    builds = for each system the builds of steps 0..100, then 1 + floor((N
    - 100) / K) (the restored lists are rebuilt from the step-100 positions);
  - under mpirun (when there is one), the pipeline "md1 | md2" (60 then 90
    steps): the last rank's summary gives its own model's builds, each
    system 1 + floor(90 / K), "(this rank)"."""
import math
import os
import re
import shutil
import subprocess
import tempfile

from testlib import BATCHMD, Checks

DT, SKIN = 1.0, 1.0  # fs, Å
POT = "/usr/share/lammps/potentials/Cu_u3.eam"
KIM = "EAM_Dynamo_AcklandTichyVitek_1987_Cu__MO_179025990738_005"
PLUGIN = os.path.join(os.environ.get("BATCHMD_BUILD", "build"), "plugins", "libmorse_plugin.so")
NUM = r"([-+0-9.eE]+)"

B_DIR = (2 / 3, -1 / 3, 2 / 3)
# (atoms: [(position, velocity)], steps override or None)
SYSTEMS = [
    ([((0, 0, 0), (0.0137, 0, 0)), ((0, 30, 0), (0.0137, 0, 0))], None),
    ([((0, 0, 0), tuple(0.0523 * c for c in B_DIR)), ((0, 30, 0), (0, 0, 0))], 150),
    ([((0, 0, 0), (0.031, 0, 0)), ((0, 30, 0), (-0.031, 0, 0))], None),
]
STEPS = 200


def speeds(atoms):
    return sorted((math.sqrt(sum(c * c for c in v)) for _, v in atoms), reverse=True)


def period(atoms, rule):
    """Steps between builds: the first k with k dt (v1 + v2) > skin (verlet.c)."""
    assert rule == "pair"
    v = speeds(atoms)
    x = SKIN / (DT * (v[0] + v[1]))
    assert abs(x - round(x)) > 1e-3, "a threshold too close to a step makes the count fragile: %r" % x
    return math.floor(x) + 1


def builds(atoms, n, rule):
    return 1 + n // period(atoms, rule)


def write_input(path, overrides=True):
    with open(path, "w") as f:
        for atoms, steps in SYSTEMS:
            extra = " steps=%d" % steps if steps and overrides else ""
            f.write('%d\nProperties=species:S:1:pos:R:3:velocities:R:3 pbc="F F F"%s\n' % (len(atoms), extra))
            for p, v in atoms:
                f.write("Cu %r %r %r %r %r %r\n" % (*p, *v))


def campaign(model, stages="{md: {type: nve, dt: %r, steps: %d}}" % (DT, STEPS), extra="",
             batch="max_systems: 2, refill_every: 7"):
    return ("units: metal\nseed: 1\nthreads: 1\nmodel: %s\ninput: in.extxyz\nstages: %s\n"
            "batch: {%s}\noutput: {final: final.extxyz, failed: failed.extxyz%s}\n" % (model, stages, batch, extra))


def summary(err):
    """(builds, steps per build, whether the line says 'this rank') or None."""
    m = re.search(r"neighbor lists( \(this rank\))?: (\d+) builds, one per %s steps of a system" % NUM, err)
    return (int(m.group(2)), float(m.group(3)), bool(m.group(1))) if m else None


def run_in(d, text, *args, env=None):
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(text)
    return subprocess.run([BATCHMD, "run", *args, "c.yaml"], cwd=d, capture_output=True, text=True, timeout=120,
                          env=env)


def check_count(c, what, err, want_builds, want_system_steps, this_rank=False):
    s = summary(err)
    c.check(s is not None, "%s: the summary has a neighbor-lists line: %s" % (what, err[-1500:]))
    if s is None:
        return
    got, per, rank = s
    c.check(got == want_builds, "%s: %d builds, expected %d" % (what, got, want_builds))
    want_per = want_system_steps / want_builds
    c.check(abs(per - want_per) <= 5e-4 * want_per,
            "%s: one per %r steps of a system, expected %d / %d = %.6g" % (what, per, want_system_steps, want_builds,
                                                                             want_per))
    c.check(rank == this_rank, "%s: '(this rank)' %s" % (what, "expected" if this_rank else "not expected"))


c = Checks()
n_steps = [s or STEPS for _, s in SYSTEMS]
system_steps = sum(n_steps)
MODELS = [
    ("lj", "{type: lj, epsilon: 0.0104, sigma: 2.3, cutoff: 5.0, skin: %r}" % SKIN, "pair"),
    ("morse", "{type: morse, D0: 0.3429, alpha: 1.3588, r0: 2.866, cutoff: 6.0, skin: %r}" % SKIN, "pair"),
    ("eam", "{type: eam, file: %s, skin: %r}" % (POT, SKIN), "pair"),
    ("kim", "{type: kim, name: %s, skin: %r}" % (KIM, SKIN), "pair"),
]
with tempfile.TemporaryDirectory() as d:
    write_input(os.path.join(d, "in.extxyz"))
    for name, model, rule in MODELS:
        want = sum(builds(atoms, n, rule) for (atoms, _), n in zip(SYSTEMS, n_steps))
        r = run_in(d, campaign(model))
        c.check(r.returncode == 0, "%s: run exits 0: %s" % (name, r.stderr[-1500:]))
        c.check(re.search(r"throughput %s atom-steps/s over \d+ batch steps\n  neighbor lists" % NUM, r.stderr)
                is not None, "%s: the lists line follows the throughput line" % name)
        check_count(c, name, r.stderr, want, system_steps)
        print("%-6s %s" % (name, (summary(r.stderr) or "-",)), flush=True)

    # a plug-in keeps no lists of its own: no line
    r = run_in(d, campaign("{type: plugin, path: %s, params: {D0: 0.3429, alpha: 1.3588, r0: 2.866, cutoff: 6.0}}"
                           % os.path.abspath(PLUGIN)))
    c.check(r.returncode == 0, "plugin: run exits 0: %s" % r.stderr[-1500:])
    c.check("throughput" in r.stderr and "neighbor lists" not in r.stderr,
            "plugin: no neighbor-lists line: %s" % r.stderr[-1500:])

    # interrupted at step 105 (last checkpoint at 100), then resumed
    lj, rule = MODELS[0][1], MODELS[0][2]
    ck = ", checkpoint: {file: c.ckpt, every_s: 0}"
    text = campaign(lj, extra=ck, batch="max_systems: 8, refill_every: 10")
    r = run_in(d, text, env=dict(os.environ, BATCHMD_TEST_KILL="step:105"))
    c.check(r.returncode != 0 and os.path.exists(os.path.join(d, "c.ckpt")),
            "resume: the first run is killed after step 105 with a checkpoint (rc %s)" % r.returncode)
    r = run_in(d, text, "--resume", env={k: v for k, v in os.environ.items() if k != "BATCHMD_TEST_KILL"})
    c.check(r.returncode == 0, "resume: the resumed run exits 0: %s" % r.stderr[-1500:])
    cut = 100
    want = sum(builds(atoms, cut, rule) + builds(atoms, n - cut, rule) for (atoms, _), n in zip(SYSTEMS, n_steps))
    check_count(c, "resumed at step %d" % cut, r.stderr, want, system_steps)
    print("resume %s (uninterrupted: %d)" % (summary(r.stderr),
                                            sum(builds(a, n, rule) for (a, _), n in zip(SYSTEMS, n_steps))))

mpirun = shutil.which("mpirun") or shutil.which("mpiexec")
if mpirun:
    with tempfile.TemporaryDirectory() as d:
        write_input(os.path.join(d, "in.extxyz"), overrides=False)
        n1, n2 = 60, 90
        stages = "{md1: {type: nve, dt: %r, steps: %d}, md2: {type: nve, dt: %r, steps: %d}}\npipeline: md1 | md2" % (
            DT, n1, DT, n2)
        with open(os.path.join(d, "c.yaml"), "w") as f:
            f.write(campaign(MODELS[0][1], stages=stages))
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1",
                   OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="none")
        r = subprocess.run([mpirun, "--oversubscribe", "-np", "2", BATCHMD, "run", "c.yaml"], cwd=d,
                           capture_output=True, text=True, timeout=120, env=env)
        if r.returncode != 0 and "built without MPI" in r.stderr:
            print("pipeline: batchmd was built without MPI; not checked")
        else:
            c.check(r.returncode == 0, "pipeline: mpirun -np 2 exits 0: %s" % r.stderr[-1500:])
            want = sum(builds(atoms, n2, "pair") for atoms, _ in SYSTEMS)
            check_count(c, "pipeline, last rank", r.stderr, want, n2 * len(SYSTEMS), this_rank=True)
            print("pipeline %s" % (summary(r.stderr),))
else:
    print("pipeline: no mpirun; not checked")
c.finish()
