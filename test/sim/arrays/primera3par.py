#!/usr/bin/env python3
"""Simulated HPE Primera / 3PAR: our own model of the WSAPI 1.x REST API.

Built from HPE's public WSAPI documentation and the traffic notes in
shared/spec/vendors-b.md §2 and vendor-corrections.md §1.  It is not HPE code
and not a complete array: it models volumes (with real bytes in sparse
files), hosts, host sets, VLUNs, snapshots and their promotion, tasks and
sessions.

What it models:
  * POST /api/v1/credentials {"user","password"} -> 201 {"key"}; the key goes
    back in X-HP3PAR-WSAPI-SessionKey on every other call; an unknown or
    expired key answers 401; DELETE /api/v1/credentials/<key> ends it.
    GET /api (no session) gives the WSAPI version and build.
  * GET /api/v1/system (model, systemVersion).
  * volumes: GET (all, or ?query="wwn EQ <WWN>"), GET/PUT/POST/DELETE
    /volumes/<name>; PUT renames (newName), sets snapCPG, or promotes a
    virtual copy (action 4, answered with a task); POST action
    createSnapshot makes a virtual copy holding the source's bytes; a volume
    that is exported or has virtual copies cannot be deleted.
  * tasks: GET /api/v1/tasks/<id>: status 2 (active) for a few polls, then
    1 (done) or 4 (failed).
  * hosts: GET (all, or ?query="FCPaths[wwn EQ <WWN>]" /
    "iSCSIPaths[name EQ <IQN>]"), POST (FCWWNs or iSCSINames, not both; a WWN
    or IQN another host holds is refused), PUT /hosts/<name> (pathOperation
    1 add / 2 remove).
  * host sets: GET/PUT /hostsets/<name> (action 1 add / 2 remove members;
    adding a member again is code 104), POST /hostsets; names longer than 27
    characters are refused.
  * VLUNs: GET /vluns, POST /vluns (lun and autoLun:true both required, as
    the driver sends them for Primera and 3PAR alike), DELETE
    /vluns/<volume>,<lun>,<host or set:name>.
  * errors: {"code": N, "desc": "..."} with WSAPI's codes: 5 bad credentials,
    6 invalid session key, 12 invalid input, 16 host exists, 17 no such host,
    19 no such VLUN, 22 volume exists, 23 no such volume, 26 volume exported,
    29 VLUN exists, 32 volume has children, 36 path claimed by another host,
    39 wrong type, 40 missing required, 44 conflicting parameters, 57 too
    long, 101 set exists, 102 no such set, 104 already a member, 145 no such
    task.
  * Request bodies are checked strictly: unknown fields (code 12), wrong
    types (39) and missing required fields (40) are refused.
  * Exporting a volume to a host or set publishes FABRIC/luns/<naa>.json
    with naa = "naa." + lower-case wwn and the initiators of every host.

Operation names (for --faults and the call log):
  api credentials_post credentials_delete system_get
  volumes_get volume_get volume_put volume_post volume_delete task_get
  hosts_get hosts_post host_put hostset_get hostsets_post hostset_put
  vluns_get vluns_post vlun_delete   (an unknown path is "unknown");
  and promote_task: an "http" fault on it makes the next promote's task end
  with status 4 (failed), the virtual copy left as it was.

Seed (--seed FILE, JSON), all optional:
  {"system": {"name": "sim-3par", "model": "HPE Primera 630", "systemVersion": "4.5.10"},
   "build": 100300000, "task_polls": 2,
   "volumes": [{"name": "pvc-…", "size": 1048576, "wwn": "60002AC…", "userCPG": "SSD_r6",
                "snapCPG": "SSD_r6"}],
   "hosts": [{"name": "esx01", "FCWWNs": ["2100…"], "iSCSINames": ["iqn.…"]}],
   "hostsets": [{"name": "ocp", "setmembers": ["esx01"]}],
   "vluns": [{"volumeName": "pvc-…", "hostname": "set:ocp", "lun": 1}],
   "fc_node_names": {"<wwpn hex>": "<wwnn hex>"}}
Credentials: --username/--password (default 3paradm / 3pardata).
"""

