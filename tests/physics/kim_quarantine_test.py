#!/usr/bin/python3
"""A KIM model that refuses one structure takes that structure out, not the
run (docs/campaign.md, status model_failed): the Mendelev-King copper EAM
(KIM's EAM_Dynamo) refuses, in its Compute(), a crystal with two atoms
0.05 Å apart (let in with quarantine.min_distance: 0). Among four copper
crystals in one batch, under an NVE stage and a variable-cell relaxation
(where a collapsing cell meets the same refusal): that one leaves as
model_failed, the other three finish with frames bitwise equal to a run
without it (the stage evaluated them one by one after the refusal: the same
bits). When every structure is refused, the run stops with the model's
message (exit 1), as any model error does."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import ase.io
from ase.build import bulk

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from testlib import BATCHMD, Checks  # noqa: E402

MODEL = "EAM_Dynamo_MendelevKing_2013_Cu__MO_748636486270_005"
STAGES = {
    "md": "{type: nve, dt: 1.0, steps: 20}",
    "relax": "{type: fire, fmax: 0.01, max_steps: 100, cell: {filter: unit}}",
}


def crystals():
    rng = np.random.default_rng(17)
    out = []
    for k in range(4):
        a = bulk("Cu", "fcc", a=3.615 * rng.uniform(0.98, 1.03), cubic=True).repeat((2, 2, 1 + k % 2))
        a.positions += rng.normal(0, 0.03, a.positions.shape)
        a.set_momenta(rng.normal(0, 0.3, a.positions.shape))  # (the input's own: no draw keyed by system_id)
        out.append(a)
    out[1].positions[1] = out[1].positions[0] + [0.05, 0.0, 0.0]  # the one the model refuses
    return out


def run(d, name, frames, stage):
    ase.io.write(os.path.join(d, name + ".extxyz"), frames)
    with open(os.path.join(d, name + ".yaml"), "w") as f:
        f.write("model: {type: kim, name: %s}\ninput: %s.extxyz\nseed: 3\nstages: {s: %s}\n"
                "quarantine: {min_distance: 0}\noutput: {final: %s.final.extxyz, failed: %s.failed.extxyz}\n"
                % (MODEL, name, stage, name, name))
    r = subprocess.run([BATCHMD, "run", "-q", name + ".yaml"], cwd=d, capture_output=True, text=True, timeout=300)
    read = lambda p: ase.io.read(p, ":") if os.path.exists(p) and os.path.getsize(p) else []  # noqa: E731
    return r, read(os.path.join(d, name + ".final.extxyz")), read(os.path.join(d, name + ".failed.extxyz"))


def main():
    c = Checks()
    frames = crystals()
    with tempfile.TemporaryDirectory() as d:
        for sname, stage in STAGES.items():
            r, final, failed = run(d, sname + "_all", frames, stage)
            c.check(r.returncode == 0, "%s: the run goes on (exit %d: %s)" % (sname, r.returncode, r.stderr.strip()))
            c.check([(a.info["system_id"], a.info.get("status")) for a in failed] == [(1, "model_failed")],
                    "%s: the refused structure leaves as model_failed (%s)"
                    % (sname, [(a.info["system_id"], a.info.get("status")) for a in failed]))
            r2, ref, _ = run(d, sname + "_good", [frames[i] for i in (0, 2, 3)], stage)
            got = {a.info["system_id"]: a for a in final}
            want = {(0, 2, 3)[a.info["system_id"]]: a for a in ref}
            same = sorted(got) == [0, 2, 3] and all(
                np.array_equal(got[i].positions, want[i].positions) and np.array_equal(got[i].cell[:], want[i].cell[:])
                and np.array_equal(got[i].get_momenta(), want[i].get_momenta())
                and got[i].get_potential_energy() == want[i].get_potential_energy() for i in got)
            c.check(r2.returncode == 0 and same, "%s: the other three finish, bitwise as without it" % sname)
        r, final, failed = run(d, "only_bad", [frames[1]], STAGES["md"])
        c.check(r.returncode == 1 and "KIM model" in r.stderr and not final,
                "every structure refused: the run stops with the model's message (exit %d: %s)"
                % (r.returncode, r.stderr.strip()[:200]))
    c.finish()


if __name__ == "__main__":
    main()
