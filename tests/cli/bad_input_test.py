#!/usr/bin/python3
"""Bad input never crashes `batchmd`. Every class of bad input goes through
`validate`, `run` and `eval`:

- input that does not parse (truncated or garbled extxyz, non-UTF-8 bytes,
  NaN/Inf or out-of-range numbers, 2^63 atoms, a zero-volume cell, unknown
  elements, empty files; YAML with wrong types, huge numbers, NaN/Inf,
  aliases, deep nesting): exit status 2, one message naming FILE:LINE (and
  :COL for YAML), nothing written;
- a per-structure override (steps=, max_steps=, temperature=, dt=,
  friction= on an info line) outside the range its stage accepts, NaN
  included, or not a number at all (temperature=hot): exit status 2,
  FILE:LINE of the info line, the key, the stage parameter it overrides,
  "out of range" or "not a number", and the expected range, nothing written;
- a structure that parses but is physically broken (two atoms at the same
  place, a position 1e308 Å away, a periodic cell far thinner than the
  cutoff: cell_too_thin) in the middle of a good file: `run` quarantines
  that one structure into `failed` with a status reason, and every other
  structure reaches `final` done;
- valid oddities run: a left-handed cell (negative determinant, as ASE
  allows) gives the energy of its mirror image, CRLF line ends are read.

Every process must end with status 0, 1 or 2: no signal, and no sanitizer
report (under `make test-sanitize` a report aborts the process)."""
import glob
import math
import os
import random
import re
import subprocess
import tempfile

from testlib import BATCHMD, Checks

c = Checks()
# Where the sanitizer build writes its reports (log_path=DIR/asan: DIR/asan.PID).
LOG_PATHS = [m.group(1) for v in ("ASAN_OPTIONS", "UBSAN_OPTIONS")
             for m in [re.search(r"log_path=([^:]+)", os.environ.get(v, ""))] if m]


def run(*args):
    """batchmd ARGS; .reports: the sanitizer reports that process wrote."""
    p = subprocess.Popen([BATCHMD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         errors="replace")
    out, err = p.communicate(timeout=600)
    r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    r.reports = [f for lp in LOG_PATHS for f in glob.glob("%s.%d" % (lp, p.pid))]
    return r


def frame(positions, species="Ar", comment='pbc="F F F"'):
    s = "%d\n%s\n" % (len(positions), comment)
    for p in positions:
        s += "%s %r %r %r\n" % (species, p[0], p[1], p[2])
    return s


def dimer(d=3.8, comment='pbc="F F F"'):
    return frame([(0.0, 0.0, 0.0), (d, 0.0, 0.0)], comment=comment)


def trimer(name):
    return frame([(0.0, 0.0, 0.0), (3.8, 0.0, 0.0), (1.9, 3.3, 0.0)], comment='name=%s pbc="F F F"' % name)


GOOD = dimer()  # 4 lines: a second frame starts at line 5
MODEL = "model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5}\n"
STAGES = ("stages:\n"
          "  relax: {type: fire, fmax: 0.01, max_steps: 30}\n"
          "  md: {type: nvt_langevin, dt: 2.0, temperature: 30, friction: 0.01, steps: 10}\n")
OUTPUT = "output: {final: out/final.extxyz, failed: out/failed.extxyz}\n"
BASE = MODEL + "input: in.extxyz\n" + STAGES + OUTPUT  # input is line 2


def campaign(**replace):
    text = BASE
    for k, v in replace.items():
        old = {"model": MODEL, "stages": STAGES, "output": OUTPUT, "input": "input: in.extxyz\n"}[k]
        text = text.replace(old, v)
    return text


def never_crashed(r, what):
    ok = r.returncode in (0, 1, 2)
    c.check(ok, "%s: ends with status 0, 1 or 2, got %d (a signal or a sanitizer report): %s"
            % (what, r.returncode, r.stderr[-2000:]))
    for s in ("Sanitizer", "runtime error:", "Segmentation", "core dumped"):
        c.check(s not in r.stderr, "%s: no '%s' on stderr: %s" % (what, s, r.stderr[-2000:]))
    for f in r.reports:
        with open(f, errors="replace") as fh:
            c.check(False, "%s: sanitizer report %s:\n%s" % (what, f, fh.read()[-3000:]))
    return ok and not r.reports


def setup(d, text, files):
    with open(os.path.join(d, "c.yaml"), "wb") as f:
        f.write(text.encode() if isinstance(text, str) else text)
    for name, data in files.items():
        if data is None:
            os.mkdir(os.path.join(d, name))
            continue
        with open(os.path.join(d, name), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)


def frames_of(path):
    """(info dict, atoms) of each frame of an extxyz file we wrote."""
    out = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines) and lines[i].strip():
        n = int(lines[i])
        info = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', lines[i + 1]))
        out.append((info, n))
        i += n + 2
    return out