import re
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
import common  # noqa: E402
from common import ApiError

INV_USER_PASS, INV_SESSION, INV_INPUT = 5, 6, 12
EXISTENT_HOST, NON_EXISTENT_HOST, NON_EXISTENT_VLUN = 16, 17, 19
EXISTENT_VOL, NON_EXISTENT_VOL, EXPORTED_VLUN, EXISTENT_VLUN = 22, 23, 26, 29
HAS_CHILDREN, EXISTENT_PATH = 32, 36
WRONG_TYPE, MISSING_REQUIRED, PARAM_CONFLICT, TOO_LONG = 39, 40, 44, 57
EXISTENT_SET, NON_EXISTENT_SET, MEMBER_IN_SET, NON_EXISTENT_TASK = 101, 102, 104, 145

NAME_MAX = 31
SET_NAME_MAX = 27
BUILD_2023 = 100000000

V1 = "/api/v1/"


def wsapi_error(status, code, desc):
    return ApiError(status, {"code": code, "desc": desc})


def body_checker(what):
    def bad(field, problem):
        if problem == "unknown":
            raise wsapi_error(400, INV_INPUT, "invalid input: unknown parameter '%s'" % field)
        raise wsapi_error(400, WRONG_TYPE, "invalid input: wrong type for '%s' in %s" % (field, what))
    return bad


def check_body(req, schema, required, what):
    b = req.body
    common.check_fields(b, schema, body_checker(what))
    for k in required:
        if k not in b:
            raise wsapi_error(400, MISSING_REQUIRED, "invalid input: missing required parameter '%s'" % k)
    return b


def check_name(name, limit=NAME_MAX, what="name"):
    if not name:
        raise wsapi_error(400, INV_INPUT, "invalid input: empty %s" % what)
    if len(name) > limit:
        raise wsapi_error(400, TOO_LONG, "invalid input: string length exceeds limit (%s)" % what)
    if not re.fullmatch(r"[A-Za-z0-9_.:\-]+", name):
        raise wsapi_error(400, INV_INPUT, "invalid input: illegal character in %s" % what)


def wwn_for(vid):
    return "60002AC%017X00021F6B" % vid


# Query language: "<field> EQ <value>" and "<list>[<field> EQ <value>]",
# the value optionally in single quotes, the whole in double quotes.
QUERY_RE = re.compile(r'^\s*"?\s*(?:(\w+)\s*\[\s*(\w+)\s+EQ\s+\'?([^\]\']*)\'?\s*\]|(\w+)\s+EQ\s+\'?([^"\']*)\'?)\s*"?\s*$')


def parse_query(q):
    """(list, field, value) with list None for a top-level field."""
    m = QUERY_RE.match(q)
    if not m:
        raise wsapi_error(400, INV_INPUT, "invalid input: cannot parse query")
    if m.group(1):
        return m.group(1), m.group(2), m.group(3).strip()
    return None, m.group(4), m.group(5).strip()


