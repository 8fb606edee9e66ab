#!/usr/bin/env python3
"""Simulated IBM FlashSystem / Storage Virtualize: our own model of the
Storage Virtualize REST API (port 7443, /rest/v1), written from IBM's public
description of that API (every CLI command is a POST to
/rest/v1/<command>[/<object id or name>] with the command's flags as a JSON
object; lists are JSON arrays of rows whose values are strings) and from the
traffic notes in shared/spec/vendors-b.md §4 and vendor-corrections.md §1.
It is not IBM code and not a complete array.

What it models:
  * POST /rest/v1/auth with headers X-Auth-Username / X-Auth-Password and no
    body -> {"token": …}; every other command needs X-Auth-Token.  A wrong
    user or password answers 401; an unknown or expired token (--session-ttl)
    answers 403.
  * CLI errors answer the CLI's text "CMMVCnnnnE …" as text/plain with HTTP
    500 (seed "cli_error_status" changes it, e.g. to 409); flags the command
    does not have (CMMVC5709E), values of the wrong type (CMMVC5711E) and
    missing required flags (CMMVC5707E) answer 400.
  * pools (lsmdiskgrp) with vdisk_protection_enabled; volumes (lsvdisk) with
    vdisk_UID, in a pool, with real bytes in sparse files; hosts (lshost,
    lshostports, mkhost, addhostport, rmhost) with FC WWPNs or iSCSI names (a
    port belongs to one host); host maps (mkvdiskhostmap, rmvdiskhostmap,
    lshostvdiskmap, lsvdiskhostmap) with SCSI ids; lssystem.
  * mkvdiskhostmap: CMMVC5878E when already mapped to that host; CMMVC9375E
    when the volume is mapped to another host and neither -force nor -scsi
    was given; CMMVC5879E for a SCSI id in use on the host.
  * FlashCopy maps (mkfcmap, prestartfcmap, startfcmap, stopfcmap, rmfcmap,
    lsfcmap): a started map is "copying" with a progress that grows with time
    (seed "fcmap_seconds", default 1.0 for a whole copy); when it reaches 100
    the target's bytes become the source's and the map is "idle_or_copied"
    (or deleted, with -autodelete).
  * filtervalue "attr=value" on the list commands (value compared exactly,
    a vdisk_UID ignoring case).
  * Mapping a volume to a host publishes FABRIC/luns/<naa>.json with
    naa = "naa." + lower-case vdisk_UID and the host's ports.

Operation names (for --faults and the call log): auth and the command names
(lssystem lsvdisk lsmdiskgrp lshost lshostports mkhost addhostport rmhost
mkvdiskhostmap rmvdiskhostmap lshostvdiskmap lsvdiskhostmap lsfcmap mkfcmap
prestartfcmap startfcmap stopfcmap rmfcmap); an unknown path is "unknown".
A 429 storm is a few "* http 429 once" fault lines.

Seed (--seed FILE, JSON), all optional:
  {"system": {"name": "sim-fs", "product_name": "…", "code_level": "…",
              "vdisk_protection_enabled": "yes"},
   "pools": [{"id": "0", "name": "Pool0", "vdisk_protection_enabled": "no"}],
   "vdisks": [{"name": "…", "size": 1048576, "uid": "32 HEX", "pool": "Pool0", "id": "5"}],
   "hosts": [{"name": "esx01", "wwpns": ["2100…"], "iscsi_names": ["iqn.…"]}],
   "maps": [{"host": "esx01", "vdisk": "…", "scsi": 0}],
   "cli_error_status": 500, "fcmap_seconds": 1.0,
   "fc_node_names": {"<wwpn hex>": "<wwnn hex>"}}
Credentials: --username/--password (default superuser / passw0rd).
"""

import hashlib
import json
import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
import common  # noqa: E402
from common import ApiError

