#!/usr/bin/python3
"""The benchmark table of `make bench` (bench/run-all): reads the raw CSV
lines each benchmark script printed (one file per script in RAW_DIR, named
after it) and prints one table and writes it as CSV:

    case,unit,batchmd,peer_name,peer,ratio,atom_steps_per_s,peak_MiB,KiB_per_atom,notes

  batchmd, peer  the figure of each in `unit` (s: wall time of the same run;
                 ms/structure; atom-steps/s; ns/atom-step)
  ratio          batchmd's speedup over the peer (> 1: batchmd faster)
  atom_steps_per_s, peak_MiB, KiB_per_atom   batchmd's (peak RSS of the
                 whole process; per atom of its largest live batch)

usage: bench/table.py RAW_DIR OUT.csv
       bench/table.py --markdown results.csv   (the table for the README)"""
import csv
import math
import os
import re
import sys

COLS = ["case", "unit", "batchmd", "peer_name", "peer", "ratio", "atom_steps_per_s", "peak_MiB", "KiB_per_atom",
        "notes"]


def num(x):
    try:
        v = float(x)
        return v if math.isfinite(v) else None
    except (TypeError, ValueError):
        return None


def lines(raw, name):
    path = os.path.join(raw, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [r for r in csv.reader(f) if r and not r[0].startswith("#")]


def in_lj(raw, name):
    out = []
    rows = lines(raw, name)
    if not rows:
        return out
    case, bname, bwall, brate, brss = rows[0][:5]
    atoms = int(re.search(r"(\d+) atoms", case).group(1))
    short = re.sub(r" (\d+) steps", r", \1 steps,", case.replace("in.lj metal", "in.lj"))
    for r in rows[1:]:
        pwall, prss, builds = num(r[2]), num(r[4]), r[5] if len(r) > 5 else ""
        notes = []
        if prss:
            notes.append("peer peak %.0f MiB" % prss)
        if builds:
            notes.append("peer list builds %s" % builds)
        out.append(dict(case=short, unit="s", batchmd=num(bwall), peer_name=r[1], peer=pwall,
                        ratio=pwall / num(bwall) if pwall and num(bwall) else None, atom_steps_per_s=num(brate),
                        peak_MiB=num(brss), KiB_per_atom=num(brss) * 1024 / atoms if num(brss) else None,
                        notes="; ".join(notes)))
    return out


def fire(raw, name):
    rows = lines(raw, name)
    if len(rows) < 2:
        return []
    b, a = rows[0], rows[1]
    bms, ams = 1000 / num(b[3]), 1000 / num(a[3])
    peak_atoms = num(b[7]) if len(b) > 7 else None
    return [dict(case=b[0], unit="ms/structure", batchmd=bms, peer_name=a[1], peer=ams, ratio=ams / bms,
                 atom_steps_per_s=num(b[6]) if len(b) > 6 else None, peak_MiB=num(b[4]),
                 KiB_per_atom=num(b[4]) * 1024 / peak_atoms if num(b[4]) and peak_atoms else None,
                 notes="identical FIRE step counts %s" % b[5])]


def python_overhead(raw, name):
    """bench/python_overhead.py: the Python-driven quickstart against
    `batchmd run`, and the bridge's time per step outside the model."""
    out = []
    for r in lines(raw, name):
        if r[0] == "python_overhead":
            variant, py, cmd, pct, pymed, cmdmed, pyloop, cmdloop, pycpu, cmdcpu = r[1:11]
            out.append(dict(case="quickstart from Python (%s)" % variant, unit="s", batchmd=num(py),
                            peer_name="batchmd run", peer=num(cmd), ratio=num(cmd) / num(py),
                            atom_steps_per_s=None, peak_MiB=None, KiB_per_atom=None,
                            notes="overhead %+.1f%% (target < 3%%); medians %s vs %s s; run loop %s vs %s s; "
                                  "CPU %s vs %s s" % (num(pct), pymed, cmdmed, pyloop, cmdloop, pycpu, cmdcpu)))
        elif r[0] == "bridge":
            model, atoms, model_ms, outside_ms, pct, nb_ms, int_ms, bridge_ms, bpct = r[1:10]
            has_model = num(pct) is not None
            notes = "edges %.3f + integrate %.3f + bridge and flow %.3f ms/step" % (num(nb_ms), num(int_ms),
                                                                                 num(bridge_ms))
            if has_model:
                notes = "outside = %.1f%% of the model's time: %s (bridge and flow %.1f%%; target < 5%% for " \
                        "models >= 1 ms/step)" % (num(pct), notes, num(bpct))
            out.append(dict(case="bridge: %s, %s atoms" % (model, atoms), unit="ms/step outside the model",
                            batchmd=num(outside_ms), peer_name="the model's own" if has_model else "",
                            peer=num(model_ms) if has_model else None, ratio=None, atom_steps_per_s=None,
                            peak_MiB=None, KiB_per_atom=None, notes=notes))
    return out


def torch_vs_ase(raw, name):
    rows = lines(raw, name)
    if len(rows) < 2:
        return []
    b, a = rows[0], rows[1]
    bms, ams = 1000 / num(b[3]), 1000 / num(a[3])
    return [dict(case=b[0], unit="ms/structure", batchmd=bms, peer_name=a[1], peer=ams, ratio=ams / bms,
                 atom_steps_per_s=num(b[5]), peak_MiB=None, KiB_per_atom=None,
                 notes="identical FIRE step counts %s; target ratio >= 20; CPU-time ratio %.1f"
                       % (b[4], (num(a[7]) / num(a[3]) / num(a[2])) / (num(b[7]) / num(b[3]) / num(b[2]))
                          if len(a) > 7 and len(b) > 7 and num(a[7]) and num(b[7]) else float("nan")))]


def npt(raw, name):
    """bench/npt_lj.py --csv: case, ms/step batchmd, ms/step LAMMPS, list
    builds of each, final densities, atom-steps/s."""
    out = []
    for r in lines(raw, name):
        b, p = num(r[1]), num(r[2])
        out.append(dict(case=r[0], unit="ms/step", batchmd=b, peer_name="lmp fix npt", peer=p,
                        ratio=p / b if b and p else None, atom_steps_per_s=num(r[7]), peak_MiB=None,
                        KiB_per_atom=None,
                        notes="list builds %s vs LAMMPS %s; final density %s vs %s" % (r[3], r[4], r[5], r[6])))
    return out


def pipeline(raw, name):
    rows = lines(raw, name)
    fused = [r for r in rows if r[1] == "batchmd-1rank"]
    if not fused:
        return []
    frate = num(fused[0][3])
    out = []
    for r in rows:
        if r[1] == "batchmd-1rank":
            continue
        rate = num(r[3])
        out.append(dict(case="pipeline eq|prod, 2 ranks (%s)" % r[1].split("-")[-1], unit="atom-steps/s",
                        batchmd=rate, peer_name="fused eq+prod, 1 rank", peer=frate,
                        ratio=rate / frate if rate and frate else None, atom_steps_per_s=rate, peak_MiB=None,
                        KiB_per_atom=None, notes=r[5] if len(r) > 5 else ""))
    return out


def sweep(raw, name):
    out, first = [], {}
    for r in lines(raw, name):
        kind, case, atoms, systems, steps, cost_ns, cpu_ns, run_ns, rss, kib, split, list_every = r[:12]
        cost_ns = float(cost_ns)
        first.setdefault(kind, cost_ns)
        out.append(dict(case="sweep: " + case, unit="ns/atom-step", batchmd=cost_ns, peer_name="", peer=None,
                        ratio=None, atom_steps_per_s=1e9 / float(run_ns), peak_MiB=float(rss),
                        KiB_per_atom=float(kib),
                        notes="%+.1f%% vs the smallest; step timers over steps %s, neighbor/force/integrate %s; "
                              "process CPU time %s ns; a list build every %s steps of a system" %
                              (100 * (cost_ns / first[kind] - 1), steps, split, cpu_ns, list_every)))
    return out


def fmt(v, unit=None):
    if v is None or v == "":
        return ""
    if isinstance(v, str):
        return v
    if unit == "atom-steps/s" or abs(v) >= 1e5:
        return "%.3g" % v
    return "%.3g" % v if abs(v) < 100 else "%.0f" % v


def markdown(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    print("| case | unit | batchmd | peer | ratio | atom-steps/s | peak MiB | KiB/atom | notes |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        peer = fmt(num(r["peer"])) + (" (%s)" % r["peer_name"] if r["peer_name"] else "")
        notes = r["notes"].split("; wall step timers")[0]  # the README keeps the short part
        print("| %s |" % " | ".join([r["case"].replace("|", "\\|"), r["unit"], fmt(num(r["batchmd"])), peer,
                                      fmt(num(r["ratio"])), fmt(num(r["atom_steps_per_s"]), "atom-steps/s"),
                                      fmt(num(r["peak_MiB"])), fmt(num(r["KiB_per_atom"])), notes]))


def main():
    if sys.argv[1] == "--markdown":
        return markdown(sys.argv[2])
    raw, out_csv = sys.argv[1], sys.argv[2]
    rows = (in_lj(raw, "in_lj_T1.csv") + in_lj(raw, "in_lj_T2.csv") + fire(raw, "fire_ase.csv") +
            pipeline(raw, "pipeline.csv") + sweep(raw, "sweep.csv") + python_overhead(raw, "python_overhead.csv") +
            torch_vs_ase(raw, "torch_vs_ase.csv") + npt(raw, "npt_lj.csv"))
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLS)
        for r in rows:
            w.writerow(["" if r[k] is None else ("%.6g" % r[k] if isinstance(r[k], float) else r[k]) for k in COLS])
    head = ["case", "unit", "batchmd", "peer", "ratio", "atom-steps/s", "peak MiB", "KiB/atom", "notes"]
    table = [head]
    for r in rows:
        peer = fmt(r["peer"]) + (" (%s)" % r["peer_name"] if r["peer_name"] else "")
        table.append([r["case"], r["unit"], fmt(r["batchmd"]), peer, fmt(r["ratio"]), fmt(r["atom_steps_per_s"],
                      "atom-steps/s"), fmt(r["peak_MiB"]), fmt(r["KiB_per_atom"]), r["notes"]])
    width = [max(len(t[i]) for t in table) for i in range(len(head))]
    for k, t in enumerate(table):
        print("  ".join(c.ljust(width[i]) for i, c in enumerate(t)).rstrip())
        if k == 0:
            print("  ".join("-" * width[i] for i in range(len(head))))


if __name__ == "__main__":
    main()