# ---- input that does not parse: exit 2, FILE:LINE, nothing written ----
rng = random.Random(7)
garbage = bytes(rng.randrange(256) for _ in range(600))
INVALID_XYZ = [
    # (name, in.extxyz content, [what stderr must contain])
    ("truncated frame", GOOD + "3\nx\nAr 0 0 0\n", ["in.extxyz:5:", "truncated frame"]),
    ("truncated after the count", GOOD + "2\n", ["in.extxyz:5:", "ends right after this atom count"]),
    ("truncated in an atom line", GOOD + "2\nx\nAr 0 0 0\nAr 3.8 0", ["in.extxyz:8:", "atom line has 3 fields"]),
    ("truncated in a number", GOOD + "2\nx\nAr 0 0 0\nAr 3.8 0 1.5e", ["in.extxyz:8:", "bad number '1.5e'"]),
    ("garbled bytes after a good frame", GOOD.encode() + garbage, ["in.extxyz:5:"]),
    ("binary file", b"\x1f\x8b\x08\x00" + garbage, ["in.extxyz: not extended XYZ", "gzip-compressed"]),
    ("atom count off by one", GOOD.replace("2\n", "1\n", 1), ["in.extxyz:4:", "expected an atom count"]),
    ("text after the last frame", GOOD + "the end\n", ["in.extxyz:5:", "expected an atom count"]),
    ("non-UTF-8 comment line", (GOOD + dimer(comment='name=caf\xe9 pbc="F F F"')).encode("latin-1"),
     ["in.extxyz:6:", "not UTF-8"]),
    ("non-UTF-8 species", (GOOD + "1\nx\n\xc3\x28 0 0 0\n").encode("latin-1"), ["in.extxyz:7:", "unknown element"]),
    ("unknown element", GOOD + "1\nx\nQq 0 0 0\n", ["in.extxyz:7:", "unknown element 'Qq'"]),
    ("position 1e400", GOOD + "1\nx\nAr 1e400 0 0\n", ["in.extxyz:7:", "non-finite position '1e400'"]),
    ("NaN position", GOOD + "1\nx\nAr 0 nan 0\n", ["in.extxyz:7:", "non-finite position 'nan'"]),
    ("Inf in the cell", GOOD + dimer(comment='Lattice="inf 0 0 0 9 0 0 0 9"'), ["in.extxyz:6:", "Lattice="]),
    ("NaN mass", GOOD + "1\nProperties=species:S:1:pos:R:3:masses:R:1\nAr 0 0 0 nan\n", ["in.extxyz:7:", "bad mass"]),
    ("Inf velocity", GOOD + "1\nProperties=species:S:1:pos:R:3:velocities:R:3\nAr 0 0 0 0 -inf 0\n",
     ["in.extxyz:7:", "non-finite velocity"]),
    ("2^63 atoms", GOOD + "9223372036854775808\nx\n", ["in.extxyz:5:", "too large"]),
    ("2^28 + 1 atoms", "268435457\nx\nAr 0 0 0\n", ["in.extxyz:1:", "too large"]),
    ("negative atom count", GOOD + "-2\nx\n", ["in.extxyz:5:", "got '-2'"]),
    ("zero-volume cell", GOOD + dimer(comment='Lattice="9 0 0 0 9 0 18 0 0"'), ["in.extxyz:6:", "zero volume"]),
    ("pbc without a cell", GOOD + dimer(comment='pbc="T T T"'), ["in.extxyz:6:", "no Lattice"]),
    ("unterminated quote", GOOD + dimer(comment='name="open'), ["in.extxyz:6:", "not closed"]),
    ("bad Properties", GOOD + dimer(comment="Properties=species:S:1:pos:R"), ["in.extxyz:6:", "Properties"]),
    ("8 MB without a newline", b"\x01" * (8 << 20), ["in.extxyz:1:", "expected an atom count"]),
    ("empty file", "", ["c.yaml:2:8:", "holds no structures"]),
    ("blank file", "\n  \n\n", ["c.yaml:2:8:", "holds no structures"]),
    # per-structure overrides out of their stage's range (stages: relax fire, md nvt_langevin)
    ("per-structure steps=-5", GOOD + dimer(comment='steps=-5 pbc="F F F"'),
     ["in.extxyz:6:", "steps=-5", "stages.md.steps", "whole number of steps >= 0"]),
    ("per-structure max_steps=-1", GOOD + dimer(comment='max_steps=-1 pbc="F F F"'),
     ["in.extxyz:6:", "max_steps=-1", "stages.relax.max_steps", ">= 0"]),
    ("per-structure temperature=-3", GOOD + dimer(comment='name=x temperature=-3 pbc="F F F"'),
     ["in.extxyz:6:", "temperature=-3", "stages.md.temperature", "out of range", "temperature >= 0 K"]),
    ("per-structure dt=0", GOOD + dimer(comment='dt=0 pbc="F F F"'), ["in.extxyz:6:", "dt=0", "time step > 0"]),
    ("per-structure temperature=hot", GOOD + dimer(comment='name=x temperature=hot pbc="F F F"'),
     ["in.extxyz:6:", "temperature=hot", "stages.md.temperature", "not a number", "temperature >= 0 K"]),
    ("per-structure temperature=nan", GOOD + dimer(comment='temperature=nan pbc="F F F"'),
     ["in.extxyz:6:", "temperature=nan", "stages.md.temperature"]),
    ("per-structure friction=-1", GOOD + dimer(comment='friction=-1 pbc="F F F"'),
     ["in.extxyz:6:", "friction=-1", "friction >= 0"]),
]
INVALID_YAML = [
    # (name, campaign text (str or bytes), [what stderr must contain])
    ("empty campaign", "", ["c.yaml:1:1:", "missing 'model'"]),
    ("input is a device", campaign(input="input: /dev/zero\n"), ["c.yaml:2:8:", "not a regular file"]),
    ("input matches a folder", campaign(input="input: 'in*'\n"), ["c.yaml:2:8:", "in_dir' is not a regular file"]),
    ("non-UTF-8 campaign", BASE.encode().replace(b"fire", b"f\xffre"), ["c.yaml:4:18:", "invalid YAML", "0xFF"]),
    ("non-UTF-8 after UTF-8", BASE.encode().replace(b"relax: {", b"r\xc3\xa9lax\xe9: {"),
     ["c.yaml:4:9:", "invalid trailing UTF-8 octet"]),
    ("binary campaign", b"\x00\x01\x02" + garbage, ["c.yaml:1:1:", "invalid YAML"]),
    ("campaign is a list", "- a\n- b\n", ["c.yaml:1:1:", "expected a mapping"]),
    ("model is a scalar", campaign(model="model: lj\n"), ["c.yaml:1:8:", "model: expected a mapping"]),
    ("stages is a list", campaign(stages="stages: [relax, md]\n"), ["c.yaml:3:9:", "stages: expected a mapping"]),
    ("fmax is a list", campaign(stages="stages:\n  relax: {type: fire, fmax: [1, 2]}\n"),
     ["c.yaml:4:", "expected a number, got a list"]),
    ("max_steps is 1.5", campaign(stages="stages:\n  relax: {type: fire, max_steps: 1.5}\n"),
     ["c.yaml:4:", "expected a whole number, got '1.5'"]),
    ("steps is quoted", campaign(stages="stages:\n  md: {type: nve, dt: 1, steps: '10'}\n"),
     ["c.yaml:4:", "quoted string"]),
    ("input is a mapping", campaign(input="input: {file: in.extxyz}\n"), ["c.yaml:2:8:", "input: expected"]),
    ("pipeline is a list", BASE + "pipeline: [relax, md]\n", ["c.yaml:7:11:", "pipeline: expected"]),
    ("batch is a number", BASE + "batch: 5\n", ["c.yaml:7:8:", "batch: expected a mapping"]),
    ("output.final is a list", campaign(output="output: {final: [a, b]}\n"), ["c.yaml:6:17:", "expected a text value"]),
    ("seed is negative", BASE + "seed: -1\n", ["c.yaml:7:7:", "out of range"]),
    ("seed is 2^64", BASE + "seed: 18446744073709551616\n", ["c.yaml:7:7:", "out of range"]),
    ("threads is text", BASE + "threads: many\n", ["c.yaml:7:10:", "expected a whole number"]),
    ("fmax is 1e400", campaign(stages="stages:\n  relax: {type: fire, fmax: 1e400}\n"),
     ["c.yaml:4:", "out of range"]),
    ("max_steps is 10^20", campaign(stages="stages:\n  relax: {type: fire, max_steps: 100000000000000000000}\n"),
     ["c.yaml:4:", "out of range"]),
    ("cutoff is 1e400", campaign(model="model: {type: lj, epsilon: 0.01, sigma: 3.4, cutoff: 1e400}\n"),
     ["c.yaml:1:", "out of range"]),
    ("fmax is nan", campaign(stages="stages:\n  relax: {type: fire, fmax: nan}\n"), ["c.yaml:4:", "finite"]),
    ("dt is .inf", campaign(stages="stages:\n  md: {type: nve, dt: .inf, steps: 5}\n"),
     ["c.yaml:4:", "expected a number"]),
    ("epsilon is -inf", campaign(model="model: {type: lj, epsilon: -inf, sigma: 3.4, cutoff: 8.5}\n"),
     ["c.yaml:1:", "finite"]),
    ("dt is 0", campaign(stages="stages:\n  md: {type: nve, dt: 0, steps: 5}\n"),
     ["c.yaml:4:23:", "stages.md.dt", "out of range", "time step > 0"]),
    ("temperature is -3", campaign(stages="stages:\n  md: {type: nvt_langevin, dt: 1, temperature: -3, steps: 5}\n"),
     ["c.yaml:4:", "stages.md.temperature: -3", "temperature >= 0 K"]),
    ("Nose-Hoover at 0 K", campaign(stages="stages:\n  md: {type: nvt_nose_hoover, dt: 1, temperature: 0, steps: 5}\n"),
     ["c.yaml:4:", "stages.md.temperature", "temperature > 0 K"]),
    ("fmax is -1", campaign(stages="stages:\n  relax: {type: fire, fmax: -1}\n"),
     ["c.yaml:4:29:", "stages.relax.fmax", "force >= 0"]),
    ("friction is -0.1", campaign(stages="stages:\n  md: {type: nvt_langevin, dt: 1, temperature: 3, friction: -0.1, steps: 5}\n"),
     ["c.yaml:4:", "stages.md.friction", "friction >= 0"]),
    ("YAML alias", campaign(model="model: &m {type: lj, epsilon: 0.01, sigma: 3.4}\n") + "x: *m\n",
     ["c.yaml:1:8:", "anchors"]),
    ("deep nesting", BASE + "batch: " + "[" * 200 + "]" * 200 + "\n", ["c.yaml:7:", "nested too deeply"]),
    ("tab indentation", campaign(stages="stages:\n\trelax: {type: fire}\n"), ["c.yaml:4:", "invalid YAML"]),
    ("duplicate key", BASE + "seed: 1\nseed: 2\n", ["c.yaml:8:1:", "duplicate key 'seed'"]),
]

