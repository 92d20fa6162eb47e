#!/usr/bin/python3
"""h5md_mdanalysis_test.py — `batchmd run`'s H5MD trajectory read by
MDAnalysis (Debian's python3-mdanalysis 2.4), checked against h5py's raw
arrays, final.extxyz read by ASE, and constants of their own.

Four systems (a rattled cubic Ar crystal, a triclinic primitive Ar cell, an
Ar slab periodic in x and y, an Ar cluster) run through two campaigns:
  A  relax (FIRE) + md (NVE), a frame every 4 of a system's own steps;
  B  md (Langevin) + relax (FIRE), every 3;
and a short lj-units MD run (C).

Each system is opened as its own MDAnalysis Universe, the way h5md.h
documents: a small view file whose /particles/trajectory, /h5md and
/observables are HDF5 external links to the system's groups in traj.h5
(MDAnalysis reads the first particle group of a file, and builds a
topology only from /particles/trajectory of a *.h5md file).

Asserted, per system and frame (A and B):
  - MDAnalysis' units: Angstrom, fs, Angstrom/ps, kJ/(mol*Angstrom);
  - positions, velocities and forces = h5py's raw arrays (MDAnalysis
    converts none of these units; its float32), box dimensions = ASE's
    cell_to_cellpar of the raw edges, time = raw time × 0.001 ps/fs, step
    and potential energy (ts.data, via /observables) = the raw ones;
  - steps: 0, every, 2 every, ... up to the system's own step total (from
    final.extxyz's steps_relax + steps_md), plus the total itself when it is
    not a multiple (its final state, written once);
  - times (fs): the MD steps taken × dt (final.extxyz's counts; a FIRE
    step adds no time), so relaxation frames carry the MD time before them;
  - the last frame is the system of final.extxyz (ASE): positions and cell
    bit for bit, potential energy, velocities = ASE's × ase.units.fs × 1000
    (Å/ps), forces = ASE's (eV/Å) × ASE's eV in kJ/mol (1/(kJ/mol)) and ×
    96.485332 to 8 digits;
  - the raw unit attributes are str (variable-length strings) for h5py.
C (lj): MDAnalysis opens it with convert_units=False, positions = raw;
with convert_units=True it refuses (ValueError: no units), as documented.
Prints "N passed, M failed"; exits 1 on any failure."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from testlib import Checks, run  # noqa: E402

import numpy as np  # noqa: E402
import h5py  # noqa: E402
import ase.io  # noqa: E402
import ase.units  # noqa: E402
from ase.build import bulk, fcc111  # noqa: E402
from ase.cluster import Icosahedron  # noqa: E402
from ase.geometry import cell_to_cellpar  # noqa: E402

import MDAnalysis as mda  # noqa: E402  (2.4 warns that xdrlib is deprecated: harmless)

SOURCE = os.environ.get("BATCHMD_SOURCE") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
H5MD_SYSTEM = os.path.join(os.path.abspath(SOURCE), "tools", "h5md-system")
EV_KJMOL = 1.0 / (ase.units.kJ / ase.units.mol)  # ASE's eV in kJ/mol

c = Checks()


def structures():
    crystal = bulk("Ar", "fcc", a=5.3, cubic=True).repeat((2, 2, 2))
    crystal.rattle(0.08, seed=1)
    tri = bulk("Ar", "fcc", a=5.3).repeat((2, 3, 2))  # primitive cell: 60° angles
    tri.rattle(0.08, seed=2)
    slab = fcc111("Ar", size=(2, 2, 3), a=5.3, vacuum=6.0)
    slab.pbc = (True, True, False)
    slab.info.pop("adsorbate_info", None)
    slab.rattle(0.08, seed=3)
    cluster = Icosahedron("Ar", 2)
    cluster.center(vacuum=8.0)
    cluster.pbc = False
    cluster.rattle(0.08, seed=4)
    return [crystal, tri, slab, cluster]


def open_system(traj, system_id, folder, **reader_options):
    """The documented way to open one system of a batchmd trajectory: a view
    file of external links made by tools/h5md-system, which MDAnalysis opens
    as any H5MD file (with reader options, e.g. convert_units=False, through
    Universe.empty and load_new: Universe() hands its keywords to the
    topology parser too). The view is made in `folder`, opened from another
    working directory: its links are relative to the view's folder."""
    view = os.path.join(folder, "system_%d.h5md" % system_id)
    r = subprocess.run([H5MD_SYSTEM, traj, str(system_id), "-o", view], capture_output=True, text=True, cwd="/")
    if r.returncode != 0 or r.stdout.strip() != view:
        raise RuntimeError("tools/h5md-system failed: %s %s" % (r.stdout, r.stderr))
    if not reader_options:
        return mda.Universe(view)
    with h5py.File(traj, "r") as f:
        n_atoms = f["particles/system_%d/position/value" % system_id].shape[1]
    u = mda.Universe.empty(n_atoms, trajectory=False)
    u.load_new(view, format="H5MD", **reader_options)
    return u


