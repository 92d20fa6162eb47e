"""docs/campaign.md documents every key the campaign reader accepts, and no
key it refuses.

The accepted keys are not read from the source: they are asked of the
reader itself. For every mapping of the campaign (the top level, each model
type, each dynamics type, batch, output, ...) the test writes a valid
campaign with an extra key `zz_probe` in that mapping and runs `batchmd
validate`; the reader refuses it with "unknown key 'zz_probe' (expected one
of: ...)", which lists what it accepts there. The model and dynamics types
are taken the same way from the reader's "unknown model type" and "unknown
dynamics" messages. Nested mappings are found by probing each accepted key
with a mapping value: a key whose mapping is refused for an unknown key is
itself a mapping and must have its own table.

The documented keys come from the tables of docs/campaign.md, each preceded
by a `<!-- keys: CONTEXT -->` marker; the first cell of each row is the key.

Also checked: every literal status reason the library gives a failed
system (bmd_stage_fail(..., "reason")) is in the status table, and the log's
header columns (metal and lj) are in the log table."""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from testlib import Checks, run  # noqa: E402

SOURCE = os.environ.get("BATCHMD_SOURCE") or os.path.join(os.path.dirname(__file__), "..", "..")
DOC = os.path.join(SOURCE, "docs", "campaign.md")
PROBE = "zz_probe"

INPUT = """2
Lattice="10 0 0 0 10 0 0 0 10" Properties=species:S:1:pos:R:3 pbc="T T T"
Ar 0 0 0
Ar 3.8 0 0
"""

# A valid value of every mapping the probe enters, as YAML flow text; the
# probe key is added inside. Model types need their required keys only after
# the key check, so {type: T} is enough for them.
BASE = {
    "units": "metal",
    "model": "{type: lj, epsilon: 0.0104, sigma: 3.4, cutoff: 8.5}",
    "input": "in.extxyz",
    "stages": "{md: {type: nve, dt: 1, steps: 1}}",
}


def campaign_text(overrides):
    root = dict(BASE)
    root.update(overrides)
    return "".join("%s: %s\n" % (k, v) for k, v in root.items())


def validate(tmp, overrides):
    path = os.path.join(tmp, "c.yaml")
    with open(path, "w") as f:
        f.write(campaign_text(overrides))
    r = run("validate", path)
    return r.returncode, r.stderr


def accepted_keys(tmp, overrides):
    """The keys the reader lists as expected where the probe key stands."""
    rc, err = validate(tmp, overrides)
    m = re.search(r"unknown key '%s' \(expected one of: ([^)]*)\)" % PROBE, err)
    if rc != 2 or not m:
        return None, err
    return [k.strip() for k in m.group(1).split(",")], err


def flow(d):
    return "{" + ", ".join("%s: %s" % kv for kv in d.items()) + "}"


def types_from_error(tmp, overrides, pattern):
    rc, err = validate(tmp, overrides)
    m = re.search(pattern, err)
    if not m:
        return None, err
    return [t for t in re.split(r",\s*|\s+or\s+", m.group(1)) if t], err


def documented():
    """{context: [keys]} from the marked tables of docs/campaign.md."""
    out = {}
    lines = open(DOC, encoding="utf-8").read().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"<!-- keys: (\S+) -->", lines[i].strip())
        i += 1
        if not m:
            continue
        keys = []
        while i < len(lines) and not lines[i].startswith("|"):
            i += 1
        rows = 0
        while i < len(lines) and lines[i].startswith("|"):
            rows += 1
            cell = lines[i].split("|")[1].strip()
            km = re.fullmatch(r"`([^`]+)`", cell)
            if rows > 2 and km:  # header and rule first
                keys.append(km.group(1))
            i += 1
        out[m.group(1)] = keys
    return out