cases = [(n, BASE, {"in.extxyz": x}, w) for n, x, w in INVALID_XYZ] + \
        [(n, t, {"in.extxyz": GOOD, "in_dir": None}, w) for n, t, w in INVALID_YAML]
for name, text, files, needles in cases:
    with tempfile.TemporaryDirectory() as d:
        setup(d, text, files)
        for cmd in ("validate", "run", "eval"):
            what = "%s (%s)" % (name, cmd)
            r = run(cmd, "--quiet", os.path.join(d, "c.yaml")) if cmd != "validate" else \
                run(cmd, os.path.join(d, "c.yaml"))
            if not never_crashed(r, what):
                continue
            c.check(r.returncode == 2, "%s: exit status %d, expected 2; stderr: %s" % (what, r.returncode, r.stderr))
            for n in needles:
                c.check(n in r.stderr, "%s: the message names '%s': %s" % (what, n, r.stderr.strip()))
            c.check(r.stderr.count("\n") <= 2, "%s: one message, got: %s" % (what, r.stderr))
            c.check(not os.path.exists(os.path.join(d, "out")), "%s: nothing written" % what)

# ---- physically broken structures among good ones: quarantined, the rest run ----
far = frame([(0.0, 0.0, 0.0), (1e308, 0.0, 0.0)], comment='name=bad pbc="F F F"')
BROKEN = [
    # (name, the broken frame, campaign, status reasons accepted)
    ("two atoms at the same place",
     frame([(0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (3.8, 0.0, 0.0)], comment='name=bad pbc="F F F"'),
     BASE, ("atoms_too_close", "nan_or_inf", "force_blowup")),
    ("a position 1e308 A away", far, BASE, ("nan_or_inf", "bad_position")),
]
for name, bad, text, reasons in BROKEN:
    xyz = trimer("g0") + trimer("g1") + bad + trimer("g3") + trimer("g4")
    with tempfile.TemporaryDirectory() as d:
        setup(d, text, {"in.extxyz": xyz})
        r = run("run", "--quiet", os.path.join(d, "c.yaml"))
        what = "%s (run)" % name
        if not never_crashed(r, what):
            continue
        c.check(r.returncode == 0, "%s: exit status %d, expected 0: %s" % (what, r.returncode, r.stderr))
        final = os.path.join(d, "out/final.extxyz")
        failed = os.path.join(d, "out/failed.extxyz")
        if not (os.path.exists(final) and os.path.exists(failed)):
            c.check(False, "%s: final and failed written" % what)
            continue
        fin, fail = frames_of(final), frames_of(failed)
        c.check(len(fail) == 1 and fail[0][0].get("system_id") == "2",
                "%s: the broken structure (system_id 2) alone in failed: %s" % (what, [f[0] for f in fail]))
        if fail:
            c.check(fail[0][0].get("status") in reasons,
                    "%s: status reason %s, expected one of %s" % (what, fail[0][0].get("status"), reasons))
        c.check(sorted(f[0].get("system_id") for f in fin) == ["0", "1", "3", "4"],
                "%s: the other four structures in final: %s" % (what, [f[0] for f in fin]))
        c.check(all(f[0].get("status") == "done" for f in fin), "%s: the others are done" % what)
        r = run("eval", "--quiet", os.path.join(d, "c.yaml"))
        never_crashed(r, "%s (eval)" % name)

# A periodic cell far thinner than the model's range (cutoff 8.5 A): one
# atom in a 0.01 A cube (the neighbor search would need ~10^9 images of it)
# and two atoms in a cell with one 0.1 A lattice vector. `validate` accepts
# them (they parse); `run` takes each out alone before its first evaluation
# (status cell_too_thin), and the structures around it run to the end.
THIN = [
    ("one atom in a 0.01 A cube", frame([(0.0, 0.0, 0.0)], comment='Lattice="0.01 0 0 0 0.01 0 0 0 0.01" pbc="T T T"')),
    ("two atoms, one lattice vector of 0.1 A",
     frame([(0.0, 0.0, 0.0), (1.9, 1.9, 0.05)], comment='Lattice="3.8 0 0 0 3.8 0 0 0 0.1" pbc="T T T"')),
]
for name, thin in THIN:
    with tempfile.TemporaryDirectory() as d:
        setup(d, BASE, {"in.extxyz": trimer("g0") + thin + trimer("g2")})
        r = run("validate", os.path.join(d, "c.yaml"))
        if never_crashed(r, "%s (validate)" % name):
            c.check(r.returncode == 0, "%s (validate): it parses, exit 0: %s" % (name, r.stderr))
        r = run("run", "--quiet", os.path.join(d, "c.yaml"))
        if never_crashed(r, "%s (run)" % name):
            c.check(r.returncode == 0, "%s (run): exit 0, not the whole run failing: %s" % (name, r.stderr))
            fin = frames_of(os.path.join(d, "out/final.extxyz")) if r.returncode == 0 else []
            fail = frames_of(os.path.join(d, "out/failed.extxyz")) if r.returncode == 0 else []
            c.check([f[0].get("system_id") for f in fail] == ["1"] and fail[0][0].get("status") == "cell_too_thin",
                    "%s (run): the thin cell alone in failed as cell_too_thin: %s" % (name, [f[0] for f in fail]))
            c.check(sorted(f[0].get("system_id") for f in fin) == ["0", "2"] and
                    all(f[0].get("status") == "done" for f in fin),
                    "%s (run): the others done in final: %s" % (name, [f[0] for f in fin]))
        r = run("eval", os.path.join(d, "c.yaml"))
        never_crashed(r, "%s (eval)" % name)

# ---- valid oddities: a left-handed cell, CRLF line ends ----
def energy_of(xyz, cmd="eval"):
    with tempfile.TemporaryDirectory() as d:
        setup(d, BASE, {"in.extxyz": xyz})
        r = run(cmd, "--quiet", os.path.join(d, "c.yaml"))
        never_crashed(r, "energy (%s)" % cmd)
        if r.returncode != 0:
            return None, r.stderr
        out = "out/eval.extxyz" if cmd == "eval" else "out/final.extxyz"  # eval: beside final
        return [float(f[0]["energy"]) for f in frames_of(os.path.join(d, out))], r.stderr


pts = [(0.1, 0.2, 0.3), (3.9, 0.1, 0.0), (1.8, 3.6, 0.2), (0.2, 1.9, 3.5)]
right = frame(pts, comment='Lattice="10.0 0.0 0.0 1.0 9.0 0.0 0.5 0.5 8.0" pbc="T T T"')
left = frame([(-x, y, z) for x, y, z in pts], comment='Lattice="-10.0 0.0 0.0 -1.0 9.0 0.0 -0.5 0.5 8.0" pbc="T T T"')
(e_right, err1), (e_left, err2) = energy_of(right), energy_of(left)
c.check(e_right is not None and e_left is not None, "left- and right-handed cells evaluate: %s %s" % (err1, err2))
if e_right and e_left:
    c.check(math.isclose(e_right[0], e_left[0], rel_tol=1e-12, abs_tol=1e-15),
            "a left-handed cell gives its mirror image's energy: %r vs %r" % (e_left[0], e_right[0]))
e_crlf, err = energy_of(right.replace("\n", "\r\n"))
c.check(e_crlf is not None and e_right is not None and e_crlf == e_right, "CRLF line ends read: %s" % err)
c.finish()