class Primera(common.SessionAuth, common.ArrayFake):
    array = "primera3par"
    scsi_vendor = "3PARdata"
    scsi_model = "VV"
    public_ops = ("api", "credentials_post", "unknown")
    session_out = ("json", "key")
    session_in = ("header", "X-HP3PAR-WSAPI-SessionKey")
    state = {"collections": ["volumes", "hosts", "hostsets", "vluns", "tasks"],
             "values": {"system": {}, "build": BUILD_2023 + 300000, "task_polls": 2}}
    routes = [
        ("GET", "/api", "api", "h_api"),
        ("POST", V1 + "credentials", "credentials_post", "h_login"),
        ("DELETE", V1 + "credentials/{key}", "credentials_delete", "h_logout"),
        ("GET", V1 + "system", "system_get", "h_system"),
        ("GET", V1 + "volumes", "volumes_get", "h_volumes_get"),
        ("GET", V1 + "volumes/{name}", "volume_get", "h_volume_get"),
        ("PUT", V1 + "volumes/{name}", "volume_put", "h_volume_put"),
        ("POST", V1 + "volumes/{name}", "volume_post", "h_volume_post"),
        ("DELETE", V1 + "volumes/{name}", "volume_delete", "h_volume_delete"),
        ("GET", V1 + "tasks/{tid}", "task_get", "h_task_get"),
        ("GET", V1 + "hosts", "hosts_get", "h_hosts_get"),
        ("POST", V1 + "hosts", "hosts_post", "h_hosts_post"),
        ("PUT", V1 + "hosts/{name}", "host_put", "h_host_put"),
        ("GET", V1 + "hostsets/{name}", "hostset_get", "h_hostset_get"),
        ("POST", V1 + "hostsets", "hostsets_post", "h_hostsets_post"),
        ("PUT", V1 + "hostsets/{name}", "hostset_put", "h_hostset_put"),
        ("GET", V1 + "vluns", "vluns_get", "h_vluns_get"),
        ("POST", V1 + "vluns", "vluns_post", "h_vluns_post"),
        ("DELETE", V1 + "vluns/{spec}", "vlun_delete", "h_vlun_delete"),
    ]

    # -- vendor hooks -----------------------------------------------------------
    def error_body(self, status, message, code=None):
        if code is None or not isinstance(code, int):
            code = {401: INV_SESSION, 403: INV_USER_PASS, 404: NON_EXISTENT_VOL}.get(status, INV_INPUT)
        return {"code": code, "desc": message}

    def session_failed(self, req):
        return wsapi_error(401, INV_SESSION, "invalid session key")

    def not_found(self, req):
        return wsapi_error(404, INV_INPUT, "resource not found: %s" % req.path)

    def not_allowed(self, req):
        return wsapi_error(405, INV_INPUT, "method not allowed: %s %s" % (req.method, req.path))

    def load_seed(self, seed):
        s = seed.get("system", {})
        self.store.system = {"id": 112233, "name": s.get("name", "sim-3par"),
                             "model": s.get("model", "HPE Primera 630"),
                             "systemVersion": s.get("systemVersion", "4.5.10"),
                             "serialNumber": s.get("serialNumber", "4UW0001234")}
        self.store.build = int(seed.get("build", BUILD_2023 + 300000))
        self.store.task_polls = int(seed.get("task_polls", 2))
        for v in seed.get("volumes", []):
            self.add_volume(v["name"], int(v.get("size", 1 << 20)), v.get("wwn"),
                            v.get("userCPG", "SSD_r6"), v.get("snapCPG", "SSD_r6"))
        for h in seed.get("hosts", []):
            self.store.hosts.append({"id": self.store.next_id("hosts"), "name": h["name"],
                                     "persona": h.get("persona", 11),
                                     "FCWWNs": [common.wwpn_hex(w).upper() for w in h.get("FCWWNs", [])],
                                     "iSCSINames": list(h.get("iSCSINames", []))})
        for s in seed.get("hostsets", []):
            self.store.hostsets.append({"id": self.store.next_id("hostsets"), "name": s["name"],
                                        "setmembers": list(s.get("setmembers", []))})
        for l in seed.get("vluns", []):
            v = self.volume(l["volumeName"])
            self.store.vluns.append({"volume": v["id"], "hostname": l["hostname"], "lun": l["lun"]})

    # -- views --------------------------------------------------------------------
    def sim_volumes(self):
        return [{"key": v["id"], "name": v["name"], "id": str(v["id"]), "naa": "naa." + v["wwn"].lower(),
                 "size": v["size"]} for v in self.store.volumes]

    def host_initiators(self, h):
        return list(h["FCWWNs"]) + list(h["iSCSINames"])

    def sim_groups(self):
        out = [{"key": h["name"], "name": h["name"], "initiators": self.host_initiators(h)}
               for h in self.store.hosts]
        for s in self.store.hostsets:
            inits = []
            for m in s["setmembers"]:
                h = self.host(m)
                if h:
                    inits += self.host_initiators(h)
            out.append({"key": "set:" + s["name"], "name": "set:" + s["name"], "initiators": inits})
        return out

    def sim_mappings(self):
        return [(l["hostname"], l["volume"], l["lun"]) for l in self.store.vluns]

    # -- lookups ------------------------------------------------------------------
    def volume(self, name):
        return next((v for v in self.store.volumes if v["name"] == name), None)

    def volume_by_id(self, vid):
        return next((v for v in self.store.volumes if v["id"] == vid), None)

    def must_volume(self, name):
        v = self.volume(name)
        if not v:
            raise wsapi_error(404, NON_EXISTENT_VOL, "volume does not exist: %s" % name)
        return v

    def host(self, name):
        return next((h for h in self.store.hosts if h["name"] == name), None)

    def hostset(self, name):
        return next((s for s in self.store.hostsets if s["name"] == name), None)

    def add_volume(self, name, size, wwn=None, user_cpg="SSD_r6", snap_cpg="SSD_r6"):
        check_name(name, what="volume name")
        if self.volume(name):
            raise wsapi_error(409, EXISTENT_VOL, "volume exists: %s" % name)
        vid = self.store.next_id("volumes")
        v = {"id": vid, "name": name, "wwn": (wwn or wwn_for(vid)).upper(), "size": size,
             "userCPG": user_cpg, "snapCPG": snap_cpg, "copyType": 1, "copyOf": None,
             "creationTime8601": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}
        self.store.volumes.append(v)
        self.fabric.create_file(name, size)
        return v

    def rename_file(self, old, new):
        """A volume's bytes follow it to its new name."""
        if self.args.root:
            import os
            os.replace(self.fabric.path(old), self.fabric.path(new))

    def volume_item(self, v):
        it = {"id": v["id"], "name": v["name"], "wwn": v["wwn"], "sizeMiB": v["size"] >> 20,
              "provisioningType": 2, "copyType": v["copyType"], "state": 1,
              "userCPG": v["userCPG"], "creationTime8601": v["creationTime8601"],
              "uuid": "%08x-0000-4000-8000-%012x" % (v["id"], v["id"])}
        if v["snapCPG"]:
            it["snapCPG"] = v["snapCPG"]
        if v["copyOf"] is not None:
            base = self.volume_by_id(v["copyOf"])
            it["copyOf"] = base["name"] if base else ""
            it["baseId"] = v["copyOf"]
        return it

    def host_item(self, h):
        return {"id": h["id"], "name": h["name"], "persona": h["persona"],
                "FCPaths": [{"wwn": w, "portPos": {"node": 0, "slot": 1, "cardPort": 1}}
                            for w in h["FCWWNs"]],
                "iSCSIPaths": [{"name": n, "IPAddr": "0.0.0.0", "hostSpeed": 0} for n in h["iSCSINames"]],
                "descriptors": {"os": "ESXi"}}

    def vlun_item(self, l):
        v = self.volume_by_id(l["volume"])
        return {"lun": l["lun"], "volumeName": v["name"], "volumeWWN": v["wwn"],
                "hostname": l["hostname"], "type": 5 if l["hostname"].startswith("set:") else 3,
                "active": True}

    def listing(self, items):
        return 200, {"total": len(items), "members": items}

    # -- handlers -----------------------------------------------------------------
    def h_api(self, req):
        return 200, {"major": 1, "minor": 10, "revision": 0, "build": self.store.build}

    def h_login(self, req):
        b = check_body(req, {"user": str, "password": str, "sessionType": int}, ("user", "password"),
                       "credentials")
        if b["user"] != self.args.username or b["password"] != self.args.password:
            raise wsapi_error(403, INV_USER_PASS, "invalid username or password")
        return self.session_answer(b["user"], {}, status=201)

    def h_logout(self, req, key):
        if self.sessions.check(key) is None:
            raise wsapi_error(404, INV_SESSION, "invalid session key")
        self.sessions.drop(key)
        self.changed()
        return 200, None

    def h_system(self, req):
        return 200, dict(self.store.system)

    def h_volumes_get(self, req):
        vols = list(self.store.volumes)
        q = req.q("query")
        if q is not None:
            lst, field, value = parse_query(q)
            if lst is not None or field not in ("wwn", "name", "id", "userCPG"):
                raise wsapi_error(400, INV_INPUT, "invalid input: unsupported query field")
            vols = [v for v in vols if str(self.volume_item(v).get(field, "")).upper() == value.upper()]
        return self.listing([self.volume_item(v) for v in vols])

    def h_volume_get(self, req, name):
        return 200, self.volume_item(self.must_volume(name))

    def h_volume_put(self, req, name):
        v = self.must_volume(name)
        b = check_body(req, {"newName": str, "comment": str, "snapCPG": str, "userCPG": str,
                             "action": int, "online": bool, "priority": int,
                             "allowRemoteCopyParent": bool, "expirationHours": int,
                             "retentionHours": int}, (), "volume")
        if "action" in b:
            if set(b) - {"action", "online", "priority", "allowRemoteCopyParent"}:
                raise wsapi_error(400, PARAM_CONFLICT, "invalid input: parameters cannot be present at the same time")
            if b["action"] != 4:
                raise wsapi_error(400, INV_INPUT, "invalid input: unsupported action %d" % b["action"])
            return self.promote(v, bool(b.get("online")))
        if "newName" in b and b["newName"] != v["name"]:
            check_name(b["newName"], what="volume name")
            if self.volume(b["newName"]):
                raise wsapi_error(409, EXISTENT_VOL, "volume exists: %s" % b["newName"])
            self.rename_file(v["name"], b["newName"])
            v["name"] = b["newName"]
        if "snapCPG" in b:
            v["snapCPG"] = b["snapCPG"]
        if "userCPG" in b:
            v["userCPG"] = b["userCPG"]
        self.changed()
        return 200, None

    def promote(self, v, online):
        if v["copyType"] != 3 or v["copyOf"] is None:
            raise wsapi_error(400, INV_INPUT, "volume is not a virtual copy: %s" % v["name"])
        if not online:
            raise wsapi_error(400, INV_INPUT, "promote of an exported base needs online")
        # A "promote_task http ..." fault line makes the task end failed (status 4).
        outcome = 4 if any(k == "http" for k, _ in self.faults.take("promote_task")) else 1
        t = {"id": self.store.next_id("tasks"), "type": 17, "name": "promote_sv " + v["name"],
             "status": 2, "polls_left": self.store.task_polls, "outcome": outcome,
             "volume": v["id"],
             "startTime": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "user": "3paradm"}
        self.store.tasks.append(t)
        self.changed()
        return 200, {"taskid": t["id"]}

    def h_volume_post(self, req, name):
        src = self.must_volume(name)
        b = check_body(req, {"action": str, "parameters": {"name": str, "id": int, "comment": str,
                                                           "readOnly": bool, "expirationHours": int,
                                                           "retentionHours": int}},
                       ("action", "parameters"), "volume action")
        if b["action"] != "createSnapshot":
            raise wsapi_error(400, INV_INPUT, "invalid input: unsupported action '%s'" % b["action"])
        p = b["parameters"]
        if "name" not in p:
            raise wsapi_error(400, MISSING_REQUIRED, "invalid input: missing required parameter 'name'")
        if not src["snapCPG"] and self.store.build < BUILD_2023:
            raise wsapi_error(400, INV_INPUT, "volume has no snapshot CPG: %s" % src["name"])
        snap = self.add_volume(p["name"], src["size"], None, src["userCPG"], src["snapCPG"])
        snap["copyType"], snap["copyOf"] = 3, src["id"]
        self.fabric.copy_file(src["name"], snap["name"])
        self.changed()
        return 201, None

    def h_volume_delete(self, req, name):
        v = self.must_volume(name)
        if any(l["volume"] == v["id"] for l in self.store.vluns):
            raise wsapi_error(409, EXPORTED_VLUN, "volume is exported: %s" % name)
        if any(c["copyOf"] == v["id"] for c in self.store.volumes):
            raise wsapi_error(409, HAS_CHILDREN, "volume has virtual copies: %s" % name)
        self.store.volumes.remove(v)
        self.fabric.delete_file(v["name"])
        self.changed()
        return 200, None

    def h_task_get(self, req, tid):
        t = next((t for t in self.store.tasks if str(t["id"]) == tid), None)
        if t is None:
            raise wsapi_error(404, NON_EXISTENT_TASK, "task does not exist: %s" % tid)
        if t["status"] == 2:
            if t["polls_left"] > 0:
                t["polls_left"] -= 1
            else:
                t["status"] = t["outcome"]
                v = self.volume_by_id(t["volume"])
                if t["status"] == 1 and v is not None:
                    # The virtual copy is now a base volume with the bytes it shows.
                    v["copyType"], v["copyOf"] = 1, None
            self.changed()
        return 200, {k: t[k] for k in ("id", "type", "name", "status", "startTime", "user")}

    # hosts
    def h_hosts_get(self, req):
        hosts = list(self.store.hosts)
        q = req.q("query")
        if q is not None:
            lst, field, value = parse_query(q)
            if (lst, field) == ("FCPaths", "wwn"):
                w = common.wwpn_hex(value)
                hosts = [h for h in hosts if w and w.upper() in h["FCWWNs"]]
            elif (lst, field) == ("iSCSIPaths", "name"):
                hosts = [h for h in hosts if value in h["iSCSINames"]]
            elif (lst, field) == (None, "name"):
                hosts = [h for h in hosts if h["name"] == value]
            else:
                raise wsapi_error(400, INV_INPUT, "invalid input: unsupported query field")
        return self.listing([self.host_item(h) for h in hosts])

    def check_paths(self, wwns, iqns, owner):
        out = []
        for w in wwns:
            h = common.wwpn_hex(w) if len(w.replace(":", "")) == 16 else None
            if not h:
                raise wsapi_error(400, WRONG_TYPE, "invalid input: WWN '%s' is not 16 hex digits" % w)
            out.append(h.upper())
        for h in self.store.hosts:
            if h["name"] == owner:
                continue
            for w in out:
                if w in h["FCWWNs"]:
                    raise wsapi_error(409, EXISTENT_PATH, "WWN %s already claimed by host %s" % (w, h["name"]))
            for i in iqns:
                if i in h["iSCSINames"]:
                    raise wsapi_error(409, EXISTENT_PATH, "iSCSI name %s already claimed by host %s" % (i, h["name"]))
        return out

    def h_hosts_post(self, req):
        b = check_body(req, {"name": str, "persona": int, "FCWWNs": [str], "iSCSINames": [str],
                             "domain": str, "descriptors": {"os": str, "comment": str},
                             "forceTearDown": bool}, ("name",), "host")
        check_name(b["name"], what="host name")
        if "FCWWNs" in b and "iSCSINames" in b:
            raise wsapi_error(400, PARAM_CONFLICT, "FCWWNs and iSCSINames are both specified")
        if self.host(b["name"]):
            raise wsapi_error(409, EXISTENT_HOST, "host exists: %s" % b["name"])
        iqns = list(b.get("iSCSINames", []))
        wwns = self.check_paths(b.get("FCWWNs", []), iqns, b["name"])
        h = {"id": self.store.next_id("hosts"), "name": b["name"], "persona": b.get("persona", 1),
             "FCWWNs": wwns, "iSCSINames": iqns}
        self.store.hosts.append(h)
        self.changed()
        return 201, None, {"Location": "/api/v1/hosts/" + h["name"]}

    def h_host_put(self, req, name):
        h = self.host(name)
        if not h:
            raise wsapi_error(404, NON_EXISTENT_HOST, "host does not exist: %s" % name)
        b = check_body(req, {"pathOperation": int, "FCWWNs": [str], "iSCSINames": [str],
                             "newName": str, "persona": int, "forcePathRemoval": bool}, (), "host")
        if "FCWWNs" in b and "iSCSINames" in b:
            raise wsapi_error(400, PARAM_CONFLICT, "FCWWNs and iSCSINames are both specified")
        if ("FCWWNs" in b or "iSCSINames" in b) and b.get("pathOperation") not in (1, 2):
            raise wsapi_error(400, MISSING_REQUIRED, "pathOperation is missing or invalid")
        iqns = list(b.get("iSCSINames", []))
        wwns = self.check_paths(b.get("FCWWNs", []), iqns, h["name"])
        if b.get("pathOperation") == 1:
            h["FCWWNs"] += [w for w in wwns if w not in h["FCWWNs"]]
            h["iSCSINames"] += [i for i in iqns if i not in h["iSCSINames"]]
        elif b.get("pathOperation") == 2:
            h["FCWWNs"] = [w for w in h["FCWWNs"] if w not in wwns]
            h["iSCSINames"] = [i for i in h["iSCSINames"] if i not in iqns]
        if "persona" in b:
            h["persona"] = b["persona"]
        self.changed()
        return 200, None

    # host sets
    def must_set(self, name):
        s = self.hostset(name)
        if not s:
            raise wsapi_error(404, NON_EXISTENT_SET, "host set does not exist: %s" % name)
        return s

    def h_hostset_get(self, req, name):
        s = self.must_set(name)
        return 200, {"id": s["id"], "name": s["name"], "setmembers": list(s["setmembers"])}

    def check_members(self, members):
        for m in members:
            if not self.host(m):
                raise wsapi_error(404, NON_EXISTENT_HOST, "host does not exist: %s" % m)

    def h_hostsets_post(self, req):
        b = check_body(req, {"name": str, "comment": str, "domain": str, "setmembers": [str]},
                       ("name",), "host set")
        check_name(b["name"], SET_NAME_MAX, "host set name")
        if self.hostset(b["name"]):
            raise wsapi_error(409, EXISTENT_SET, "set exists: %s" % b["name"])
        members = list(dict.fromkeys(b.get("setmembers", [])))
        self.check_members(members)
        self.store.hostsets.append({"id": self.store.next_id("hostsets"), "name": b["name"],
                                    "setmembers": members})
        self.changed()
        return 201, None, {"Location": "/api/v1/hostsets/" + b["name"]}

    def h_hostset_put(self, req, name):
        s = self.must_set(name)
        b = check_body(req, {"action": int, "setmembers": [str], "newName": str, "comment": str},
                       (), "host set")
        if "setmembers" in b:
            if b.get("action") not in (1, 2):
                raise wsapi_error(400, INV_INPUT, "invalid input: bad enum value - action")
            self.check_members(b["setmembers"])
            if b["action"] == 1:
                for m in b["setmembers"]:
                    if m in s["setmembers"]:
                        raise wsapi_error(409, MEMBER_IN_SET, "host %s is already a member of set %s" % (m, name))
                s["setmembers"] += b["setmembers"]
            else:
                s["setmembers"] = [m for m in s["setmembers"] if m not in b["setmembers"]]
        self.changed()
        return 200, None

    # VLUNs
    def h_vluns_get(self, req):
        return self.listing([self.vlun_item(l) for l in self.store.vluns])

    def h_vluns_post(self, req):
        b = check_body(req, {"volumeName": str, "lun": int, "hostname": str, "autoLun": bool,
                             "noVcn": bool, "overrideLowerPriority": bool,
                             "portPos": {"node": int, "slot": int, "cardPort": int}},
                       ("volumeName", "lun"), "VLUN")
        if b.get("autoLun") is not True:
            raise wsapi_error(400, INV_INPUT, "invalid input: LUN %d requires autoLun on this system" % b["lun"])
        if "hostname" not in b:
            raise wsapi_error(400, MISSING_REQUIRED, "invalid input: missing required parameter 'hostname'")
        v = self.must_volume(b["volumeName"])
        hn = b["hostname"]
        if hn.startswith("set:"):
            self.must_set(hn[4:])
        elif not self.host(hn):
            raise wsapi_error(404, NON_EXISTENT_HOST, "host does not exist: %s" % hn)
        if any(l["volume"] == v["id"] and l["hostname"] == hn for l in self.store.vluns):
            raise wsapi_error(409, EXISTENT_VLUN, "VLUN already exists: %s to %s" % (v["name"], hn))
        used = {l["lun"] for l in self.store.vluns if l["hostname"] == hn}
        lun = b["lun"]
        if not 0 <= lun <= 16383:
            raise wsapi_error(400, INV_INPUT, "invalid input: LUN out of range")
        while lun in used:
            lun += 1
        self.store.vluns.append({"volume": v["id"], "hostname": hn, "lun": lun})
        self.changed()
        return 201, None, {"Location": "/api/v1/vluns/%s,%d,%s" % (v["name"], lun, hn)}

    def h_vlun_delete(self, req, spec):
        parts = spec.split(",")
        if len(parts) < 3 or not parts[1].isdigit():
            raise wsapi_error(400, INV_INPUT, "invalid input: VLUN id '%s'" % spec)
        name, lun, hn = parts[0], int(parts[1]), parts[2]
        v = self.must_volume(name)
        for l in self.store.vluns:
            if l["volume"] == v["id"] and l["lun"] == lun and l["hostname"] == hn:
                self.store.vluns.remove(l)
                self.changed()
                return 200, None
        raise wsapi_error(404, NON_EXISTENT_VLUN, "VLUN does not exist: %s" % spec)


