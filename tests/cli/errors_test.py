#!/usr/bin/python3
"""Bad campaigns and bad inputs: `batchmd run` and `batchmd validate` exit
with status 2, say where (FILE:LINE[:COL]) and what was expected, and leave
no output file behind. Bad command lines: every subcommand refuses an
unknown option, a stray argument and an option missing its value with
status 2 and a message naming it, and writes nothing."""
import os
import tempfile

from testlib import Checks, run

GOOD_XYZ = """2
Properties=species:S:1:pos:R:3 pbc="F F F"
Ar 0 0 0
Ar 3.8 0 0
"""

BASE = {
    "model": "model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5}\n",
    "input": "input: in.extxyz\n",
    "stages": "stages:\n  relax:\n    type: fire\n    fmax: 0.05\n",
    "output": "output: {final: out/final.extxyz, failed: out/failed.extxyz}\n",
}


def campaign(**over):
    parts = dict(BASE)
    parts.update(over)
    return "".join(parts[k] for k in ("model", "input", "stages", "output")) + parts.get("extra", "")


# (name, campaign text, input text, what stderr must contain)
CASES = [
    ("unknown root key", campaign(extra="temprature: 300\n"), GOOD_XYZ, ["c.yaml:8:1", "unknown key 'temprature'"]),
    ("wrong type", campaign(stages="stages:\n  relax:\n    type: fire\n    fmax: lots\n"), GOOD_XYZ,
     ["c.yaml:6:11", "expected a number"]),
    ("unknown stage key", campaign(stages="stages:\n  relax:\n    type: fire\n    fmx: 0.05\n"), GOOD_XYZ,
     ["c.yaml:6:5", "unknown key 'fmx'"]),
    ("unknown dynamics", campaign(stages="stages:\n  relax:\n    type: conjugate_gradient\n"), GOOD_XYZ,
     ["c.yaml:5:11", "unknown dynamics 'conjugate_gradient'"]),
    ("unknown stage in pipeline", campaign(extra="pipeline: relax + md\n"), GOOD_XYZ,
     ["c.yaml:8:", "unknown stage 'md'"]),
    ("unknown model type", campaign(model="model: {type: tersoff}\n"), GOOD_XYZ,
     ["c.yaml:1:15", "unknown model type 'tersoff'"]),
    ("missing input", campaign(input="input: nowhere.extxyz\n"), GOOD_XYZ, ["c.yaml:2:8", "does not exist"]),
    ("yaml syntax", campaign(extra="batch: {max_atoms: 10\n"), GOOD_XYZ, ["c.yaml:", "invalid YAML"]),
    ("bad number in extxyz", campaign(), GOOD_XYZ.replace("3.8 0 0", "3.8 zero 0"), ["in.extxyz:4"]),
    ("unknown element", campaign(), GOOD_XYZ.replace("Ar 3.8", "Qq 3.8"), ["in.extxyz:4", "Qq"]),
    ("wrong atom count", campaign(), GOOD_XYZ.replace("2\n", "3\n", 1), ["in.extxyz"]),
    ("species without parameters", campaign(model="model:\n  type: lj\n  pairs: [{species: [Ar, Ar], epsilon: 0.01, sigma: 3.4}]\n"),
     GOOD_XYZ.replace("Ar 3.8", "Kr 3.8"), ["in.extxyz:1", "Kr"]),
    ("structure over budget", campaign(extra="batch: {max_atoms: 1}\n"), GOOD_XYZ, ["in.extxyz:1", "max_atoms"]),
]

c = Checks()
for name, text, xyz, needles in CASES:
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "c.yaml"), "w") as f:
            f.write(text)
        with open(os.path.join(d, "in.extxyz"), "w") as f:
            f.write(xyz)
        for cmd in ("validate", "run"):
            r = run(cmd, os.path.join(d, "c.yaml"))
            c.check(r.returncode == 2, "%s (%s): exit status %d, expected 2; stderr: %s" % (name, cmd, r.returncode, r.stderr))
            for n in needles:
                c.check(n in r.stderr, "%s (%s): message names '%s': %s" % (name, cmd, n, r.stderr.strip()))
            c.check(r.stderr.count("\n") <= 2, "%s (%s): one message, got: %s" % (name, cmd, r.stderr))
            c.check(not os.path.exists(os.path.join(d, "out")), "%s (%s): no output written" % (name, cmd))

# the good campaign passes validate, runs, and writes both files
with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(campaign())
    with open(os.path.join(d, "in.extxyz"), "w") as f:
        f.write(GOOD_XYZ)
    r = run("validate", os.path.join(d, "c.yaml"))
    c.check(r.returncode == 0, "good campaign validates: %s" % r.stderr)
    r = run("run", "--quiet", os.path.join(d, "c.yaml"))
    c.check(r.returncode == 0 and r.stderr == "", "good campaign runs quietly: %s" % r.stderr)
    c.check(os.path.exists(os.path.join(d, "out/final.extxyz")), "final written")
for args in (["--version"], ["--help"], ["run", "--help"], ["eval", "--help"], ["models"]):
    r = run(*args)
    c.check(r.returncode == 0 and r.stdout, "batchmd %s" % " ".join(args))

# bad command lines, for every subcommand: exit 2, the message names the culprit, nothing written
with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "c.yaml"), "w") as f:
        f.write(campaign())
    with open(os.path.join(d, "in.extxyz"), "w") as f:
        f.write(GOOD_XYZ)
    cy = os.path.join(d, "c.yaml")
    BAD = [  # (arguments, what the message must name)
        (["--version", "extra"], "'extra'"), (["--help", "extra"], "'extra'"),
        (["models", "extra"], "'extra'"), (["models", "--frobnicate"], "'--frobnicate'"),
        (["models", "--kim", "--frobnicate"], "'--frobnicate'"),
        (["validate", "--device"], "--device needs a value"), (["run", cy, "--device"], "--device needs a value"),
        (["eval", cy, "-o"], "-o needs a file name"), (["eval", cy, "--output"], "--output needs a file name"),
    ]
    for sub in ("run", "eval", "validate"):
        BAD += [([sub, "--frobnicate", cy], "'--frobnicate'"), ([sub, cy, "-x"], "'-x'"),
                ([sub, cy, "extra"], "'extra'"), ([sub, "extra", cy], "'extra'")]
    for args, needle in BAD:
        r = run(*args)
        what = "batchmd " + " ".join(a if a != cy else "c.yaml" for a in args)
        c.check(r.returncode == 2, "%s: exit status %d, expected 2" % (what, r.returncode))
        c.check(needle in r.stderr and r.stderr.count("\n") == 1, "%s: one message naming %s: %r" % (what, needle, r.stderr))
        c.check(not os.path.exists(os.path.join(d, "out")), "%s: nothing written" % what)
r = run("frobnicate")
c.check(r.returncode == 2 and "unknown command" in r.stderr, "unknown command exits 2")
c.finish()