def campaign(d, name, stages, pipeline, every, units="metal"):
    model = ("{type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5, shift: true}" if units == "metal"
             else "{type: lj, epsilon: 1.0, sigma: 1.0, cutoff: 2.5, shift: true}")
    text = ("units: %s\nseed: 5\nmodel: %s\ninput: in_%s.extxyz\nstages:\n%spipeline: %s\n"
            "output:\n  final: %s/final.extxyz\n  trajectory: {file: %s/traj.h5, every: %d}\n  ordered: true\n"
            % (units, model, units, stages, pipeline, name, name, every))
    path = os.path.join(d, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    r = run("run", "--quiet", path)
    if r.returncode != 0 and "without HDF5" in r.stderr:
        print("h5md_mdanalysis_test: batchmd built without HDF5")
        print("0 passed, 0 failed (skipped: batchmd built without HDF5)")
        sys.exit(0)
    c.check(r.returncode == 0, "%s: run exit 0: %s" % (name, r.stderr))
    return os.path.join(d, name)


def expected_clock(kind, a, every, dt):
    """Own steps of the frames and their times (fs), from final.extxyz's counts."""
    relax, md = a.info["steps_relax"], a.info["steps_md"]
    total = relax + md
    steps = list(range(0, total + 1, every)) + ([total] if total % every else [])
    if kind == "A":  # relax, then md
        times = [max(0, s - relax) * dt for s in steps]
    else:  # md, then relax
        times = [min(s, md) * dt for s in steps]
    return steps, times


def check_metal(kind, out, folder, every, dt):
    final = ase.io.read(os.path.join(out, "final.extxyz"), ":")
    c.check(len(final) == 4, "%s: 4 systems in final" % kind)
    traj = os.path.join(out, "traj.h5")
    with h5py.File(traj, "r") as f:
        unit_types = {type(f["particles/system_0/%s" % p].attrs["unit"]) for p in
                      ("position/value", "position/time", "velocity/value", "force/value", "box/edges/value")}
        c.check(unit_types == {str}, "%s: unit attributes read as str by h5py: %s" % (kind, unit_types))
    relaxed = 0
    for a in final:
        sid = a.info["system_id"]
        t = "%s system %d" % (kind, sid)
        steps, times = expected_clock(kind, a, every, dt)
        relaxed += a.info["steps_relax"] > 0
        with h5py.File(traj, "r") as f:
            g = f["particles/system_%d" % sid]
            raw = {k: g[k + "/value"][()] for k in ("position", "velocity", "force", "box/edges")}
            raw_step, raw_time = g["position/step"][()], g["position/time"][()]
            raw_pe = f["system_observables/system_%d/potential_energy/value" % sid][()]
        c.check(list(raw_step) == steps, "%s: steps %s, want %s" % (t, list(raw_step), steps))
        c.check(np.array_equal(raw_time, times), "%s: times %s, want %s" % (t, list(raw_time), times))
        try:
            u = open_system(traj, sid, folder)
        except Exception as e:  # what MDAnalysis raises on a file it cannot read
            c.check(False, "%s: MDAnalysis opens it: %r" % (t, e))
            continue
        tr = u.trajectory
        c.check(tr.units == {"time": "fs", "length": "Angstrom", "velocity": "Angstrom/ps",
                             "force": "kJ/(mol*Angstrom)"}, "%s: MDAnalysis units %s" % (t, tr.units))
        c.check(len(u.atoms) == len(a) and tr.n_frames == len(steps),
                "%s: %d atoms, %d frames" % (t, len(u.atoms), tr.n_frames))
        bad = []
        for ts in tr:
            i = ts.frame
            if i >= len(raw_step):
                bad.append("frame %d beyond the raw arrays" % i)
                break
            for name, got in (("position", ts.positions), ("velocity", ts.velocities), ("force", ts.forces)):
                if not np.array_equal(got, raw[name][i].astype(np.float32)):
                    bad.append("%s of frame %d" % (name, i))
            if not np.allclose(ts.dimensions, cell_to_cellpar(raw["box/edges"][i]), rtol=2e-7, atol=1e-4):
                bad.append("dimensions of frame %d: %s vs %s" % (i, ts.dimensions, cell_to_cellpar(raw["box/edges"][i])))
            if not np.isclose(ts.time, raw_time[i] * 0.001, rtol=1e-15, atol=0):
                bad.append("time of frame %d: %r ps vs %r fs" % (i, ts.time, raw_time[i]))
            if ts.data.get("step") != raw_step[i] or ts.data.get("potential_energy") != raw_pe[i]:
                bad.append("step/potential_energy of frame %d" % i)
        c.check(not bad, "%s: MDAnalysis = h5py's raw arrays after its conversions: %s" % (t, bad[:4]))
        u.trajectory.close()
        # the last frame is the system of final.extxyz
        v_ase = a.get_velocities() * ase.units.fs * 1000.0  # Å/ps
        f_ase = a.get_forces()
        c.check(np.array_equal(raw["position"][-1], a.positions), "%s: last frame positions = final" % t)
        c.check(np.array_equal(raw["box/edges"][-1], a.cell[:]), "%s: last frame cell = final" % t)
        c.check(raw_pe[-1] == a.get_potential_energy(), "%s: last frame energy = final" % t)
        c.check(np.allclose(raw["velocity"][-1], v_ase, rtol=1e-12, atol=1e-12 * np.abs(v_ase).max()),
                "%s: last frame velocities (Å/ps) = final's × 1000 fs/ps" % t)
        c.check(np.allclose(raw["force"][-1], f_ase * EV_KJMOL, rtol=1e-12, atol=1e-12 * np.abs(f_ase).max()),
                "%s: last frame forces (kJ/(mol·Å)) = final's (eV/Å) × ASE's eV in kJ/mol" % t)
        c.check(np.allclose(raw["force"][-1], f_ase * 96.485332, rtol=1e-8, atol=1e-8 * np.abs(f_ase).max()),
                "%s: forces = final's × 96.485332 kJ/mol per eV" % t)
    c.check(relaxed == 4, "%s: every system took FIRE steps (%d)" % (kind, relaxed))


def main():
    with tempfile.TemporaryDirectory() as d:
        inputs = structures()
        ase.io.write(os.path.join(d, "in_metal.extxyz"), inputs)
        lj = []
        for a in inputs:
            b = a.copy()
            b.set_cell(a.cell[:] / 3.4, scale_atoms=True)
            lj.append(b)
        ase.io.write(os.path.join(d, "in_lj.extxyz"), lj)

        out = campaign(d, "A", "  relax: {type: fire, fmax: 0.005, max_steps: 200}\n"
                       "  md: {type: nve, dt: 2.0, steps: 13, init_temperature: 30}\n", "relax + md", 4)
        check_metal("A", out, out, 4, 2.0)
        out = campaign(d, "B", "  md: {type: nvt_langevin, dt: 1.5, temperature: 40, friction: 0.01, steps: 10,"
                       " init_temperature: 40}\n  relax: {type: fire, fmax: 0.005, max_steps: 200}\n",
                       "md + relax", 3)
        check_metal("B", out, out, 3, 1.5)

        # C: lj units: no unit attributes; MDAnalysis reads it without converting
        out = campaign(d, "C", "  md: {type: nve, dt: 0.005, steps: 6, init_temperature: 0.5}\n", "md", 3,
                       units="lj")
        traj = os.path.join(out, "traj.h5")
        with h5py.File(traj, "r") as f:
            c.check("parameters" in f and f["parameters"].attrs.get("units") in (b"lj", "lj"),
                    "C: /parameters says lj")
            g = f["particles/system_1"]
            c.check(all("unit" not in g[p].attrs for p in ("position/value", "position/time", "velocity/value",
                                                           "force/value", "box/edges/value")),
                    "C: no unit attributes in lj units")
            raw = g["position/value"][()]
        try:
            u = open_system(traj, 1, out, convert_units=False)
            same = [np.array_equal(ts.positions, raw[ts.frame].astype(np.float32)) for ts in u.trajectory]
            c.check(len(same) == 3 and all(same), "C: MDAnalysis (convert_units=False) positions = raw")
            u.trajectory.close()
        except Exception as e:
            c.check(False, "C: MDAnalysis opens it with convert_units=False: %r" % e)
        try:
            open_system(traj, 1, out)
            c.check(False, "C: MDAnalysis refuses lj units with convert_units=True")
        except ValueError:
            c.check(True, "")
    c.finish()


if __name__ == "__main__":
    main()
