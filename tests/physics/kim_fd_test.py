#!/usr/bin/python3
"""kim_fd_test.py — the KIM model's forces against central differences of its
energy (step 1e-5 Å), its virial against central differences of the energy
under a symmetric strain (checks KIM's partialVirial sign and Voigt order
against model.h's W_ab = dE/dε_ab), and Σ_i E_i = E, on the structures of
kim_lammps_test.py (bulk with a vacancy, cells smaller than the cutoff, a
slab, a cluster) for an EAM Cu, a SNAP Cu (the first 4 atoms of each
structure: SNAP is slow), a Stillinger-Weber Si, a Tersoff Si (neighbors of
ghosts), a three-body Si model without partialVirial (batchmd's own virial)
and a Lennard-Jones Ar model that requires energy and forces and offers no
per-atom energies (then E_i must be NaN).
Tolerance: 1e-6 of the largest force / virial component (1 eV/Å or 1 eV when
those are ~0, as in a 1-atom cell); |E - Σ E_i| < 1e-9 eV. Driven by
tests/tools/kim_eval fd. Prints "N passed, M failed"."""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kim_lammps_test as kl  # noqa: E402

# no partialVirial: batchmd's virial is -Σ x ⊗ F over the padded set
NO_VIRIAL_SI = ["MFF_MistriotisFlytzanisFarantos_1989_Si__MO_080526771943_001"]
# partialEnergy and partialForces "required", no per-particle energy (E_i are NaN)
REQUIRED_AR = ["LennardJones_Ar"]


def main():
    why = kl.skip_reason()
    if why:
        print("skipped: %s" % why)
        return kl.report(0, 0)
    rng = np.random.default_rng(4242)
    plan = [(kl.EAM_CU, kl.cu_cases, 0), (kl.SNAP_CU, kl.cu_cases, 4), (kl.SW_SI, kl.si_cases, 0),
            (kl.TERSOFF_SI, kl.si_cases, 0), (NO_VIRIAL_SI, kl.si_cases, 0), (REQUIRED_AR, kl.ar_cases, 0)]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for candidates, cases_of, maxatoms in plan:
            model = kl.first_installed(candidates)
            if model is None:
                print("note: none of %s installed; skipped" % candidates)
                continue
            cases = cases_of(rng)
            path = os.path.join(tmp, model + ".extxyz")
            kl.write_extxyz(path, [c[1] for c in cases])
            out = kl.kim_eval("fd", model, path, 1e-5, maxatoms).stdout.split("\n")
            rows = [line.split() for line in out if line.startswith("fd ")]
            assert len(rows) == len(cases), out
            for (name, *_), row in zip(cases, rows):
                ferr, fbig, werr, wbig, eerr = (float(x) for x in row[2:7])
                rf, rw = ferr / max(fbig, 1.0 if fbig < 1e-9 else fbig), werr / max(wbig, 1.0 if wbig < 1e-9 else wbig)
                ok = rf <= 1e-6 and rw <= 1e-6 and (eerr < 1e-9 or (candidates is REQUIRED_AR and np.isnan(eerr)))
                line = "%s %s: force vs FD %.1e, virial vs strain FD %.1e (relative), |E - sum E_i| %.1e eV" % (
                    model.split("__")[0], name, rf, rw, eerr)
                print("ok  " if ok else "FAIL", line)
                passed += ok
                failed += not ok
    return kl.report(passed, failed)


if __name__ == "__main__":
    sys.exit(main())
