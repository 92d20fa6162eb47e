#!/usr/bin/python3
"""batchmd's OpenKIM model inside ASE's own tools, through bmd.Calculator.

bmd.Calculator(model) is an ASE calculator backed by any batchmd model; here
the KIM model EAM_Dynamo_MishinMehlPapaconstantopoulos_2001_Cu (installed
with the KIM API collections) serves:
  1. the cohesive energy and the stress of perfect fcc copper (3x3x3 cubic
     cells, 108 atoms, a = 3.615 Å);
  2. the vacancy formation energy: ASE's BFGS relaxes the cell with one atom
     removed, E_f = E(N-1) - (N-1) E_coh;
  3. the vacancy's migration barrier: ASE's nudged elastic band (climbing
     image, 3 images, ASE's FIRE) between the vacancy and its nearest
     neighbour site.
Mishin et al. (Phys. Rev. B 63, 224106, 2001) give for this potential
E_coh = -3.54 eV, E_f = 1.27 eV and a migration energy of 0.69 eV.

Run: PYTHONPATH=build/python /usr/bin/python3 examples/python/kim_ase.py
(after `make`; needs the KIM API and its model collection, which
scripts/install-deps installs)."""
import numpy as np
from ase.build import bulk
from ase.neb import NEB
from ase.optimize import BFGS, FIRE

import batchmd as bmd

KIM_NAME = "EAM_Dynamo_MishinMehlPapaconstantopoulos_2001_Cu__MO_346334655118_005"
model = bmd.models.KIM(KIM_NAME)

# 1. perfect crystal
perfect = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((3, 3, 3))
perfect.calc = bmd.Calculator(model)
e_coh = perfect.get_potential_energy() / len(perfect)
stress = perfect.get_stress()  # eV/Å³, Voigt, ASE's sign
print("cohesive energy       %9.4f eV/atom   (Mishin 2001: -3.54)" % e_coh)
print("stress at a = 3.615 Å %9.2e eV/Å³ (max |component|: the lattice constant is the potential's)"
      % np.abs(stress).max())

# 2. vacancy formation: remove atom 0, relax with ASE's BFGS
j = 1 + int(np.argmin(perfect.get_distances(0, range(1, len(perfect)), mic=True)))  # a nearest neighbour of 0
initial = perfect.copy()
final = perfect.copy()
final.positions[j] = perfect.positions[0]  # the neighbour hops into the vacancy left at site 0
del initial[0]
del final[0]
for image in (initial, final):
    image.calc = bmd.Calculator(model)
    BFGS(image, logfile=None).run(fmax=0.01)
e_f = initial.get_potential_energy() - len(initial) * e_coh
print("vacancy formation     %9.4f eV        (Mishin 2001: 1.27)" % e_f)

# 3. vacancy migration: climbing-image NEB with ASE's FIRE
images = [initial] + [initial.copy() for _ in range(3)] + [final]
for image in images[1:-1]:
    image.calc = bmd.Calculator(model)
neb = NEB(images, climb=True)
neb.interpolate(mic=True)
opt = FIRE(neb, logfile=None)
converged = opt.run(fmax=0.02, steps=500)
path = np.array([im.get_potential_energy() for im in images]) - images[0].get_potential_energy()
print("NEB (%d FIRE steps, %s) energies along the path, eV: %s"
      % (opt.nsteps, "converged" if converged else "NOT converged", " ".join("%.3f" % e for e in path)))
print("vacancy migration     %9.4f eV        (Mishin 2001: 0.69)" % path.max())
assert converged