def extra_args(ap):
    ap.add_argument("--username", default="3paradm")
    ap.add_argument("--password", default="3pardata")


# -- the test world ---------------------------------------------------------------
WORLD_HANDLE = "pvc-5c9d270a-3f1e-4b7a-9d2c-0e1f2a3b4c5d"
WORLD_VOLUME = WORLD_HANDLE[:NAME_MAX]
WORLD_WWN = "60002AC0000000000000182D00021F6B"
WORLD_CONF_RDM_WWN = "60002AC0000000000000182D00021F7C"


def world_seed(w):
    """The world's Primera: the HPE CSI volume of the PV (its handle is longer
    than 31 characters, so the driver cuts it) of the VM disk's size, plus the
    sources of the array-side copies: a volume whose WWN is the world's VVol
    id and, when the RDM disk's NAA is an HPE one (WORLD_RDM_NAA), the
    volume behind it; and, whatever the RDM VM's array, the conformance
    suite's RDM source (CONF_RDM_SOURCE, its device CONF_RDM_NAA)."""
    vols = [{"name": WORLD_VOLUME, "size": w.size, "wwn": WORLD_WWN},
            {"name": "rdm-conf-1", "size": w.size, "wwn": WORLD_CONF_RDM_WWN}]
    facts = [("VOLUME_HANDLE", WORLD_HANDLE), ("VOLUME", WORLD_VOLUME),
             ("NAA", "naa." + WORLD_WWN.lower()), ("ATTRS", ""),
             ("CONF_RDM_SOURCE", "rdm-conf-1"), ("CONF_RDM_NAA", "naa." + WORLD_CONF_RDM_WWN.lower())]
    vv = w.vvol.lower()
    for p in ("rfc4122.", "naa."):
        if vv.startswith(p):
            vv = vv[len(p):]
    vv = vv.replace("-", "")
    if re.fullmatch(r"[0-9a-f]{32}", vv):
        vols.append({"name": "vvol-src-1", "size": w.size, "wwn": vv.upper()})
        facts.append(("VVOL_SOURCE", "vvol-src-1"))
    if w.rdm.lower().startswith("naa.60002ac") and len(w.rdm) == 36 and \
            w.rdm[4:].upper() != WORLD_CONF_RDM_WWN:
        vols.append({"name": "rdm-src-1", "size": w.size, "wwn": w.rdm[4:].upper()})
        facts.append(("RDM_SOURCE", "rdm-src-1"))
    return {"volumes": vols, "fc_node_names": w.fc_node_names()}, facts


FAKE = common.Descriptor(
    name="primera3par", product="primera3par", env="PRIMERA3PAR", order=40,
    args=["--username", "3paradm", "--password", "3par-Sim.1"],
    env_facts=[("USERNAME", "3paradm"), ("PASSWORD", "3par-Sim.1")],
    sessions=True, default_seed={}, world_seed=world_seed)


if __name__ == "__main__":
    common.main(Primera, "Simulated HPE Primera/3PAR WSAPI (our model, for tests)", extra_args)
