#!/usr/bin/python3
"""`batchmd models --kim Cu Zr` lists the installed portable KIM models that
support every species named, and only those. Reference: LAMMPS's own KIM
interface (`kim init MODEL` + `kim interactions Cu Zr` refuses a species the
model lacks with "symbol not found"), asked about every model listed, every
model whose name carries both symbols, the universal ones, and a fixed
sample of the others (models with one of the two symbols, and the rest)
from `kim-api-collections-management list`. Simulator models, which batchmd
cannot run, are never listed."""
import os
import random
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

from testlib import Checks, run

SPECIES = ["Cu", "Zr"]
LMP_ENV = dict(os.environ, OMPI_MCA_btl="self", OMPI_MCA_pml="ob1", OMPI_MCA_ess_singleton_isolated="1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def lammps_supports(d, model):
    """(True/False from LAMMPS's kim interactions, or None when LAMMPS failed
    otherwise; LAMMPS's output). Each model in a folder of its own (KIM and
    LAMMPS write their logs into the working directory). A LAMMPS that fails
    without a verdict (seen once, for a model it loads fine otherwise, in a
    fresh clone's ASan ctest -j2) is asked once more; a second failure is
    reported with its output."""
    work = os.path.join(d, model)
    os.makedirs(work, exist_ok=True)
    for _ in range(2):
        r = subprocess.run(["lmp", "-in", os.path.join(d, "in.lmp"), "-var", "m", model, "-log", "none", "-nocite"],
                           cwd=work, env=LMP_ENV, capture_output=True, text=True, timeout=120)
        text = r.stdout + r.stderr
        if r.returncode == 0:
            return True, text
        if "symbol not found" in text:
            return False, text
    return None, "exit %d: %s" % (r.returncode, text[-1500:])


c = Checks()
r = run("models", "--kim", *SPECIES)
c.check(r.returncode == 0, "models --kim %s: exit 0: %s" % (" ".join(SPECIES), r.stderr))
head = "supporting %s:" % " ".join(SPECIES)
c.check(head in r.stdout, "the listing says what it filters on")
section = r.stdout[r.stdout.find(head):]
listed = re.findall(r"^  (\S+__MO_\d+_\d+)\s+species (.*?)\s+forces", section, re.M)
names = [n for n, _ in listed]
footer = re.search(r"^  \((\d+) models?; simulator models", section, re.M)
c.check(footer is not None and int(footer.group(1)) == len(listed), "the closing count matches the models listed")
c.check("__SM_" not in section, "no simulator model listed")
for n, sp in listed:
    c.check(all(s in sp.split() for s in SPECIES), "%s lists species %s, which holds %s" % (n, sp, SPECIES))

out = subprocess.run(["kim-api-collections-management", "list"], capture_output=True, text=True).stdout
installed = sorted(set(re.findall(r"^\s+(\S+__MO_\d+_\d+)\s*$", out, re.M)))
c.check(set(names) <= set(installed), "every model listed is installed: %s" % (set(names) - set(installed)))
both = [m for m in installed if all(s in m.split("__MO_")[0] for s in SPECIES)]
universal = [m for m in installed if "Universal_" in m or "Universal__" in m]
rnd = random.Random(14)
one = [m for m in installed if m not in both and any(s in m for s in SPECIES)]
rest = [m for m in installed if m not in both and m not in one]
asked = sorted(set(names) | set(both) | set(universal) | set(rnd.sample(one, min(6, len(one))))
               | set(rnd.sample(rest, min(4, len(rest)))))
c.check(len(names) >= 3 and len(asked) > len(names), "enough models to compare: %d listed, %d asked" % (len(names), len(asked)))
with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "in.lmp"), "w") as f:
        f.write("kim init ${m} metal\nboundary p p p\nregion b block 0 20 0 20 0 20\ncreate_box %d b\n"
                "kim interactions %s\n" % (len(SPECIES), " ".join(SPECIES)))
    with ThreadPoolExecutor(2) as pool:
        verdicts = dict(zip(asked, pool.map(lambda m: lammps_supports(d, m), asked)))
for m, (ok, text) in verdicts.items():
    c.check(ok is not None, "LAMMPS loads %s: %s" % (m, text))
    if ok is not None:
        c.check(ok == (m in names), "%s: LAMMPS says %s %s, batchmd %s it" % (
            m, "supports" if ok else "lacks", " ".join(SPECIES), "lists" if m in names else "does not list"))
c.finish()
