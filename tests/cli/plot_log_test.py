#!/usr/bin/python3
"""tools/plot-log: on small generated logs (metal units: a relaxation and an
MD stage; lj units: MD only) it writes valid PNG files (magic bytes, nonzero
size) where asked or beside the log, honours --campaign, --relax, --systems
and --absolute, and refuses a file that is not a batchmd log."""
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import Checks  # noqa: E402

SOURCE = os.environ.get("BATCHMD_SOURCE") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PLOT = os.path.join(SOURCE, "tools", "plot-log")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

c = Checks()


def write_log(path, header, stages):
    """stages: [(name, is_relaxation, steps)], 5 systems, a row every 10 steps."""
    with open(path, "w") as f:
        f.write(header + "\n")
        for name, relax, steps in stages:
            for sid in range(5):
                last = steps - 7 * sid if relax else steps
                for step in list(range(0, last, 10)) + [last]:
                    e = -10.0 - sid - (1 - math.exp(-step / 20.0)) if relax else -11.0 + 0.1 * math.sin(step + sid)
                    fmax = 0.5 * math.exp(-step / 15.0) if relax else 0.2 + 0.05 * math.cos(step)
                    t = 0 if relax else 300 + 20 * math.sin(0.1 * step + sid)
                    f.write("%d,%s,%d,%.17g,%.17g,%.17g\n" % (sid, name, step, e, fmax, t))


def plot(*args):
    return subprocess.run([sys.executable, PLOT, *args], capture_output=True, text=True, timeout=300)


def is_png(path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return False
    with open(path, "rb") as f:
        return f.read(8) == PNG_MAGIC


with tempfile.TemporaryDirectory() as tmp:
    metal = os.path.join(tmp, "log.csv")
    write_log(metal, "system_id,stage,step,energy_eV,fmax_eV_per_A,temperature_K",
              [("relax", True, 60), ("md", False, 200)])
    lj = os.path.join(tmp, "lj.csv")
    write_log(lj, "system_id,stage,step,energy_eps,fmax_eps_per_sigma,temperature_eps_per_kB",
              [("equilibrate", False, 100), ("nve", False, 300)])
    campaign = os.path.join(tmp, "campaign.yaml")
    with open(campaign, "w") as f:
        f.write("stages:\n  relax: {type: fire, fmax: 0.05}\n  md: {type: nve, dt: 1, steps: 200}\n")

    r = plot(metal)
    c.check(r.returncode == 0, "default output: exit %d: %s" % (r.returncode, r.stderr))
    c.check(is_png(os.path.join(tmp, "log.png")), "default output log.png beside the log is a PNG")

    cases = [
        ("explicit -o", [metal, "-o", os.path.join(tmp, "a.png")]),
        ("--campaign", [metal, "--campaign", campaign, "-o", os.path.join(tmp, "b.png")]),
        ("--relax/--md, --systems, --absolute",
         [metal, "--md", "relax", "--relax", "md", "--systems", "0,3", "--absolute", "-o", os.path.join(tmp, "c.png")]),
        ("lj units, --max-systems 2", [lj, "--max-systems", "2", "-o", os.path.join(tmp, "d.png")]),
        ("--stages", [lj, "--stages", "nve", "-o", os.path.join(tmp, "e.png")]),
    ]
    for what, args in cases:
        r = plot(*args)
        out = args[args.index("-o") + 1]
        c.check(r.returncode == 0, "%s: exit %d: %s" % (what, r.returncode, r.stderr))
        c.check(is_png(out), "%s: %s is a nonempty PNG" % (what, out))

    bad = os.path.join(tmp, "bad.csv")
    with open(bad, "w") as f:
        f.write("a,b,c\n1,2,3\n")
    r = plot(bad, "-o", os.path.join(tmp, "bad.png"))
    c.check(r.returncode != 0 and "not a batchmd log" in r.stderr, "a non-log file is refused: %s" % r.stderr)
    c.check(not os.path.exists(os.path.join(tmp, "bad.png")), "nothing written for a non-log file")

    r = plot("--help")
    c.check(r.returncode == 0 and "relaxation" in r.stdout, "--help explains the relaxation/MD choice")

c.finish()