BASE = "/rest/v1/"
COMMANDS = ["lssystem", "lsvdisk", "lsmdiskgrp", "lshost", "lshostports", "mkhost", "addhostport",
            "rmhost", "mkvdiskhostmap", "rmvdiskhostmap", "lshostvdiskmap", "lsvdiskhostmap",
            "lsfcmap", "mkfcmap", "prestartfcmap", "startfcmap", "stopfcmap", "rmfcmap"]
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,62}")


def uid_for(name):
    return ("6005076810810261F8" + hashlib.sha256(("fs:" + name).encode()).hexdigest()[:14]).upper()


class CliError(ApiError):
    """A CLI failure: text body, the fake's CLI error status unless given."""

    def __init__(self, text, status=None):
        super().__init__(status or 0, text)


class FlashSystem(common.SessionAuth, common.ArrayFake):
    array = "flashsystem"
    scsi_vendor = "IBM"
    scsi_model = "2145"
    public_ops = ("auth", "unknown")
    session_out = ("json", "token")
    session_in = ("header", "X-Auth-Token")
    state = {"collections": ["pools", "vdisks", "hosts", "maps", "fcmaps"],
             "values": {"system": {}, "cli_error_status": 500, "fcmap_seconds": 1.0}}
    routes = [("POST", BASE + "auth", "auth", "h_auth")] + \
        [r for c in COMMANDS for r in (("POST", BASE + c, c, "h_" + c),
                                       ("POST", BASE + c + "/{obj}", c, "h_" + c))]

    # -- state ----------------------------------------------------------------
    def load_seed(self, seed):
        s = seed.get("system", {})
        self.store.system = {"name": s.get("name", "sim-fs"), "id": "0000020420A0B1C2",
                             "product_name": s.get("product_name", "IBM FlashSystem 7300"),
                             "code_level": s.get("code_level", "8.6.0.3 (build 171.5.2311081422000)"),
                             "vdisk_protection_enabled": s.get("vdisk_protection_enabled", "no"),
                             "vdisk_protection_time": "15"}
        self.store.cli_error_status = int(seed.get("cli_error_status", 500))
        self.store.fcmap_seconds = float(seed.get("fcmap_seconds", 1.0))
        self.store.pools = [{"id": str(p.get("id", i)), "name": p["name"],
                             "vdisk_protection_enabled": p.get("vdisk_protection_enabled", "no")}
                            for i, p in enumerate(seed.get("pools") or [{"name": "Pool0"}])]
        self.store.vdisks, self.store.hosts, self.store.maps, self.store.fcmaps = [], [], [], []
        for v in seed.get("vdisks", []):
            pool = self.pool(v.get("pool", self.store.pools[0]["name"]))
            vid = str(v.get("id", self.store.next_id("vdisks")))
            self.store.vdisks.append({"id": vid, "name": v["name"], "uid": (v.get("uid") or uid_for(v["name"])).upper(),
                                      "size": int(v.get("size", 1 << 20)), "pool": pool["id"]})
            self.fabric.create_file(v["name"], int(v.get("size", 1 << 20)))
        for h in seed.get("hosts", []):
            self.store.hosts.append({"id": str(self.store.next_id("hosts")), "name": h["name"],
                                     "wwpns": [common.wwpn_hex(w).upper() for w in h.get("wwpns", [])],
                                     "iscsi": list(h.get("iscsi_names", [])),
                                     "protocol": "fcscsi" if h.get("wwpns") else "iscsi"})
        for m in seed.get("maps", []):
            self.store.maps.append({"host": self.host(m["host"])["id"], "vdisk": self.vdisk(m["vdisk"])["id"],
                                    "scsi": int(m.get("scsi", 0))})

    def sim_volumes(self):
        return [{"key": v["id"], "name": v["name"], "id": v["id"], "naa": "naa." + v["uid"].lower(),
                 "size": v["size"]} for v in self.store.vdisks]

    def sim_groups(self):
        return [{"key": h["id"], "name": h["name"], "initiators": h["wwpns"] + h["iscsi"]}
                for h in self.store.hosts]

    def sim_mappings(self):
        return [(m["host"], m["vdisk"], m["scsi"]) for m in self.store.maps]

    # -- lookups (by id or name, as the CLI takes either) ----------------------
    @staticmethod
    def _find(coll, key):
        key = str(key)
        return next((r for r in coll if r["id"] == key), None) or \
            next((r for r in coll if r["name"] == key), None)

    def pool(self, key):
        return self._find(self.store.pools, key)

    def vdisk(self, key):
        return self._find(self.store.vdisks, key)

    def host(self, key):
        return self._find(self.store.hosts, key)

    def fcmap(self, key):
        return self._find(self.store.fcmaps, key)

    def need(self, what, key):
        obj = getattr(self, what)(key) if key is not None else None
        if obj is None:
            raise CliError("CMMVC5753E The specified object does not exist or is not a suitable candidate.")
        return obj

    # -- errors, routing, auth ------------------------------------------------
    def error_body(self, status, message, code=None):
        if status == 429:
            return "Too many requests: the request rate limit of the REST API was reached."
        return message

    def handle(self, req):
        status, data, headers, op, fault = super().handle(req)
        if status == 0:
            status = self.store.cli_error_status
        if data and data[:1] == b'"':  # our text errors go out as the CLI prints them
            data = json.loads(data.decode()).encode() + b"\n"
            headers["Content-Type"] = "text/plain"
        return status, data, headers, op, fault

    def not_found(self, req):
        return ApiError(404, "Not Found: %s is not a command of this REST API." % req.path)

    def not_allowed(self, req):
        return ApiError(405, "Method Not Allowed: every command is a POST.")

    def session_failed(self, req):
        return ApiError(403, "Forbidden: the token is missing, not valid or expired; authenticate again.")

    def dispatch(self, req, op, handler, params):
        if op != "auth":
            if req.body is None and req.raw_body:
                raise ApiError(400, "CMMVC5711E The request body is not valid JSON.")
            if req.body is not None and not isinstance(req.body, dict):
                raise ApiError(400, "CMMVC5711E The request body must be a JSON object.")
            self.advance()
        return handler(req, **params)

    def flags(self, req, schema, required=()):
        """The request's flags checked against schema (CLI flag -> type)."""
        b = req.body if isinstance(req.body, dict) else {}

        def bad(field, problem):
            if problem == "unknown":
                raise ApiError(400, "CMMVC5709E [-%s] is not a supported parameter." % field)
            raise ApiError(400, "CMMVC5711E [%s] is not valid data for -%s." % (b.get(field), field))
        common.check_fields(b, schema, bad)
        for r in required:
            if r not in b:
                raise ApiError(400, "CMMVC5707E Required parameters are missing: -%s." % r)
        return b

    def filtered(self, req, rows, extra=None):
        b = self.flags(req, dict({"filtervalue": str, "bytes": bool, "nohdr": bool}, **(extra or {})))
        f = b.get("filtervalue")
        if f is not None:
            k, sep, v = f.partition("=")
            if not sep or not k:
                raise ApiError(400, "CMMVC5711E [%s] is not valid data for -filtervalue." % f)
            if rows and k not in rows[0]:
                raise CliError("CMMVC5714E The parameter list is empty or %s cannot be filtered." % k)
            if k.lower().endswith("uid"):
                rows = [r for r in rows if str(r.get(k, "")).lower() == v.lower()]
            else:
                rows = [r for r in rows if str(r.get(k, "")) == v]
        return 200, rows

    def h_auth(self, req):
        if req.raw_body and req.raw_body.strip() not in (b"", b"{}"):
            raise ApiError(400, "CMMVC5709E The authentication request takes no body.")
        user, pw = req.headers.get("X-Auth-Username"), req.headers.get("X-Auth-Password")
        if user != self.args.username or pw != self.args.password:
            raise ApiError(401, "Unauthorized: authentication failed for user %s." % (user or ""))
        req.user = user
        return self.session_answer(user, {})

    # -- rows -----------------------------------------------------------------
    def vdisk_row(self, v):
        p = self.pool(v["pool"])
        return {"id": v["id"], "name": v["name"], "IO_group_id": "0", "IO_group_name": "io_grp0",
                "status": "online", "mdisk_grp_id": p["id"], "mdisk_grp_name": p["name"],
                "capacity": str(v["size"]), "type": "striped", "vdisk_UID": v["uid"],
                "fc_map_count": str(sum(1 for m in self.store.fcmaps
                                        if v["id"] in (m["source"], m["target"]))),
                "copy_count": "1", "se_copy_count": "0", "RC_name": "", "protocol": ""}

    def host_row(self, h):
        return {"id": h["id"], "name": h["name"], "port_count": str(len(h["wwpns"]) + len(h["iscsi"])),
                "iogrp_count": "4", "status": "online" if h["wwpns"] or h["iscsi"] else "offline",
                "site_id": "", "site_name": "", "host_cluster_id": "", "host_cluster_name": "",
                "protocol": h["protocol"], "owner_id": "", "owner_name": "", "portset_id": "",
                "portset_name": ""}

    def map_row(self, m):
        h, v = self.host(m["host"]), self.vdisk(m["vdisk"])
        return {"id": h["id"], "name": h["name"], "SCSI_id": str(m["scsi"]), "vdisk_id": v["id"],
                "vdisk_name": v["name"], "vdisk_UID": v["uid"], "IO_group_id": "0",
                "IO_group_name": "io_grp0", "mapping_type": "private", "host_cluster_id": "",
                "host_cluster_name": "", "protocol": h["protocol"]}

    def fcmap_row(self, m):
        s, t = self.vdisk(m["source"]), self.vdisk(m["target"])
        return {"id": m["id"], "name": m["name"], "source_vdisk_id": s["id"], "source_vdisk_name": s["name"],
                "target_vdisk_id": t["id"], "target_vdisk_name": t["name"], "group_id": "",
                "group_name": "", "status": m["status"], "progress": str(m["progress"]),
                "copy_rate": str(m["copyrate"]), "clean_progress": "100", "incremental": "off",
                "partner_FC_id": "", "partner_FC_name": "", "restoring": "no",
                "start_time": m.get("start_time", ""), "rc_controlled": "no"}

    # -- FlashCopy progress ---------------------------------------------------
    def advance(self):
        """Moves every copying map on with the clock; a finished one copies
        the bytes and becomes idle_or_copied (or goes, with autodelete)."""
        now, changed = time.time(), False
        for m in list(self.store.fcmaps):
            if m["status"] != "copying":
                continue
            secs = max(0.001, self.store.fcmap_seconds)
            pct = min(100, int((now - m["started"]) / secs * 100))
            if pct != m["progress"]:
                m["progress"], changed = pct, True
            if pct >= 100:
                self.fabric.copy_file(self.vdisk(m["source"])["name"], self.vdisk(m["target"])["name"])
                m["status"] = "idle_or_copied"
                if m["autodelete"]:
                    self.store.fcmaps.remove(m)
        if changed:
            self.changed()

    # -- commands -------------------------------------------------------------
    def h_lssystem(self, req, obj=None):
        self.flags(req, {"bytes": bool})
        return 200, dict(self.store.system)

    def h_lsvdisk(self, req, obj=None):
        if obj is not None:
            self.flags(req, {"bytes": bool})
            return 200, self.vdisk_row(self.need("vdisk", obj))
        return self.filtered(req, [self.vdisk_row(v) for v in self.store.vdisks])

    def h_lsmdiskgrp(self, req, obj=None):
        rows = [{"id": p["id"], "name": p["name"], "status": "online", "mdisk_count": "1",
                 "vdisk_count": str(sum(1 for v in self.store.vdisks if v["pool"] == p["id"])),
                 "capacity": "100.00TB", "easy_tier": "balanced", "type": "parent",
                 "vdisk_protection_enabled": p["vdisk_protection_enabled"], "data_reduction": "no"}
                for p in self.store.pools]
        if obj is not None:
            self.flags(req, {"bytes": bool})
            p = self.need("pool", obj)
            return 200, next(r for r in rows if r["id"] == p["id"])
        return self.filtered(req, rows)

    def h_lshost(self, req, obj=None):
        if obj is not None:
            self.flags(req, {})
            h = self.need("host", obj)
            row = self.host_row(h)
            row["WWPN"] = list(h["wwpns"])
            row["iscsi_name"] = list(h["iscsi"])
            return 200, row
        return self.filtered(req, [self.host_row(h) for h in self.store.hosts])

    def h_lshostports(self, req, obj=None):
        rows = []
        for h in self.store.hosts:
            rows += [{"host_id": h["id"], "host_name": h["name"], "WWPN": w, "iscsi_name": ""} for w in h["wwpns"]]
            rows += [{"host_id": h["id"], "host_name": h["name"], "WWPN": "", "iscsi_name": i} for i in h["iscsi"]]
        return self.filtered(req, rows)

    def parse_ports(self, b, owner=None):
        wwpns, iqns = [], []
        for w in (b.get("fcwwpn") or "").split(":") if b.get("fcwwpn") else []:
            h = common.wwpn_hex(w)
            if h is None:
                raise CliError("CMMVC5867E The action failed because the worldwide port name is already "
                               "assigned or is not valid: %s." % w)
            wwpns.append(h.upper())
        for i in (b.get("iscsiname") or "").split(",") if b.get("iscsiname") else []:
            if not re.match(r"(?i)(iqn\.|eui\.)", i):
                raise CliError("CMMVC6580E The iSCSI name %s is not valid." % i)
            iqns.append(i)
        for h in self.store.hosts:
            if owner is not None and h is owner:
                continue
            for w in wwpns:
                if w in h["wwpns"]:
                    raise CliError("CMMVC5867E The action failed because the worldwide port name is "
                                   "already assigned or is not valid: %s." % w)
            for i in iqns:
                if i.lower() in (x.lower() for x in h["iscsi"]):
                    raise CliError("CMMVC6581E The command has failed because the iSCSI name %s is "
                                   "already assigned." % i)
        return wwpns, iqns

    def h_mkhost(self, req, obj=None):
        if obj is not None:
            raise ApiError(400, "CMMVC5701E No object ID was specified.")
        b = self.flags(req, {"name": str, "fcwwpn": str, "iscsiname": str, "force": bool,
                             "protocol": str, "type": str, "iogrp": str, "site": str})
        if ("fcwwpn" in b) == ("iscsiname" in b):
            raise ApiError(400, "CMMVC5707E Required parameters are missing: one of -fcwwpn or -iscsiname.")
        proto = b.get("protocol", "scsi")
        if proto not in ("scsi", "fcscsi", "iscsi") or \
                (proto == "fcscsi" and "fcwwpn" not in b) or (proto == "iscsi" and "iscsiname" not in b):
            raise CliError("CMMVC9722E The protocol %s does not match the host ports given." % proto)
        if b.get("type", "generic") not in ("generic", "hpux", "tpgs", "openvms", "adminlun", "hide_secondary"):
            raise ApiError(400, "CMMVC5711E [%s] is not valid data for -type." % b.get("type"))
        name = b.get("name") or "host%d" % (len(self.store.hosts))
        if not NAME_RE.fullmatch(name) or name.isdigit():
            raise ApiError(400, "CMMVC5711E [%s] is not valid data for -name." % name)
        if self.host(name):
            raise CliError("CMMVC6035E The action failed as the object already exists.")
        wwpns, iqns = self.parse_ports(b)
        h = {"id": str(self.store.next_id("hosts")), "name": name, "wwpns": wwpns, "iscsi": iqns,
             "protocol": "fcscsi" if wwpns else "iscsi"}
        self.store.hosts.append(h)
        self.changed()
        return 200, {"id": h["id"], "message": "Host, id [%s], successfully created" % h["id"]}

    def h_addhostport(self, req, obj=None):
        h = self.need("host", obj)
        b = self.flags(req, {"fcwwpn": str, "iscsiname": str, "force": bool})
        if ("fcwwpn" in b) == ("iscsiname" in b):
            raise ApiError(400, "CMMVC5707E Required parameters are missing: one of -fcwwpn or -iscsiname.")
        wwpns, iqns = self.parse_ports(b, owner=h)
        if (wwpns and h["protocol"] == "iscsi") or (iqns and h["protocol"] == "fcscsi"):
            raise CliError("CMMVC9722E The protocol of the ports does not match host %s." % h["name"])
        h["wwpns"] += [w for w in wwpns if w not in h["wwpns"]]
        h["iscsi"] += [i for i in iqns if i not in h["iscsi"]]
        self.changed()
        return 200, {}

    def h_rmhost(self, req, obj=None):
        h = self.need("host", obj)
        b = self.flags(req, {"force": bool})
        if any(m["host"] == h["id"] for m in self.store.maps):
            if not b.get("force"):
                raise CliError("CMMVC5871E The action failed because one or more of the configured port "
                               "names is in a mapping.")
            self.store.maps = [m for m in self.store.maps if m["host"] != h["id"]]
        self.store.hosts.remove(h)
        self.changed()
        return 200, {}

    def h_mkvdiskhostmap(self, req, obj=None):
        v = self.need("vdisk", obj)
        b = self.flags(req, {"host": str, "scsi": int, "force": bool, "iogrp": str}, required=("host",))
        h = self.need("host", b["host"])
        mine = [m for m in self.store.maps if m["host"] == h["id"]]
        if any(m["vdisk"] == v["id"] for m in mine):
            raise CliError("CMMVC5878E The virtual disk (VDisk) is already mapped to this host.")
        others = [m for m in self.store.maps if m["vdisk"] == v["id"]]
        if others and not b.get("force") and "scsi" not in b:
            raise CliError("CMMVC9375E The volume is already mapped to another host; the mapping needs "
                           "-force and a SCSI ID that is free on this host.")
        used = {m["scsi"] for m in mine}
        scsi = b.get("scsi")
        if scsi is None:
            scsi = next(n for n in range(0, 4096) if n not in used)
        elif scsi in used or not 0 <= scsi <= 4095:
            raise CliError("CMMVC5879E The virtual disk-to-host mapping was not created because a VDisk is "
                           "already mapped to this host with this SCSI LUN.")
        self.store.maps.append({"host": h["id"], "vdisk": v["id"], "scsi": scsi})
        self.changed()
        return 200, {"id": "%d" % (len(self.store.maps) - 1),
                     "message": "Virtual Disk to Host map, id [%d], successfully created" % scsi}

    def h_rmvdiskhostmap(self, req, obj=None):
        v = self.need("vdisk", obj)
        b = self.flags(req, {"host": str}, required=("host",))
        h = self.need("host", b["host"])
        for m in self.store.maps:
            if m["host"] == h["id"] and m["vdisk"] == v["id"]:
                self.store.maps.remove(m)
                self.changed()
                return 200, {}
        raise CliError("CMMVC5842E The action failed because an object that was specified in the "
                       "command does not exist.")

    def h_lshostvdiskmap(self, req, obj=None):
        maps = self.store.maps
        if obj is not None:
            h = self.need("host", obj)
            maps = [m for m in maps if m["host"] == h["id"]]
        return self.filtered(req, [self.map_row(m) for m in maps])

    def h_lsvdiskhostmap(self, req, obj=None):
        v = self.need("vdisk", obj)
        rows = []
        for m in self.store.maps:
            if m["vdisk"] == v["id"]:
                h = self.host(m["host"])
                rows.append({"id": v["id"], "name": v["name"], "SCSI_id": str(m["scsi"]), "host_id": h["id"],
                             "host_name": h["name"], "vdisk_UID": v["uid"], "IO_group_id": "0",
                             "IO_group_name": "io_grp0", "mapping_type": "private",
                             "host_cluster_id": "", "host_cluster_name": "", "protocol": h["protocol"]})
        return self.filtered(req, rows)

    # FlashCopy
    def h_lsfcmap(self, req, obj=None):
        if obj is not None:
            self.flags(req, {})
            return 200, self.fcmap_row(self.need("fcmap", obj))
        return self.filtered(req, [self.fcmap_row(m) for m in self.store.fcmaps])

    def h_mkfcmap(self, req, obj=None):
        b = self.flags(req, {"source": str, "target": str, "name": str, "copyrate": int, "autodelete": bool,
                             "consistgrp": str, "cleanrate": int, "incremental": bool, "grainsize": int},
                       required=("source", "target"))
        s, t = self.need("vdisk", b["source"]), self.need("vdisk", b["target"])
        if s is t:
            raise CliError("CMMVC5920E The FlashCopy mapping was not created because the source and target "
                           "are the same volume.")
        if s["size"] != t["size"]:
            raise CliError("CMMVC5924E The FlashCopy mapping was not created because the source and target "
                           "virtual disks (VDisks) are different sizes.")
        rate = b.get("copyrate", 50)
        if not 0 <= rate <= 150:
            raise ApiError(400, "CMMVC5711E [%s] is not valid data for -copyrate." % rate)
        if any(m["target"] == t["id"] for m in self.store.fcmaps):
            raise CliError("CMMVC5921E The FlashCopy mapping was not created because the target volume is "
                           "already the target of a mapping.")
        mid = str(self.store.next_id("fcmaps") - 1)
        name = b.get("name") or "fcmap%s" % mid
        if not NAME_RE.fullmatch(name) or self.fcmap(name):
            raise CliError("CMMVC6035E The action failed as the object already exists.")
        self.store.fcmaps.append({"id": mid, "name": name, "source": s["id"], "target": t["id"],
                                  "status": "idle_or_copied", "progress": 0, "copyrate": rate,
                                  "autodelete": bool(b.get("autodelete"))})
        self.changed()
        return 200, {"id": mid, "message": "FlashCopy Mapping, id [%s], successfully created" % mid}

    def h_prestartfcmap(self, req, obj=None):
        m = self.need("fcmap", obj)
        self.flags(req, {"restore": bool})
        if m["status"] in ("copying", "prepared", "preparing"):
            raise CliError("CMMVC5907E The FlashCopy mapping or consistency group was not started because "
                           "the mapping or consistency group is already in the copying state.")
        m["status"] = "prepared"
        self.changed()
        return 200, {}

    def h_startfcmap(self, req, obj=None):
        m = self.need("fcmap", obj)
        b = self.flags(req, {"prep": bool, "restore": bool})
        if m["status"] == "copying":
            raise CliError("CMMVC5907E The FlashCopy mapping or consistency group was not started because "
                           "the mapping or consistency group is already in the copying state.")
        if m["status"] != "prepared" and not b.get("prep"):
            raise CliError("CMMVC5903E The FlashCopy mapping was not changed because the mapping or "
                           "consistency group is in another state.")
        m.update(status="copying", progress=0, started=time.time(),
                 start_time=time.strftime("%y%m%d%H%M%S"))
        self.changed()
        return 200, {}

    def h_stopfcmap(self, req, obj=None):
        m = self.need("fcmap", obj)
        self.flags(req, {"force": bool, "split": bool})
        if m["status"] in ("copying", "prepared"):
            m["status"] = "stopped"
            self.changed()
        return 200, {}

    def h_rmfcmap(self, req, obj=None):
        m = self.need("fcmap", obj)
        b = self.flags(req, {"force": bool})
        if m["status"] not in ("idle_or_copied", "stopped") and not b.get("force"):
            raise CliError("CMMVC5903E The FlashCopy mapping was not changed because the mapping or "
                           "consistency group is in another state.")
        self.store.fcmaps.remove(m)
        self.changed()
        return 200, {}