def main():
    c = Checks()
    doc = documented()
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "in.extxyz"), "w") as f:
            f.write(INPUT)
        rc, err = validate(tmp, {})
        c.check(rc == 0, "the base campaign is valid: %s" % err)

        # contexts: name -> a function that puts a mapping (dict of YAML texts) there
        contexts = {
            "campaign": lambda m: m,
            "batch": lambda m: {"batch": flow(m)},
            "output": lambda m: {"output": flow(m)},
            "quarantine": lambda m: {"quarantine": flow(m)},
        }
        model_types, err = types_from_error(tmp, {"model": "{type: %s}" % PROBE},
                                            r"unknown model type '%s' \(expected ([^)]*)\)" % PROBE)
        c.check(model_types and len(model_types) >= 5, "model types from the reader: %s" % err)
        for t in model_types or []:
            contexts["model[%s]" % t] = lambda m, t=t: {"model": flow(dict({"type": t}, **m))}
        dyn_types, err = types_from_error(tmp, {"stages": "{s: {type: %s}}" % PROBE},
                                          r"unknown dynamics '%s' \(expected one of: ([^)]*)\)" % PROBE)
        c.check(dyn_types and len(dyn_types) >= 5, "dynamics types from the reader: %s" % err)
        for t in dyn_types or []:
            contexts["stages[%s]" % t] = lambda m, t=t: {"stages": flow({"s": flow(dict({"type": t}, **m))})}

        probed = {}
        pending = list(contexts.items())
        while pending:
            name, place = pending.pop(0)
            keys, err = accepted_keys(tmp, place({PROBE: 1}))
            c.check(keys is not None, "%s: the reader names the keys it accepts: %s" % (name, err.strip()))
            if keys is None:
                continue
            probed[name] = keys
            # nested mappings: a key whose mapping value is refused for an unknown key
            for k in keys:
                if k == "type":
                    continue
                for value in ("{%s: 1}" % PROBE, "[{%s: 1}]" % PROBE):
                    inner, _ = accepted_keys(tmp, place({k: value}))
                    if inner is not None:
                        base = name.split("[")[0]
                        sub = ("" if base == "campaign" else base + ".") + k
                        if "[" in name and base == "model":
                            sub += name[name.index("["):]
                        if sub not in probed and all(sub != p for p, _ in pending) and sub not in contexts:
                            wrap = (lambda v, place=place, k=k, seq=value.startswith("["):
                                    place({k: "[" + flow(v) + "]" if seq else flow(v)}))
                            pending.append((sub, wrap))
                            contexts[sub] = wrap
                        break

        for name, keys in sorted(probed.items()):
            docd = doc.get(name)
            c.check(docd is not None, "docs/campaign.md has a table marked <!-- keys: %s --> (keys: %s)"
                    % (name, ", ".join(keys)))
            if docd is None:
                continue
            missing = [k for k in keys if k not in docd]
            extra = [k for k in docd if k not in keys]
            c.check(not missing, "%s: accepted by the reader, not documented: %s" % (name, missing))
            c.check(not extra, "%s: documented, refused by the reader: %s" % (name, extra))
        stale = sorted(set(doc) - set(probed))
        c.check(not stale, "docs/campaign.md marks tables no mapping of the reader has: %s" % stale)
        c.check(len(probed) >= 20, "probed %d mappings: %s" % (len(probed), sorted(probed)))

        # the log's header, metal and lj
        for units in ("metal", "lj"):
            log = os.path.join(tmp, "log-%s.csv" % units)
            path = os.path.join(tmp, "c.yaml")
            with open(path, "w") as f:
                f.write(campaign_text({"units": units, "model": "{type: lj, epsilon: 1, sigma: 1, cutoff: 2.5}",
                                       "output": "{final: f.extxyz, failed: x.extxyz, log: %s}" % log}))
            r = run("run", "-q", path)
            c.check(r.returncode == 0, "run (%s) for the log header: %s" % (units, r.stderr))
            if r.returncode == 0:
                header = open(log).readline().strip().split(",")
                text = open(DOC, encoding="utf-8").read()
                log_table = text[text.index("### log"):text.index("### trajectory")]
                for col in header:
                    c.check("`%s`" % col in log_table, "log column %s (%s units) is documented" % (col, units))

    # every literal reason given to bmd_stage_fail is in the status table
    text = open(DOC, encoding="utf-8").read()
    table = text[text.index("## Status of a system"):text.index("## Temperature")]
    reasons = set()
    for root, _, files in os.walk(os.path.join(SOURCE, "src")):
        for fn in files:
            if fn.endswith(".c"):
                src = open(os.path.join(root, fn), encoding="utf-8").read()
                reasons |= set(re.findall(r'bmd_stage_fail\([^;]*?"([a-z_]+)"', src))
                reasons |= set(re.findall(r'why = "([a-z_]+)"', src))
    c.check(len(reasons) >= 8, "status reasons found in src: %s" % sorted(reasons))
    generic = [line for line in table.splitlines() if line.startswith("| `invalid_param_<name>`")]
    for r in sorted(reasons):
        # invalid_param_<name>: a row of its own, or <name> in the generic row
        param = r[len("invalid_param_"):] if r.startswith("invalid_param_") else None
        ok = "`%s`" % r in table or (param and generic and "`%s`" % param in generic[0])
        c.check(ok, "status %s is documented" % r)
    c.finish()


if __name__ == "__main__":
    main()
