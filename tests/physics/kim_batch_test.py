#!/usr/bin/python3
"""kim_batch_test.py — the KIM model inside a batch (tests/tools/kim_eval):
  1. a batch of mixed systems (Cu bulk cell with a vacancy, a Cu cluster, a
     Cu slab, a 1-atom primitive cell, a 4x4x4 cell) gives, for every
     system, the same bits as that system alone in its own batch, with one
     thread and with two (systems spread over threads), in either order;
  2. the same system moved step by step in one batch slot (lists kept while
     atoms move less than skin/2, then rebuilt; atoms crossing the cell
     boundary) agrees with fresh evaluations to 1e-12 relative, and the
     lists were rebuilt only when needed;
  3. a structure with a species the model does not support is refused by
     check_system with "model X does not support species Y (it supports Cu)";
     an unknown name and a simulator model are refused with clear messages;
  4. the listing API names portable models with species and capabilities,
     and simulator models as such.
Prints "N passed, M failed"."""
import os
import sys
import tempfile

import numpy as np
from ase.build import bulk

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kim_lammps_test as kl  # noqa: E402

RESULTS = []


def check(ok, what):
    RESULTS.append(bool(ok))
    print("ok  " if ok else "FAIL", what)


def eval_lines(tmp, model, frames, tag, each=False, threads=1, order=None):
    """The output lines of each frame (as text: bitwise comparison)."""
    path = os.path.join(tmp, tag + ".extxyz")
    order = order or list(range(len(frames)))
    kl.write_extxyz(path, [frames[k] for k in order])
    out = os.path.join(tmp, tag + ".out")
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    import subprocess
    subprocess.run([os.path.join(kl.tools_dir(), "kim_eval"), "eval", model, path, out, "0.5"] +
                   (["each"] if each else []), check=True, env=env)
    per = {}
    with open(out) as f:
        for line in f:
            w = line.split(None, 2)
            per.setdefault(order[int(w[1])], []).append(w[0] + " " + w[2])
    return per


def mixed_batch(tmp, model, rng):
    cases = kl.cu_cases(rng)
    frames = [c[1] for c in cases]
    big = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((4, 4, 4))
    frames.append((["Cu"] * len(big), big.cell[:].copy(), kl.perturb(rng, big.positions, 0.1), (1, 1, 1)))
    names = [c[0] for c in cases] + ["fcc 4x4x4"]
    alone = eval_lines(tmp, model, frames, "alone", each=True)
    for threads in (1, 2):
        for rev in (False, True):
            order = list(range(len(frames)))[::-1] if rev else None
            got = eval_lines(tmp, model, frames, "mixed%d%d" % (threads, rev), threads=threads, order=order)
            same = [got[k] == alone[k] for k in range(len(frames))]
            check(all(same), "mixed batch of %d systems (%s), %d thread(s)%s: every system bitwise as alone%s"
                  % (len(frames), ", ".join(names), threads, ", reversed order" if rev else "",
                     "" if all(same) else " — differs: %s" % [n for n, s in zip(names, same) if not s]))


def moving_system(tmp, model, rng):
    at = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((3, 3, 3))
    cell, base = at.cell[:].copy(), at.positions + 0.01
    skin = 1.0
    vel = rng.uniform(-0.07, 0.07, size=base.shape)  # Å per step
    drift = np.array([0.1, -0.08, 0.09])  # everything drifts across the cell faces
    frames = [(["Cu"] * len(base), cell, base + k * (vel + drift), (1, 1, 1)) for k in range(12)]
    path = os.path.join(tmp, "seq.extxyz")
    kl.write_extxyz(path, frames)
    kl.kim_eval("seq", model, path, os.path.join(tmp, "seq.out"), skin)
    seq = kl.parse_eval(os.path.join(tmp, "seq.out"), [len(base)] * len(frames))
    builds = int(open(os.path.join(tmp, "seq.out")).read().split("builds")[1])
    fresh = kl.run_batchmd(tmp, model, frames, skin=skin, each=True, tag="fresh")
    worst = 0.0
    for (E, F, W, _), (E0, F0, W0, _) in zip(seq, fresh):
        worst = max(worst, abs(E - E0) / abs(E0), np.abs(F - F0).max() / np.abs(F0).max(),
                    np.abs(W - W0).max() / np.abs(W0).max())
    # the two largest displacements since the last build vs the skin (the half list's rule, which the
    # padded set follows): how many rebuilds are due
    due, ref = 1, frames[0][2]
    for fr in frames[1:]:
        d = np.sort(np.linalg.norm(fr[2] - ref, axis=1))
        if d[-1] + d[-2] > skin:
            due += 1
            ref = fr[2]
    # the padded set's particles within range, their coordinates and order do not depend on when it was
    # built (src/neighbor/padded.h): a kept set gives a fresh one's bits
    check(worst == 0.0 and builds == due,
          "one system moved over %d steps in one slot (skin %g Å): %d list builds (expected %d), largest relative "
          "difference to fresh evaluations %.1e" % (len(frames), skin, builds, due, worst))


def refusals(tmp, model):
    ni = bulk("Cu", "fcc", a=3.615, cubic=True)
    sy = ["Cu", "Ni", "Cu", "Ag"]
    path = os.path.join(tmp, "ni.extxyz")
    kl.write_extxyz(path, [(sy, ni.cell[:].copy(), ni.positions, (1, 1, 1))])
    out = kl.kim_eval("check", model, path).stdout.strip()
    want = "model %s does not support species Ni, Ag (it supports Cu)" % model
    check(out == "refused 0 " + want, "species check: %r" % out)
    r = kl.kim_eval("eval", "No_Such_Model__MO_000000000000_000", path, os.path.join(tmp, "x.out"), check=False)
    check(r.returncode != 0 and "no KIM model named No_Such_Model__MO_000000000000_000 is installed" in r.stderr,
          "unknown model refused: %s" % r.stderr.strip())
    lst = kl.kim_eval("list").stdout.split("\n")
    sims = [line.split()[1] for line in lst if line.startswith("simulator ")]
    if sims:
        r = kl.kim_eval("eval", sims[0], path, os.path.join(tmp, "x.out"), check=False)
        check(r.returncode != 0 and "is a KIM simulator model" in r.stderr, "simulator model refused: %s"
              % r.stderr.strip())


def listing(model):
    lst = [line for line in kl.kim_eval("list", "details").stdout.split("\n") if line.startswith(("portable",
                                                                                                 "simulator"))]
    mine = [line for line in lst if line.split()[1] == model]
    ok = len(mine) == 1 and "species=Cu " in mine[0] and "energy=1 forces=1 virial=1" in mine[0]
    n_port = sum(line.startswith("portable") for line in lst)
    n_sim = len(lst) - n_port
    check(ok and n_port > 0, "listing: %d portable and %d simulator models; %s" % (n_port, n_sim,
                                                                                 mine[0] if mine else "model missing"))


def main():
    why = kl.skip_reason()
    if why:
        print("skipped: %s" % why)
        return kl.report(0, 0)
    model = kl.first_installed(kl.EAM_CU)
    if model is None:
        print("skipped: no EAM Cu KIM model installed")
        return kl.report(0, 0)
    rng = np.random.default_rng(99)
    with tempfile.TemporaryDirectory() as tmp:
        mixed_batch(tmp, model, rng)
        moving_system(tmp, model, rng)
        refusals(tmp, model)
        listing(model)
    return kl.report(sum(RESULTS), len(RESULTS) - sum(RESULTS))


if __name__ == "__main__":
    sys.exit(main())
