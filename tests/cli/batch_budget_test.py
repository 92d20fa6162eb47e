#!/usr/bin/python3
"""The live batch's budget (batch.max_atoms, batch.max_systems) end to end:
`batchmd run` of 48 argon clusters of 2 to 30 atoms (relax + md), observed
from outside the run: the log (output.log every: 1, one row per live system
per step) read with the atom counts of the input file as ASE reads it.

Batch steps in the log: the input's first structure is a "clock", a dimer
whose md lasts 4000 steps (steps=4000 on its info line): admitted first
(the sampler takes the input's head first) into slot 0 (the batch keeps
slot order), it is live at every batch step of the run, so each of its
after-step rows (step >= 1) opens the rows of the next batch step (each
live system then writes exactly one after-step row: checked).

Two runs: max_atoms 64 (max_systems 100), and max_systems 4 (max_atoms
10000). In each, at every batch step, the atoms and systems live (summed
from the log) never exceed the budget; the batch is kept full: at the
first step every structure not yet started would overflow it (atoms live
+ its atoms > max_atoms, or max_systems systems live), so the peak is at
least max_atoms minus the largest structure (or max_systems systems);
and the summary's "batch: peak A atoms, S systems" equals the log's
largest step. Every structure is logged and ends in final."""
import os
import re
import tempfile

import numpy as np
import ase.io
from ase import Atoms

from testlib import Checks, run

CAMPAIGN = """seed: 3
model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5, shift: true}
input: in.extxyz
stages:
  relax: {type: fire, fmax: 0.01, max_steps: 60}
  md: {type: nve, dt: 2.0, steps: 10, init_temperature: 20}
batch: {max_atoms: %d, max_systems: %d, refill_every: 2}
output:
  final: out/final.extxyz
  log: {file: out/log.csv, every: 1}
"""
CLOCK_STEPS = 4000


def structures():
    rng = np.random.default_rng(11)
    clock = Atoms("Ar2", positions=[[0, 0, 0], [3.82, 0, 0]])
    clock.info["steps"] = CLOCK_STEPS
    out = [clock]
    for _ in range(47):
        n = int(rng.integers(2, 31))
        pos = []
        while len(pos) < n:
            p = rng.uniform(-1, 1, 3) * 2.8 * n ** (1 / 3)
            if all(np.linalg.norm(p - q) > 3.5 for q in pos):
                pos.append(p)
        out.append(Atoms("Ar%d" % n, positions=pos))
    return out


def log_steps(path):
    """[[system_id, ...] live at batch step 1, 2, ...] from the log: a
    clock after-step row opens a step; the rows with step >= 1 are the
    systems stepped (step 0: a system entering a stage, not yet stepped).
    Also whether each step had every system once."""
    steps, once = [], True
    with open(path) as f:
        next(f)
        for line in f:
            sid, _, step = line.split(",")[:3]
            if int(step) < 1:
                continue
            if int(sid) == 0:
                steps.append([])
            if not steps:
                return [], False  # a stepped system before the clock's first row
            once &= int(sid) not in steps[-1]
            steps[-1].append(int(sid))
    return steps, once


c = Checks()
frames = structures()
with tempfile.TemporaryDirectory() as top:
    for name, max_atoms, max_systems in (("atoms", 64, 100), ("systems", 10000, 4)):
        d = os.path.join(top, name)
        os.makedirs(d)
        ase.io.write(os.path.join(d, "in.extxyz"), frames)
        sizes = [len(a) for a in ase.io.read(os.path.join(d, "in.extxyz"), ":")]  # what batchmd reads
        with open(os.path.join(d, "c.yaml"), "w") as f:
            f.write(CAMPAIGN % (max_atoms, max_systems))
        r = run("run", os.path.join(d, "c.yaml"))
        c.check(r.returncode == 0, "%s: run exit 0: %s" % (name, r.stderr[-1500:]))
        steps, once = log_steps(os.path.join(d, "out", "log.csv"))
        c.check(steps and once, "%s: the clock opens every batch step, and each system is stepped once in a step"
                % name)
        m = re.search(r"over (\d+) batch steps", r.stderr)
        c.check(m is not None and int(m.group(1)) == len(steps),
                "%s: the log's batch steps = the summary's (%s vs %d)" % (name, m and m.group(1), len(steps)))
        atoms = [sum(sizes[i] for i in s) for s in steps]
        systems = [len(s) for s in steps]
        over = [(k + 1, a, n) for k, (a, n) in enumerate(zip(atoms, systems)) if a > max_atoms or n > max_systems]
        c.check(not over, "%s: live atoms <= %d and systems <= %d at every batch step (over: step, atoms, systems "
                "%s)" % (name, max_atoms, max_systems, over[:5]))
        if not steps:
            continue
        first = set(steps[0])
        fits = [i for i in range(len(sizes)) if i not in first and atoms[0] + sizes[i] <= max_atoms]
        c.check(systems[0] == max_systems or not fits,
                "%s: the first fill leaves out nothing that fits (%d atoms, %d systems live; would fit: %s)"
                % (name, atoms[0], systems[0], fits[:5]))
        if name == "atoms":
            c.check(max(atoms) >= max_atoms - max(sizes), "atoms: peak %d >= %d - the largest structure %d"
                    % (max(atoms), max_atoms, max(sizes)))
        else:
            c.check(max(systems) == max_systems, "systems: peak %d systems = max_systems" % max(systems))
        m = re.search(r"batch: peak (\d+) atoms, (\d+) systems", r.stderr)
        c.check(m is not None and (int(m.group(1)), int(m.group(2))) == (max(atoms), max(systems)),
                "%s: the summary's peak %s = the log's %d atoms, %d systems"
                % (name, m and m.group(0), max(atoms), max(systems)))
        seen = {i for s in steps for i in s}
        c.check(seen == set(range(len(sizes))), "%s: every structure stepped (missing %s)"
                % (name, sorted(set(range(len(sizes))) - seen)[:10]))
        final = ase.io.read(os.path.join(d, "out", "final.extxyz"), ":")
        c.check(sorted(a.info["system_id"] for a in final) == list(range(len(sizes))),
                "%s: every structure in final once" % name)
c.finish()