def extra_args(ap):
    ap.add_argument("--username", default="superuser")
    ap.add_argument("--password", default="passw0rd")


# -- the test world ---------------------------------------------------------------
WORLD_VOLUME = "pvc-sim-1"
WORLD_UID = "6005076810810261F800000000000A01"
WORLD_PROTECTED = "pvc-sim-protected"
WORLD_PROTECTED_UID = "6005076810810261F800000000000A02"
WORLD_CONF_RDM_UID = "6005076810810261F800000000000A04"


def world_seed(w):
    """The world's FlashSystem: volume pvc-sim-1 (handle "SVC:0;<UID>") of the
    VM disk's size in pool Pool0, a volume in ProtectedPool (volume
    protection on), and the RDM source: a volume whose vdisk_UID is the NAA
    id of the world's RDM disk; and, whatever the RDM VM's array, the
    conformance suite's RDM source (CONF_RDM_SOURCE), found by the LUN UUID
    vSphere would give its RDM (CONF_RDM_LUN_UUID: 10 characters, the
    vdisk_UID, the model).  No host: the populate creates it."""
    vols = [{"name": WORLD_VOLUME, "size": w.size, "uid": WORLD_UID, "pool": "Pool0", "id": "1"},
            {"name": WORLD_PROTECTED, "size": w.size, "uid": WORLD_PROTECTED_UID, "pool": "ProtectedPool",
             "id": "2"},
            {"name": "rdm-conf-1", "size": w.size, "uid": WORLD_CONF_RDM_UID, "pool": "Pool0", "id": "4"}]
    if re.fullmatch(r"naa\.[0-9a-f]{32}", w.rdm or "") and w.rdm[4:].upper() != WORLD_CONF_RDM_UID:
        vols.append({"name": "rdm-src-1", "size": w.size, "uid": w.rdm[4:].upper(), "pool": "Pool0", "id": "3"})
    seed = {"pools": [{"id": "0", "name": "Pool0"},
                      {"id": "1", "name": "ProtectedPool", "vdisk_protection_enabled": "yes"}],
            "vdisks": vols, "fc_node_names": w.fc_node_names()}
    facts = [("VOLUME_HANDLE", "SVC:0;" + WORLD_UID), ("VOLUME", WORLD_VOLUME),
             ("NAA", "naa." + WORLD_UID.lower()), ("ATTRS", "pool_name=Pool0;storage_type=SVC"),
             ("PROTECTED_HANDLE", "SVC:0;" + WORLD_PROTECTED_UID), ("PROTECTED_VOLUME", WORLD_PROTECTED),
             ("CONF_RDM_SOURCE", "rdm-conf-1"),
             ("CONF_RDM_LUN_UUID", "0200040000" + WORLD_CONF_RDM_UID + "323134352020")]
    if len(vols) > 3:
        facts.append(("RDM_SOURCE", "rdm-src-1"))
    return seed, facts


FAKE = common.Descriptor(
    name="flashsystem", product="flashsystem", env="FLASHSYSTEM", order=60,
    args=["--username", "superuser", "--password", "Fs-sim-pw1"],
    env_facts=[("USERNAME", "superuser"), ("PASSWORD", "Fs-sim-pw1")],
    sessions=True, default_seed={}, world_seed=world_seed)


if __name__ == "__main__":
    common.main(FlashSystem, "Simulated IBM FlashSystem / Storage Virtualize REST API (our model, for tests)",
                extra_args)
