#!/usr/bin/env python3
"""figures.py: the arithmetic of make bench (test/bench/run).

  figures.py sample --scenario S --vendor V --method M --t0 EPOCH --t1 EPOCH
                    --log LOG.jsonl --result RESULT.json [--time TIME.txt]
                    [--vmkfstools-log F] [--array-calls F --array-from N]
                    [--soap-calls F --soap-from N]
      One populate's figures, as JSON lines {"scenario", "vendor", "method",
      "figure", "value"} on stdout, plus one {"ops": {...}} line with the
      requests it made per operation ("array OP", "soap CALL[/esxcli method]",
      "ssh COMMAND").  The call logs are read from line N on (N = their length
      before the run).  Figures, times in seconds, memory in KiB:
        wall_s              the command's wall time: /usr/bin/time's elapsed
                            time of the binary alone when --time is given
                            (10 ms steps), else t1 - t0
        clone_s             the clone's own run time (fake vmkfstools' log)
        overhead_s          wall_s - clone_s
        exit_after_clone_s  vmkfstools' exit to the process' exit
        lease_wait_s        rescan phase start to host lease acquired (only
                            when a lease was taken)
        soap_requests array_requests ssh_commands
        kube_requests       requests to the Kubernetes API (its log's
                            http.kube exchanges: secret, PV, host leases)
        lease_watches       of those, watches of the lease collection (a
                            waiter's; the renewer's and the takeovers' are
                            PUTs)
        sim_soap_s sim_array_s  the simulators' own time for those requests
                            (vcsimx "ms", the array fake's "service_s"); the
                            SOAP sum leaves out the vmkfstools commands, whose
                            time is the clone's
        peak_rss_kib        /usr/bin/time -v's maximum resident set size
        cpu_s               /usr/bin/time -v's user + system time of the
                            binary (what the command itself costs the CPU)

  figures.py leases --scenario S --slots N LOG.jsonl...
      The host leases of N populates that ran at once (their logs): per copy,
        lease_wait_s        rescan phase start to lease acquired
        lease_hold_s        lease acquired to released (the rescan alone:
                            a copy that held it through its clone would show
                            here)
        lease_ahead_s       the rescans ahead of it: the time the other
                            copies held a slot during its wait, divided by
                            the slots (what it had to wait for: with every
                            slot busy all along it equals the wait)
        lease_excess_s      lease_wait_s - lease_ahead_s (the part of the wait
                            with a slot not held by anyone: handing the slot
                            over, not a rescan ahead)
      as sample lines (vendor "ontap", method "leases").

  figures.py report SAMPLES JSON_OUT
      Median, min and max of every (scenario, vendor, method, figure) over its
      runs: a table on stdout and JSON_OUT, a list of objects {"scenario",
      "vendor", "method", "figure", "median", "min", "max", "runs"}; then the
      requests per operation of each scenario/vendor/method (median over runs).

Standard library only.
"""

import argparse
import collections
import datetime
import json
import sys


def lines_from(path, start):
    if not path:
        return []
    try:
        with open(path) as f:
            out = []
            for i, line in enumerate(f):
                if i >= start and line.strip():
                    out.append(json.loads(line))
            return out
    except FileNotFoundError:
        return []


def log_events(path):
    """The JSON log lines of one populate (anything else on stderr is skipped)."""
    with open(path) as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                continue


def log_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def time_v(path):
    """The figures of one /usr/bin/time -v report: wall_s, cpu_s (user +
    system), peak_rss_kib."""
    got = {}
    with open(path) as f:
        for line in f:
            value = line.rsplit(": ", 1)[-1].strip()
            if "Elapsed (wall clock) time" in line:
                secs = 0.0
                for part in value.split(":"):
                    secs = secs * 60 + float(part)
                got["wall_s"] = secs
            elif "User time (seconds)" in line or "System time (seconds)" in line:
                got["cpu_s"] = got.get("cpu_s", 0.0) + float(value)
            elif "Maximum resident set size" in line:
                got["peak_rss_kib"] = int(value)
    return got


