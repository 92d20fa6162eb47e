#!/usr/bin/python3
"""Device selection (`device:` in the campaign, `--device` on run and
validate): `cpu` runs as before; an unknown device is an invalid campaign
(exit 2, FILE:LINE:COL); `cuda` on a batchmd built without CUDA, or on a
machine with no CUDA device, exits 2 with "this batchmd was built without
CUDA" / "no CUDA device found" naming where it was asked for, and writes
nothing. Where a device exists, validate accepts `device: cuda`."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ.get("BATCHMD_SOURCE", "."), "tests", "cli"))
from testlib import Checks, run  # noqa: E402

XYZ = """2
Properties=species:S:1:pos:R:3 pbc="F F F"
Ar 0 0 0
Ar 3.8 0 0
"""


def campaign(device_line):
    return (device_line + "model: {type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5}\n"
            "input: in.extxyz\n"
            "stages:\n  relax: {type: fire, fmax: 0.05, max_steps: 20}\n"
            "output: {final: out/final.extxyz, failed: out/failed.extxyz}\n")




def main():
    c = Checks()
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "in.extxyz"), "w") as f:
            f.write(XYZ)
        path = os.path.join(d, "c.yaml")

        def write(text):
            with open(path, "w") as f:
                f.write(text)

        # cpu, written or asked for: runs as without the key
        write("units: metal\n" + campaign("device: cpu\n"))
        r = run("run", "--quiet", path)
        c.check(r.returncode == 0, "device: cpu runs (rc %d: %s)" % (r.returncode, r.stderr))
        c.check(os.path.exists(os.path.join(d, "out", "final.extxyz")), "device: cpu writes final")
        r = run("validate", "--device", "cpu", path)
        c.check(r.returncode == 0, "--device cpu validates (rc %d: %s)" % (r.returncode, r.stderr))

        # an unknown device: the campaign is invalid, at its place
        write("units: metal\n" + campaign("device: tpu\n"))
        for cmd in ("validate", "run"):
            r = run(cmd, path)
            c.check(r.returncode == 2, "%s device: tpu exits 2 (got %d)" % (cmd, r.returncode))
            c.check("c.yaml:2:9" in r.stderr and "unknown device 'tpu'" in r.stderr
                    and "expected cpu or cuda" in r.stderr, "%s device: tpu message: %r" % (cmd, r.stderr))
        r = run("run", "--device", "tpu", path)
        c.check(r.returncode == 2, "--device tpu exits 2 (got %d)" % r.returncode)

        # cuda: the clear error where it cannot be had
        write("units: metal\n" + campaign("device: cuda\n"))
        r = run("validate", path)
        if r.returncode == 0:
            print("a CUDA device is present: checking that validate accepts it and run refuses clearly")
            r = run("run", "--quiet", path)
            c.check(r.returncode == 1 and "not yet behind `batchmd run`" in r.stderr,
                    "run device: cuda with a GPU: exit 1 and why (rc %d: %s)" % (r.returncode, r.stderr))
        else:
            why = ("this batchmd was built without CUDA", "no CUDA device found")
            c.check(r.returncode == 2, "validate device: cuda exits 2 (got %d)" % r.returncode)
            c.check("c.yaml:2:9: device: cuda" in r.stderr and any(w in r.stderr for w in why),
                    "validate device: cuda message: %r" % r.stderr)
            out = os.path.join(d, "out2")
            write("units: metal\n" + campaign("device: cuda\n").replace("out/", "out2/"))
            r = run("run", "--quiet", path)
            c.check(r.returncode == 2, "run device: cuda exits 2 (got %d)" % r.returncode)
            c.check("c.yaml:2:9: device: cuda" in r.stderr and any(w in r.stderr for w in why),
                    "run device: cuda message: %r" % r.stderr)
            c.check(not os.path.exists(out), "run device: cuda writes nothing")
            write("units: metal\n" + campaign("").replace("out/", "out2/"))
            for cmd in ("run", "validate"):
                r = run(cmd, "--device", "cuda", path)
                c.check(r.returncode == 2, "%s --device cuda exits 2 (got %d)" % (cmd, r.returncode))
                c.check("--device cuda:" in r.stderr and any(w in r.stderr for w in why),
                        "%s --device cuda message: %r" % (cmd, r.stderr))
            c.check(not os.path.exists(out), "run --device cuda writes nothing")
    c.finish()


main()
