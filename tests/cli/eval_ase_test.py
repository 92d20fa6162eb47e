#!/usr/bin/python3
"""`batchmd eval` against ASE's own Lennard-Jones calculator (an independent
implementation): energies, forces and stresses of a periodic triclinic cell,
a cell smaller than the cutoff, a slab and an open cluster, read back with
ase.io.read. ASE 3.22's LennardJones shifts the pair energy to zero at rc,
as `shift: true` does. The campaign has no stages (eval needs none; so does
`stages: {}`, and `run` refuses both with exit 2). Where eval writes: -o
FILE, else output.eval, else eval.extxyz beside output.final; a run's final
stays byte for byte what the run wrote, and -o naming it is refused."""
import hashlib
import os
import tempfile

import numpy as np
import ase.io
from ase import Atoms
from ase.build import bulk
from ase.calculators.lj import LennardJones

from testlib import Checks, run

EPS, SIG, RC = 0.0104, 3.40, 8.5
rng = np.random.default_rng(3)
frames = []
a = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 2, 2))
a.set_cell(a.cell.array + [[0, 0, 0], [0.9, 0, 0], [0.4, -0.7, 0]], scale_atoms=True)
a.positions += rng.normal(0, 0.1, a.positions.shape)
frames.append(a)
small = bulk("Ar", "fcc", a=5.4)  # one atom in a primitive cell: it meets its own images
small.positions += 0.05
frames.append(small)
small2 = Atoms("Ar3", positions=[[0, 0, 0], [3.1, 0.4, 0.2], [1.2, 2.9, 0.3]],
               cell=[[5.0, 0, 0], [1.0, 5.2, 0], [0.5, 0.8, 4.9]], pbc=True)
frames.append(small2)
slab = bulk("Ar", "fcc", a=5.26, cubic=True).repeat((2, 2, 1))
slab.center(vacuum=6.0, axis=2)
slab.pbc = [True, True, False]
slab.positions += rng.normal(0, 0.1, slab.positions.shape)
frames.append(slab)
cl = Atoms("Ar13", positions=rng.normal(0, 1, (13, 3)) * 3.0)
cl.positions = np.array([p * 1.0 for p in cl.positions])
frames.append(cl)

MODEL = "model: {type: lj, epsilon: %r, sigma: %r, cutoff: %r, shift: true}\ninput: in.extxyz\n" % (EPS, SIG, RC)


def check_against_ase(what, path, frames):
    got = ase.io.read(path, ":") if os.path.exists(path) else []
    c.check(len(got) == len(frames), "%s: one frame out per frame in" % what)
    for i, (ref, out) in enumerate(zip(frames, got)):
        calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
        ref.calc = calc
        e, f = ref.get_potential_energy(), ref.get_forces()
        c.check(out.info.get("system_id") == i, "%s: system %d: system_id" % (what, i))
        c.check(np.array_equal(out.positions, ref.positions), "%s: system %d: positions round trip bitwise" % (what, i))
        e_out = out.get_potential_energy()
        c.check(abs(e_out - e) <= 1e-10 * max(1.0, abs(e)), "%s: system %d: energy %r vs ASE %r" % (what, i, e_out, e))
        df = np.abs(out.get_forces() - f).max()
        c.check(df <= 1e-10 * max(1.0, np.abs(f).max()), "%s: system %d: forces differ from ASE by %g" % (what, i, df))
        if all(ref.pbc):
            s = ref.get_stress()
            ds = np.abs(out.get_stress() - s).max()
            c.check(ds <= 1e-10 * max(1e-3, np.abs(s).max()), "%s: system %d: stress differs from ASE by %g" % (what, i, ds))


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


c = Checks()
with tempfile.TemporaryDirectory() as d:
    ase.io.write(os.path.join(d, "in.extxyz"), frames)
    frames = ase.io.read(os.path.join(d, "in.extxyz"), ":")  # what batchmd reads (ASE writes 8 decimals)

    # no stages at all, and stages: {}: valid for eval; -o honoured
    for what, stages in (("no stages", ""), ("stages: {}", "stages: {}\n")):
        with open(os.path.join(d, "c.yaml"), "w") as f:
            f.write(MODEL + stages + "output: {final: results/final.extxyz}\n")
        r = run("eval", "--quiet", "-o", os.path.join(d, "out.extxyz"), os.path.join(d, "c.yaml"))
        c.check(r.returncode == 0, "%s: eval exit status 0 (stderr: %s)" % (what, r.stderr))
        check_against_ase(what, os.path.join(d, "out.extxyz"), frames)
        c.check(not os.path.exists(os.path.join(d, "results")), "%s: -o: nothing written beside final" % what)
        if os.path.exists(os.path.join(d, "out.extxyz")):
            os.remove(os.path.join(d, "out.extxyz"))
        r = run("validate", os.path.join(d, "c.yaml"))
        c.check(r.returncode == 0 and "valid for eval" in r.stdout and "run" in r.stdout,
                "%s: validate exit 0 saying valid for eval, not run: %d %s %s" % (what, r.returncode, r.stdout, r.stderr))
        r = run("run", "--quiet", os.path.join(d, "c.yaml"))
        needle = "c.yaml:1:1: missing 'stages'" if not stages else "c.yaml:3:9: stages: expected at least one named stage"
        c.check(r.returncode == 2 and needle in r.stderr, "%s: run exit 2 naming %s: %d %s" % (what, needle, r.returncode, r.stderr))
        c.check(not os.path.exists(os.path.join(d, "results")), "%s: run wrote nothing" % what)

    # a run's final: eval writes beside it (eval.extxyz), or to output.eval, never over it
    with open(os.path.join(d, "r.yaml"), "w") as f:
        f.write(MODEL + "stages: {relax: {type: fire, max_steps: 3}}\noutput: {final: results/final.extxyz}\n")
    final = os.path.join(d, "results", "final.extxyz")
    r = run("run", "--quiet", os.path.join(d, "r.yaml"))
    c.check(r.returncode == 0 and os.path.exists(final), "run writes final: %s" % r.stderr)
    before = digest(final) if os.path.exists(final) else None
    r = run("eval", os.path.join(d, "r.yaml"))
    default = os.path.join(d, "results", "eval.extxyz")
    c.check(r.returncode == 0 and "wrote " + default in r.stderr, "eval says it wrote %s: %s" % (default, r.stderr))
    check_against_ase("default path", default, frames)
    c.check(before and digest(final) == before, "eval leaves the run's final byte for byte")
    for args in (["-o", final], ["--output", os.path.join(d, "results", ".", "final.extxyz")]):
        r = run("eval", *args, os.path.join(d, "r.yaml"))
        c.check(r.returncode == 2 and "output.final" in r.stderr, "eval %s: exit 2 naming output.final: %d %s"
                % (" ".join(args), r.returncode, r.stderr))
        c.check(before and digest(final) == before, "eval %s: the run's final untouched" % " ".join(args))
    with open(os.path.join(d, "e.yaml"), "w") as f:
        f.write(MODEL + "output: {final: results/final.extxyz, eval: e/single.extxyz}\n")
    r = run("eval", os.path.join(d, "e.yaml"))
    c.check(r.returncode == 0 and "wrote " + os.path.join(d, "e", "single.extxyz") in r.stderr,
            "output.eval honoured and named: %s" % r.stderr)
    check_against_ase("output.eval", os.path.join(d, "e", "single.extxyz"), frames)
    c.check(before and digest(final) == before, "output.eval: the run's final untouched")
c.finish()