def sample(a):
    figs = {}
    ops = collections.Counter()
    # The binary's own elapsed time, without the runner's start-up
    # (test/sim/populate runs Python and the binary's --help first).
    timed = time_v(a.time) if a.time else {}
    figs["wall_s"] = timed.get("wall_s", a.t1 - a.t0)
    wall = figs["wall_s"]
    start = end = None
    if a.vmkfstools_log:
        with open(a.vmkfstools_log) as f:
            for line in f:
                w = line.split()
                if len(w) >= 2 and w[0] == "start":
                    start = float(w[1])
                elif len(w) >= 2 and w[0] == "end":
                    end = float(w[1])
    if start is not None and end is not None:
        figs["clone_s"] = end - start
        figs["overhead_s"] = wall - (end - start)
        figs["exit_after_clone_s"] = a.t1 - end

    arr = lines_from(a.array_calls, a.array_from)
    figs["array_requests"] = len(arr)
    figs["sim_array_s"] = sum(r.get("service_s", 0.0) for r in arr)
    for r in arr:
        ops["array " + r["op"]] += 1

    soap = lines_from(a.soap_calls, a.soap_from)
    figs["soap_requests"] = len(soap)
    sim = 0.0
    for r in soap:
        name = r["call"] + ("/" + r["method"] if r.get("method") else "")
        ops["soap " + name] += 1
        if "vmkfstools" not in r.get("method", ""):
            sim += r.get("ms", 0.0) / 1000.0
    figs["sim_soap_s"] = sim

    ssh = kube = watches = 0
    rescan_at = lease_at = None
    for e in log_events(a.log):
        ev = e.get("event")
        if ev == "http exchange" and e.get("comp") == "http.kube":
            kube += 1
            # The log shows the URL without its query: a GET of the
            # collection is the waiter's watch.
            if e.get("method") == "GET" and e.get("url", "").endswith("/leases"):
                watches += 1
        elif ev == "ssh command done":
            ssh += 1
            ops["ssh command"] += 1
        elif ev == "phase" and e.get("name") == "rescan":
            rescan_at = log_ts(e["ts"])
        elif ev == "host lease acquired" and lease_at is None:
            lease_at = log_ts(e["ts"])
    figs["ssh_commands"] = ssh
    if kube:  # only runs that talk to Kubernetes (pod mode, leases)
        figs["kube_requests"] = kube
        figs["lease_watches"] = watches
    if rescan_at is not None and lease_at is not None:
        figs["lease_wait_s"] = max(0.0, lease_at - rescan_at)

    for k in ("peak_rss_kib", "cpu_s"):
        if k in timed:
            figs[k] = timed[k]

    for k, v in figs.items():
        print(json.dumps({"scenario": a.scenario, "vendor": a.vendor, "method": a.method,
                          "figure": k, "value": v}))
    print(json.dumps({"scenario": a.scenario, "vendor": a.vendor, "method": a.method,
                      "ops": dict(ops)}))


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def report(samples, out):
    vals = collections.OrderedDict()
    ops = collections.OrderedDict()
    with open(samples) as f:
        for line in f:
            r = json.loads(line)
            key = (r["scenario"], r["vendor"], r["method"])
            if "ops" in r:
                ops.setdefault(key, []).append(r["ops"])
            else:
                vals.setdefault(key + (r["figure"],), []).append(r["value"])
    res = []
    for (sc, v, m, fig), xs in vals.items():
        rnd = (lambda x: round(x, 4)) if fig.endswith("_s") else (lambda x: x)
        res.append({"scenario": sc, "vendor": v, "method": m, "figure": fig,
                    "median": rnd(median(xs)), "min": rnd(min(xs)), "max": rnd(max(xs)),
                    "runs": len(xs)})
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    last = None
    for r in res:
        if r["scenario"] != last:
            last = r["scenario"]
            print("\n== %s" % last)
            print("%-12s %-6s %-20s %12s %12s %12s %5s" % ("vendor", "method", "figure", "median",
                                                        "min", "max", "runs"))
        print("%-12s %-6s %-20s %12g %12g %12g %5d" % (r["vendor"], r["method"], r["figure"],
                                                     r["median"], r["min"], r["max"], r["runs"]))
    print("\n== requests per copy by operation (median over runs)")
    for (sc, v, m), runs in ops.items():
        names = sorted(set().union(*runs))
        cells = ["%s=%g" % (n, median([r.get(n, 0) for r in runs])) for n in names]
        print("%s %s %s: %s" % (sc, v, m, ", ".join(cells)))


def leases(argv):
    ap = argparse.ArgumentParser(prog="figures.py leases")
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--slots", type=int, default=2)
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args(argv)
    copies = []
    for path in a.logs:
        req = acq = rel = None
        for e in log_events(path):
            ev = e.get("event")
            if ev == "phase" and e.get("name") == "rescan" and req is None:
                req = log_ts(e["ts"])
            elif ev == "host lease acquired" and acq is None:
                acq = log_ts(e["ts"])
            elif ev == "host lease released" and rel is None:
                rel = log_ts(e["ts"])
        if req is not None and acq is not None and rel is not None:
            copies.append((req, acq, rel))
    for i, (req, acq, rel) in enumerate(copies):
        # Every other copy's hold that overlaps this one's wait, including
        # the holds already running when it started waiting.
        ahead = sum(max(0.0, min(r, acq) - max(q, req))
                    for j, (_, q, r) in enumerate(copies) if j != i)
        wait = max(0.0, acq - req)
        ahead /= max(1, a.slots)
        for fig, v in (("lease_wait_s", wait), ("lease_hold_s", rel - acq),
                       ("lease_ahead_s", ahead), ("lease_excess_s", wait - ahead)):
            print(json.dumps({"scenario": a.scenario, "vendor": "ontap", "method": "leases",
                              "figure": fig, "value": v}))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "leases":
        leases(sys.argv[2:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "report":
        if len(sys.argv) != 4:
            sys.exit("usage: figures.py report SAMPLES JSON_OUT")
        report(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(prog="figures.py sample")
    ap.add_argument("cmd", choices=["sample"])
    for k in ("scenario", "vendor", "method", "log"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--t0", type=float, required=True)
    ap.add_argument("--t1", type=float, required=True)
    ap.add_argument("--result")
    ap.add_argument("--time")
    ap.add_argument("--vmkfstools-log")
    ap.add_argument("--array-calls")
    ap.add_argument("--array-from", type=int, default=0)
    ap.add_argument("--soap-calls")
    ap.add_argument("--soap-from", type=int, default=0)
    sample(ap.parse_args())


if __name__ == "__main__":
    main()
