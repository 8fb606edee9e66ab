#!/usr/bin/env python3
"""The registry of simulated arrays, for start-arrays and test/sim/world.

A fake is a module <name>.py in this directory with a module-level
`FAKE = common.Descriptor(...)` (see common.Descriptor); nothing else names
the fakes, so adding a vendor is adding its module.

  fakes.py list                      the fakes' names, in start order
  fakes.py show NAME                 sh assignments: f_product f_env f_sessions
                                     f_prism_spec (absolute, may not exist)
                                     f_prism_dir f_response_spec (absolute, may
                                     not exist; empty when the fake has none)
  fakes.py args NAME                 its extra command-line arguments, one a line
  fakes.py default-seed NAME FILE    writes its default seed unless FILE has one
  fakes.py env NAME ADIR HOST DIRECT PRISM [SPEC]  (and WORLD_<KEY> lines of vendor_keys)
                                     the WORLD_<ENV>_* lines start-arrays exports
                                     (ADIR: DIR/arrays; HOST: host:port clients
                                     use; DIRECT: the fake's own host:port;
                                     PRISM: 1 when Prism is in front, else 0;
                                     SPEC: 1 when the fake checks its answers
                                     against its response_spec, else 0).  A fake
                                     with a response_spec gets SPEC_LOG: its
                                     violation log, empty when SPEC is 0
  fakes.py world-seed NAME FILE --fabric F --size N [--fc X] [--vvol X] [--rdm X]
      [--mx-vvols "ID=BYTES ..."] [--mx-rdms "NAA=BYTES ..."]  (test matrix sources)
                                     writes the world's seed for it to FILE and
                                     prints its WORLD_<ENV>_* facts (KEY=value)
  fakes.py default-storage           the fake whose array STORAGE_* names

Knob: WORLD_<ENV>_PASS in the environment replaces the password a fake
accepts (its --password argument and its WORLD_<ENV>_PASSWORD fact), so a
test can give an array a hostile password (quotes, &<>%\\:, non-ASCII); it
must not contain a newline or end with '='.

Standard library only.
"""

import argparse
import importlib
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402

SPECS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "..", "shared", "vendor-specs"))


def registry():
    out = []
    for f in sorted(os.listdir(HERE)):
        if not f.endswith(".py") or f in ("common.py", "fakes.py"):
            continue
        with open(os.path.join(HERE, f)) as fh:
            if not re.search(r"^FAKE = ", fh.read(), re.M):
                continue
        mod = importlib.import_module(f[:-3])
        if isinstance(getattr(mod, "FAKE", None), common.Descriptor):
            out.append(with_knobs(mod.FAKE))
    return sorted(out, key=lambda d: (d.order, d.name))


def with_knobs(d):
    """d with the password WORLD_<ENV>_PASS names, when set (see the knob above)."""
    pw = os.environ.get("WORLD_%s_PASS" % d.env)
    if not pw:
        return d
    if "\n" in pw or pw.endswith("="):
        raise SystemExit("fakes.py: WORLD_%s_PASS must not hold a newline or end with '='" % d.env)
    if "--password" not in d.args:
        raise SystemExit("fakes.py: the %s fake takes no --password" % d.name)
    i = d.args.index("--password")
    d.args[i + 1] = pw
    d.env_facts = [(k, pw if k == "PASSWORD" else v) for k, v in d.env_facts]
    return d


def get(name):
    for d in registry():
        if d.name == name:
            return d
    raise SystemExit("fakes.py: no fake named %r" % name)


def spec_log(adir, d):
    """The file a fake's answer-violations go to (start-arrays passes it)."""
    return os.path.join(adir, d.name, "spec-violations.jsonl")


def shq(s):
    return "'" + str(s).replace("'", "'\\''") + "'"


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    cmd, rest = argv[0], argv[1:]
    if cmd == "list":
        for d in registry():
            print(d.name)
    elif cmd == "show":
        d = get(rest[0])
        spec = os.path.join(SPECS, d.prism_spec) if d.prism_spec else ""
        rspec = os.path.join(SPECS, d.response_spec) if d.response_spec else ""
        for k, v in (("f_product", d.product), ("f_env", d.env), ("f_sessions", int(d.sessions)),
                     ("f_prism_spec", spec), ("f_prism_dir", d.prism_dir), ("f_response_spec", rspec)):
            print("%s=%s" % (k, shq(v)))
    elif cmd == "args":
        for a in get(rest[0]).args:
            print(a)
    elif cmd == "default-seed":
        d, path = get(rest[0]), rest[1]
        if not (os.path.exists(path) and os.path.getsize(path) > 0):
            with open(path, "w") as f:
                f.write(json.dumps(d.default_seed, separators=(",", ":")) + "\n")
    elif cmd == "env":
        d = get(rest[0])
        adir, host, direct, prism = rest[1:5]
        checked = len(rest) > 5 and rest[5] == "1"
        p = "WORLD_%s_" % d.env
        lines = [(p + "HOSTNAME", host)]
        if d.prism_spec:
            lines.append((p + "DIRECT", direct))
        lines += [(p + k, v) for k, v in d.env_facts]
        vd = os.path.join(adir, d.name)
        lines += [(p + "STATE", vd + "/state.json"), (p + "CALLS", vd + "/calls.jsonl"),
                  (p + "FAULTS", vd + "/faults")]
        if d.prism_spec:
            lines += [(p + "PRISM", prism), (p + "PRISM_LOG", os.path.join(adir, d.prism_dir, "log"))]
        if d.response_spec:
            lines.append((p + "SPEC_LOG", spec_log(adir, d) if checked else ""))
        lines += [("WORLD_" + k, v.replace("{port}", host.rpartition(":")[2])) for k, v in d.vendor_keys]
        for k, v in lines:
            print("%s=%s" % (k, v))
    elif cmd == "world-seed":
        d = get(rest[0])
        ap = argparse.ArgumentParser(prog="fakes.py world-seed NAME FILE")
        ap.add_argument("file")
        ap.add_argument("--fabric", required=True)
        ap.add_argument("--size", type=int, default=8388608)
        ap.add_argument("--fc", default="")
        ap.add_argument("--vvol", default="")
        ap.add_argument("--rdm", default="")
        ap.add_argument("--array-fc", default="")
        ap.add_argument("--array-iqn", default="")
        ap.add_argument("--mx-vvols", default="")
        ap.add_argument("--mx-rdms", default="")
        a = ap.parse_args(rest[1:])
        world = common.World(a.fabric, a.size, a.fc, a.vvol, a.rdm, a.array_fc.split(), a.array_iqn)
        world.mx_vvols = [(x.partition("=")[0], int(x.partition("=")[2])) for x in a.mx_vvols.split()]
        world.mx_rdms = [(x.partition("=")[0], int(x.partition("=")[2])) for x in a.mx_rdms.split()]
        seed, facts = d.world_seed(world) if d.world_seed \
            else (d.default_seed, [])
        with open(a.file, "w") as f:
            json.dump(seed, f, indent=1, sort_keys=True)
        for k, v in facts:
            print("WORLD_%s_%s=%s" % (d.env, k, v))
    elif cmd == "default-storage":
        ds = [d for d in registry() if d.default_storage]
        print(ds[0].name if ds else registry()[0].name)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
