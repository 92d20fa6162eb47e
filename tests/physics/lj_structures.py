"""Shared by the FIRE/FIRE2 tests against ASE: the Lennard-Jones structures
(clusters and periodic cells), the model's parameters, and the fire_run
driver (tests/tools/fire_run.c) with its output parser."""
import os
import subprocess
import sys

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.cluster import Icosahedron
from ase.calculators.lj import LennardJones
from ase.optimize import FIRE

# Copper-like LJ (Halicioglu & Pound 1975: ε 0.415 eV, σ 2.277 Å) so that
# fmax 0.05 eV/Å is a real test; fcc lattice constant 2^(2/3) σ ≈ 3.615 Å.
EPS, SIG, RC, FMAX, MAXSTEPS = 0.415, 2.277, 5.7, 0.05, 1000
A_FCC = 3.615
TOOLS = os.environ.get("BATCHMD_TOOLS", os.path.join(os.path.dirname(__file__), "..", "..", "build", "tests", "tools"))
FIRE_RUN = os.path.join(TOOLS, "fire_run")

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what, flush=True)


def batch_independence(inp, ours, n, opts=(), max_steps=MAXSTEPS):
    """Reverse order, groups of 3 and each structure alone: bitwise the same."""
    rev = fire_run(inp, inp + ".rev", list(range(n))[::-1], opts, max_steps)
    check(rev == ours, "reverse order gives bitwise the same results")
    for g in range(0, n, 3):
        picks = list(range(g, min(n, g + 3)))[::-1]
        part = fire_run(inp, inp + ".part", picks, opts, max_steps)
        for i in picks:
            check(part[i] == ours[i], "structure %d in a group of 3: bitwise the same" % i)
    for i in range(n):
        alone = fire_run(inp, inp + ".alone", [i], opts, max_steps)
        check(alone[i] == ours[i], "structure %d alone: bitwise the same" % i)


def grown_cluster(n, rng):
    """n atoms grown one by one at ~nearest-neighbour distance from a random
    earlier atom, never closer than 2.4 Å to any other (always terminates)."""
    pos = [np.zeros(3)]
    while len(pos) < n:
        base = pos[rng.integers(len(pos))]
        d = rng.normal(size=3)
        p = base + d / np.linalg.norm(d) * rng.uniform(2.5, 2.9)
        if min(np.linalg.norm(p - q) for q in pos) > 2.4:
            pos.append(p)
    return Atoms("Cu%d" % n, positions=pos)


def structures():
    rng = np.random.default_rng(2024)
    frames = []
    for n in (4, 5, 6, 7, 9, 12, 16, 20, 26, 33, 41, 50, 60):
        frames.append(grown_cluster(n, rng))
    for k, sigma in ((2, 0.10), (3, 0.15)):
        a = Icosahedron("Cu", k, latticeconstant=A_FCC)
        a.positions += rng.normal(0, sigma, a.positions.shape)
        frames.append(a)
    fcc = bulk("Cu", "fcc", a=A_FCC, cubic=True).repeat((3, 3, 3))
    fcc.center()
    for radius in (3.8, 4.8, 5.5):
        d = np.linalg.norm(fcc.positions - fcc.positions.mean(axis=0), axis=1)
        a = Atoms("Cu%d" % (d < radius).sum(), positions=fcc.positions[d < radius])
        a.positions += rng.normal(0, 0.12, a.positions.shape)
        frames.append(a)
    a = Icosahedron("Cu", 2, latticeconstant=A_FCC)  # relaxed beforehand: 0 steps
    a.calc = LennardJones(epsilon=EPS, sigma=SIG, rc=RC)
    FIRE(a, logfile=None).run(fmax=0.2 * FMAX, steps=1000)
    a.calc = None
    frames.append(a)
    # periodic: fcc with vacancies, perturbed, squeezed or stretched (the
    # 3x3x3 cells are shorter than 2 rc: several images of an atom interact)
    for rep, lat, vac, sigma in (((3, 3, 3), A_FCC, [0], 0.05), ((3, 3, 3), 1.01 * A_FCC, [3, 40], 0.08),
                                 ((3, 3, 3), 0.99 * A_FCC, [], 0.06), ((4, 3, 3), A_FCC, [7], 0.05),
                                 ((3, 3, 4), 1.005 * A_FCC, [1, 2, 90], 0.07)):
        a = bulk("Cu", "fcc", a=lat, cubic=True).repeat(rep)
        del a[vac]
        a.positions += rng.normal(0, sigma, a.positions.shape)
        frames.append(a)
    for a in frames:
        if not a.pbc.any():
            a.cell = np.zeros((3, 3))
    return frames


def fire_run(inp, out, picks=(), opts=(), max_steps=MAXSTEPS):
    r = subprocess.run([FIRE_RUN, *opts, inp, out, repr(EPS), repr(SIG), repr(RC), repr(FMAX), str(max_steps),
                        *[str(i) for i in picks]], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        print(r.stderr)
        sys.exit("fire_run failed (exit %d)" % r.returncode)
    blocks = {}
    with open(out) as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        head = lines[i].split()
        n = int(head[2])
        blocks[int(head[1])] = lines[i:i + 1 + n]
        i += 1 + n
    return blocks


def parse(block):
    head = block[0].split()
    pos = np.array([[float(x) for x in line.split()] for line in block[1:]])
    return int(head[3]), head[4] == "1", float(head[5]), pos


