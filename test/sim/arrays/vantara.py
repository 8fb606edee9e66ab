#!/usr/bin/env python3
"""Simulated Hitachi VSP: our own model of the Configuration Manager REST API
(/ConfigurationManager), for tests.

Built from Hitachi's public Configuration Manager REST API documentation and
the traffic notes in shared/spec/vendors-b.md §5 and vendor-corrections.md
§1.  It is not Hitachi code and not a complete array: it models LDEVs (with
real bytes in sparse files), ports with their logins, host groups with WWNs,
LU paths, clone pairs (Thin Image "snapshots" with isClone), sessions and
asynchronous jobs.

What it models:
  * GET /ConfigurationManager/configuration/version (no auth) ->
    {"productName", "apiVersion": "1.9.0"} (seed "api_version" overrides).
  * POST /v1/objects/sessions with HTTP Basic and an optional body
    {"aliveTime": 1..300, "authenticationTimeout": 1..900} -> 200
    {"token", "sessionId"}.  Every other /v1 call needs "Authorization:
    Session <token>"; a session lives aliveTime seconds (300 by default,
    --session-ttl caps it) after its last use, then answers 401.
    DELETE /v1/objects/sessions/<id> ends it.
  * ldevs/<id> (an undefined id answers 200 with emulationType "NOT
    DEFINED" and no naaId, as the array does), ports (?detailInfoType=logins
    adds the logins: hostGroupId "PORT,HG", loginWwn upper-case, isLogin a
    JSON boolean), storages, storages/<id>.
  * LU paths: POST luns {"ldevId","portId","hostGroupNumber"[,"lun"]} and
    DELETE luns/<port>,<hg>,<lun> answer 202 with a job; GET jobs/<id> says
    status "Running" for --job-polls polls, then "Completed" with state
    "Succeeded" or "Failed" and the error (a path that already exists is SSB
    B958/015A).  Numbers may come as JSON numbers or digit strings (the Go
    populator sends strings, and arrays in the field take them).
  * Clones: POST snapshots {"snapshotGroupName","snapshotPoolId",
    "pvolLdevId","svolLdevId","isClone","canCascade","clonesAutomation",
    "copySpeed"} -> job; the pair is "COPY" (concordanceRate rising) for
    --clone-polls polls of GET snapshots?snapshotGroupName=&pvolLdevId=, then
    the bytes are copied and it is "PSUP"; clonesAutomation deletes it a
    second later (or when the next clone is asked for).
  * errors: {"errorSource","message","cause","solution","messageId"} with a
    KART message id; unknown body fields and wrong types are 400 KART40040-E.
  * A path publishes FABRIC/luns/<naa>.json with the WWNs of every host group
    the LDEV has a path through.

Operation names (for --faults and the call log):
  version session_create session_delete
  ldev_get ports_get luns_post luns_delete jobs_get
  snapshots_post snapshots_get storages_get storage_get   (unknown path: "unknown").

Seed (--seed FILE, JSON), all optional:
  {"storage": {"storageDeviceId": "886000123456", "serialNumber": 123456,
               "model": "VSP E990", "dkcMicroVersion": "93-06-21-80/00"},
   "ports": [{"portId": "CL1-A", "wwn": "50060E8012345600"}],
   "host_groups": [{"portId": "CL1-A", "hostGroupNumber": 1, "hostGroupName": "esx",
                    "wwns": ["21000024FF5E0001"], "offline": ["..."]}],
   "ldevs": [{"ldevId": 291, "label": "pvc-1", "size": 8388608, "poolId": 3,
              "naaId": "60060E80..."}],
   "luns": [{"ldevId": 291, "portId": "CL3-A", "hostGroupNumber": 7, "lun": 4}],
   "fc_node_names": {"<wwpn hex>": "<wwnn hex>"}}
Credentials: --username/--password (default maintenance / raid-maintenance).
"""

import sys
import base64
import time

sys.dont_write_bytecode = True  # keep the source tree clean
import common  # noqa: E402
from common import ApiError

CM = "/ConfigurationManager"
V1 = CM + "/v1/objects/"
SPEEDS = ("slower", "medium", "faster")
SSB_PATH_EXISTS = ("B958", "015A")
SSB_NO_HOST_GROUP = ("B958", "0920")
SSB_LDEV_UNDEFINED = ("B958", "0B2B")


def vsp_error(status, message, message_id, source="", solution=None):
    body = {"errorSource": source, "message": message, "messageId": message_id,
            "solution": solution or "Check the request and try again."}
    return ApiError(status, body)


def as_int(v):
    """A JSON number or a string of digits as int, else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.isdigit():
        return int(v)
    return None


def as_bool(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    return None


class Vantara(common.ArrayFake):
    array = "vantara"
    scsi_vendor = "HITACHI"
    scsi_model = "OPEN-V"
    public_ops = ("version", "session_create", "unknown")
    state = {"collections": ["ldevs", "ports", "host_groups", "luns", "jobs", "pairs"],
             "values": {"storage": {}, "api_version": "1.9.0"}}
    routes = [
        ("GET", CM + "/configuration/version", "version", "h_version"),
        ("POST", V1 + "sessions", "session_create", "h_session_create"),
        ("DELETE", V1 + "sessions/{sid}", "session_delete", "h_session_delete"),
        ("GET", V1 + "ldevs/{lid}", "ldev_get", "h_ldev_get"),
        ("GET", V1 + "ports", "ports_get", "h_ports_get"),
        ("POST", V1 + "luns", "luns_post", "h_luns_post"),
        ("DELETE", V1 + "luns/{path}", "luns_delete", "h_luns_delete"),
        ("GET", V1 + "jobs/{jid}", "jobs_get", "h_jobs_get"),
        ("POST", V1 + "snapshots", "snapshots_post", "h_snapshots_post"),
        ("GET", V1 + "snapshots", "snapshots_get", "h_snapshots_get"),
        ("GET", V1 + "storages", "storages_get", "h_storages_get"),
        ("GET", V1 + "storages/{sid}", "storage_get", "h_storage_get"),
    ]

    def __init__(self, args):
        self.session_meta = {}  # token -> {"id", "alive"}
        super().__init__(args)

    # -- errors ---------------------------------------------------------------
    def error_body(self, status, message, code=None):
        ids = {400: "KART40040-E", 401: "KART40047-E", 404: "KART30003-E", 503: "KART30090-E"}
        return {"errorSource": "", "message": message,
                "messageId": code if code and code.startswith("KART") else ids.get(status, "KART30000-E"),
                "solution": "Check the request and try again."}

    def not_found(self, req):
        return vsp_error(404, "The specified resource does not exist.", "KART30003-E", req.path)

    def bad_field(self, req):
        def bad(field, problem):
            what = "is not supported" if problem == "unknown" else "has an invalid value or type"
            raise vsp_error(400, "The request body parameter %s %s." % (field, what), "KART40040-E",
                            req.path)
        return bad

    # -- state ----------------------------------------------------------------
    def load_seed(self, seed):
        s = seed.get("storage", {})
        serial = int(s.get("serialNumber", 123456))
        self.store.storage = {"storageDeviceId": s.get("storageDeviceId", "886000%06d" % serial),
                              "serialNumber": serial, "model": s.get("model", "VSP E990"),
                              "dkcMicroVersion": s.get("dkcMicroVersion", "93-06-21-80/00"),
                              "svpIp": "127.0.0.1"}
        self.store.api_version = seed.get("api_version", "1.9.0")
        self.store.ports = [{"portId": p["portId"], "wwn": p.get("wwn", "50060E80%06d%02X" % (serial, i)).upper(),
                             "portType": "FIBRE"}
                            for i, p in enumerate(seed.get("ports", [{"portId": "CL1-A"}]))]
        self.store.host_groups = [{"portId": g["portId"], "hostGroupNumber": int(g["hostGroupNumber"]),
                                   "hostGroupName": g.get("hostGroupName", "hg-%d" % g["hostGroupNumber"]),
                                   "hostMode": "VMWARE_EX", "hostModeOptions": [54, 63],
                                   "wwns": [common.wwpn_hex(w).upper() for w in g.get("wwns", [])],
                                   "offline": [common.wwpn_hex(w).upper() for w in g.get("offline", [])]}
                                  for g in seed.get("host_groups", [])]
        self.store.ldevs, self.store.luns, self.store.jobs, self.store.pairs = [], [], [], []
        for d in seed.get("ldevs", []):
            lid = int(d["ldevId"])
            naa = (d.get("naaId") or self.naa_for(lid)).upper()
            self.store.ldevs.append({"ldevId": lid, "label": d["label"], "size": int(d.get("size", 1 << 20)),
                                     "poolId": int(d.get("poolId", 3)), "naaId": naa})
            self.fabric.create_file(d["label"], int(d.get("size", 1 << 20)))
        for p in seed.get("luns", []):
            self.add_path(int(p["ldevId"]), p["portId"], int(p["hostGroupNumber"]), p.get("lun"))

    def naa_for(self, lid):
        return "60060E80%06d00505012340000%04X" % (self.store.storage["serialNumber"] % 1000000, lid)

    def sim_volumes(self):
        return [{"key": d["ldevId"], "name": d["label"], "id": str(d["ldevId"]),
                 "naa": "naa." + d["naaId"].lower(), "size": d["size"]} for d in self.store.ldevs]

    def sim_groups(self):
        # A WWN that is not logged in to the port cannot see what is mapped.
        return [{"key": self.hg_id(g), "name": self.hg_id(g),
                 "initiators": [w for w in g["wwns"] if w not in g["offline"]]}
                for g in self.store.host_groups]

    def sim_mappings(self):
        return [("%s,%d" % (p["portId"], p["hostGroupNumber"]), p["ldevId"], p["lun"]) for p in self.store.luns]

    @staticmethod
    def hg_id(g):
        return "%s,%d" % (g["portId"], g["hostGroupNumber"])

    # -- lookups --------------------------------------------------------------
    def ldev(self, lid):
        return self.store.find("ldevs", ldevId=lid)

    def host_group(self, port, num):
        return self.store.find("host_groups", portId=port, hostGroupNumber=num)

    def add_path(self, lid, port, num, lun=None):
        used = {p["lun"] for p in self.store.luns if p["portId"] == port and p["hostGroupNumber"] == num}
        if lun is None:
            lun = next(n for n in range(0, 2048) if n not in used)
        p = {"ldevId": lid, "portId": port, "hostGroupNumber": num, "lun": lun}
        self.store.luns.append(p)
        return p

    # -- sessions -------------------------------------------------------------
    def authenticate(self, req, op):
        if getattr(req, "expired", False):
            self.session_meta.clear()
        if op in self.public_ops:
            return
        auth = req.headers.get("Authorization") or ""
        tok = auth[len("Session "):] if auth.startswith("Session ") else None
        user = self.sessions.check(tok)
        meta = self.session_meta.get(tok or "")
        if user is None or meta is None or time.time() > meta["until"]:
            if tok:
                self.sessions.drop(tok)
                self.session_meta.pop(tok, None)
            raise vsp_error(401, "The session is not valid or has timed out. Create a new session.",
                            "KART40047-E", req.path)
        meta["until"] = time.time() + meta["alive"]  # idle lifetime
        req.user = user
        req.token = tok

    def h_version(self, req):
        return 200, {"productName": "Configuration Manager REST API", "apiVersion": self.store.api_version}

    def h_session_create(self, req):
        user, pw = req.basic_auth()
        if user != self.args.username or pw != self.args.password:
            raise vsp_error(401, "The user ID or password is incorrect.", "KART40049-E", req.path)
        b = req.body if req.body is not None else {}
        common.check_fields(b, {"aliveTime": int, "authenticationTimeout": int}, self.bad_field(req))
        alive = b.get("aliveTime", 300)
        if not 1 <= alive <= 300:
            raise vsp_error(400, "The value of aliveTime must be from 1 to 300.", "KART40040-E", req.path)
        if self.args.session_ttl > 0:
            alive = min(alive, self.args.session_ttl)
        tok = self.sessions.new(user)
        sid = self.store.next_id("sessions")
        self.session_meta[tok] = {"id": sid, "alive": alive, "until": time.time() + alive}
        self.changed()
        return 200, {"token": tok, "sessionId": sid}

    def h_session_delete(self, req, sid):
        for tok, meta in list(self.session_meta.items()):
            if str(meta["id"]) == sid:
                self.sessions.drop(tok)
                del self.session_meta[tok]
                self.changed()
                return 200, {"sessionId": meta["id"]}
        raise self.not_found(req)

    # -- jobs -----------------------------------------------------------------
    def job_doc(self, job):
        doc = {"jobId": job["id"], "self": V1 + "jobs/%d" % job["id"], "userId": job.get("user", ""),
               "status": "Running" if job["state"] == "running" else "Completed",
               "state": {"running": "Started", "done": "Succeeded", "failed": "Failed"}[job["state"]],
               "createdTime": job["created"], "updatedTime": job["created"],
               "request": job["request"], "affectedResources": job.get("result") or []}
        if job["state"] == "failed":
            doc["error"] = job["error"]["body"]
        return doc

    def async_job(self, req, work):
        def run():
            return work()
        job = self.job_start(run, polls=self.args.job_polls, user=req.user, created=time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime()), request={"requestUrl": req.path, "requestMethod": req.method,
                                                          "requestBody": req.body})
        return 202, self.job_doc(job)

    def job_failure(self, req, message, ssb):
        body = {"errorSource": req.path, "message": message, "messageId": "KART30000-E",
                "cause": "An error occurred in the storage system.",
                "solution": "Check the SSB codes.", "errorCode": {"SSB1": ssb[0], "SSB2": ssb[1]}}
        return ApiError(500, body)

    job_start = common.Jobs.job_start
    job_poll = common.Jobs.job_poll

    def h_jobs_get(self, req, jid):
        job = self.job_poll(jid)
        if job is None:
            raise self.not_found(req)
        return 200, self.job_doc(job)

    # -- LDEVs, ports, storage ------------------------------------------------
    def ldev_doc(self, d):
        ports = [{"portId": p["portId"], "hostGroupNumber": p["hostGroupNumber"],
                  "hostGroupName": self.host_group(p["portId"], p["hostGroupNumber"])["hostGroupName"],
                  "lun": p["lun"]}
                 for p in self.store.luns if p["ldevId"] == d["ldevId"]]
        doc = {"ldevId": d["ldevId"], "clprId": 0, "emulationType": "OPEN-V-CVS",
               "byteFormatCapacity": "%d M" % (d["size"] >> 20), "blockCapacity": d["size"] // 512,
               "numOfPorts": len(ports), "attributes": ["CVS", "HDP"], "label": d["label"],
               "status": "NML", "poolId": d["poolId"], "naaId": d["naaId"], "dataReductionMode": "disabled"}
        if ports:
            doc["ports"] = ports
        return doc

    def h_ldev_get(self, req, lid):
        n = as_int(lid)
        if n is None or n > 65279:
            raise vsp_error(400, "The value of the object ID (%s) is invalid." % lid, "KART40044-E", req.path)
        d = self.ldev(n)
        if d is None:
            return 200, {"ldevId": n, "emulationType": "NOT DEFINED", "ssid": "0004", "resourceGroupId": 0}
        return 200, self.ldev_doc(d)

    def h_ports_get(self, req):
        detail = req.q("detailInfoType")
        if detail not in (None, "logins"):
            raise vsp_error(400, "The value of detailInfoType is invalid.", "KART40040-E", req.path)
        data = []
        for p in self.store.ports:
            doc = {"portId": p["portId"], "portType": p["portType"], "portAttributes": ["TAR"],
                   "portSpeed": "AUT", "loopId": "EF", "fabricMode": True, "portConnection": "PtoP",
                   "lunSecuritySetting": True, "wwn": p["wwn"]}
            if detail == "logins":
                doc["logins"] = [{"hostGroupId": self.hg_id(g), "isLogin": w not in g["offline"], "loginWwn": w}
                                 for g in self.store.host_groups if g["portId"] == p["portId"]
                                 for w in g["wwns"]]
            data.append(doc)
        return 200, {"data": data}

    def h_storages_get(self, req):
        s = self.store.storage
        return 200, {"data": [{"storageDeviceId": s["storageDeviceId"], "model": s["model"],
                               "serialNumber": s["serialNumber"], "svpIp": s["svpIp"]}]}

    def h_storage_get(self, req, sid):
        if sid != self.store.storage["storageDeviceId"]:
            raise self.not_found(req)
        return 200, dict(self.store.storage)

    # -- LU paths -------------------------------------------------------------
    def h_luns_post(self, req):
        common.check_fields(req.body, {"ldevId": (int, str), "portId": str, "hostGroupNumber": (int, str),
                                       "lun": (int, str)}, self.bad_field(req))
        b = req.body
        lid, num = as_int(b.get("ldevId")), as_int(b.get("hostGroupNumber"))
        port = b.get("portId")
        if lid is None or num is None or not port:
            raise vsp_error(400, "ldevId, portId and hostGroupNumber are required.", "KART40040-E", req.path)

        def work():
            if self.ldev(lid) is None:
                raise self.job_failure(req, "The LDEV %d is not defined." % lid, SSB_LDEV_UNDEFINED)
            if self.host_group(port, num) is None:
                raise self.job_failure(req, "The host group %s,%d does not exist." % (port, num),
                                       SSB_NO_HOST_GROUP)
            if self.store.find("luns", ldevId=lid, portId=port, hostGroupNumber=num):
                raise self.job_failure(req, "The LU path is already defined.", SSB_PATH_EXISTS)
            p = self.add_path(lid, port, num, as_int(b.get("lun")))
            self.changed()
            return [V1 + "luns/%s,%d,%d" % (port, num, p["lun"])]
        return self.async_job(req, work)

    def h_luns_delete(self, req, path):
        parts = path.split(",")
        if len(parts) != 3 or as_int(parts[1]) is None or as_int(parts[2]) is None:
            raise vsp_error(400, "The value of the object ID (%s) is invalid." % path, "KART40044-E", req.path)
        p = self.store.find("luns", portId=parts[0], hostGroupNumber=int(parts[1]), lun=int(parts[2]))
        if p is None:
            raise self.not_found(req)
        if req.body not in (None, {}):
            raise self.bad_field(req)("body", "unknown")

        def work():
            self.store.luns.remove(p)
            self.changed()
            return [V1 + "luns/" + path]
        return self.async_job(req, work)

    # -- clones ---------------------------------------------------------------
    def h_snapshots_post(self, req):
        common.check_fields(req.body, {"snapshotGroupName": str, "snapshotPoolId": (int, str),
                                       "pvolLdevId": (int, str), "svolLdevId": (int, str),
                                       "isClone": (bool, str), "canCascade": (bool, str),
                                       "clonesAutomation": (bool, str), "copySpeed": str,
                                       "isConsistencyGroup": bool, "autoSplit": bool, "muNumber": int},
                            self.bad_field(req))
        b = req.body
        name = b.get("snapshotGroupName")
        pool, pv, sv = as_int(b.get("snapshotPoolId")), as_int(b.get("pvolLdevId")), as_int(b.get("svolLdevId"))
        if not name or pool is None or pv is None or sv is None:
            raise vsp_error(400, "snapshotGroupName, snapshotPoolId, pvolLdevId and svolLdevId are required.",
                            "KART40040-E", req.path)
        speed = b.get("copySpeed", "medium")
        if speed not in SPEEDS:
            raise vsp_error(400, "The value of copySpeed is invalid.", "KART40040-E", req.path)
        clone = as_bool(b.get("isClone", False))
        self.purge(now_too=True)

        def work():
            src, dst = self.ldev(pv), self.ldev(sv)
            if src is None or dst is None:
                raise self.job_failure(req, "The LDEV is not defined.", SSB_LDEV_UNDEFINED)
            if not clone or not as_bool(b.get("canCascade", False)):
                raise self.job_failure(req, "This model only clones (isClone and canCascade).", ("B958", "0E01"))
            if pool not in {d["poolId"] for d in self.store.ldevs}:
                raise self.job_failure(req, "The pool %d does not exist." % pool, ("B958", "0E02"))
            if src["size"] > dst["size"]:
                raise self.job_failure(req, "The S-VOL is smaller than the P-VOL.", ("B958", "0E03"))
            if self.store.find("pairs", svolLdevId=sv) or self.store.find("pairs", snapshotGroupName=name,
                                                                         pvolLdevId=pv):
                raise self.job_failure(req, "The pair already exists.", ("B958", "0E04"))
            mu = len(self.store.select("pairs", pvolLdevId=pv))
            self.store.pairs.append({"snapshotGroupName": name, "pvolLdevId": pv, "svolLdevId": sv,
                                     "muNumber": mu, "snapshotPoolId": pool, "copySpeed": speed,
                                     "auto": bool(as_bool(b.get("clonesAutomation", False))),
                                     "status": "COPY", "polls": 0})
            self.changed()
            return [V1 + "snapshots/%d,%d" % (pv, mu)]
        return self.async_job(req, work)

    def pair_doc(self, p):
        total = max(1, self.args.clone_polls)
        rate = 100 if p["status"] == "PSUP" else min(99, p["polls"] * 100 // total)
        return {"snapshotGroupName": p["snapshotGroupName"], "primaryOrSecondary": "P-VOL",
                "status": p["status"], "pvolLdevId": p["pvolLdevId"], "muNumber": p["muNumber"],
                "svolLdevId": p["svolLdevId"], "snapshotPoolId": p["snapshotPoolId"],
                "concordanceRate": rate, "isClone": True, "canCascade": True, "isConsistencyGroup": False}

    def purge(self, now_too=False):
        """clonesAutomation deletes a clone pair about a second after it is
        split (copied); a new clone of the same volumes does not wait."""
        for p in list(self.store.pairs):
            if p["auto"] and p["status"] == "PSUP" and (now_too or time.time() > p["split_at"] + 1.0):
                self.store.pairs.remove(p)
                self.changed()

    def advance(self, p):
        """One poll of a pair: copying for --clone-polls polls, then the bytes
        are copied and it is PSUP."""
        if p["status"] == "PSUP":
            return True
        p["polls"] += 1
        if p["polls"] > self.args.clone_polls:
            src, dst = self.ldev(p["pvolLdevId"]), self.ldev(p["svolLdevId"])
            self.fabric.copy_file(src["label"], dst["label"])
            p["status"] = "PSUP"
            p["split_at"] = time.time()
        self.changed()
        return True

    def h_snapshots_get(self, req):
        name, pv = req.q("snapshotGroupName"), req.q("pvolLdevId")
        if pv is not None and as_int(pv) is None:
            raise vsp_error(400, "The value of pvolLdevId is invalid.", "KART40040-E", req.path)
        self.purge()
        out = []
        for p in list(self.store.pairs):
            if name is not None and p["snapshotGroupName"] != name:
                continue
            if pv is not None and p["pvolLdevId"] != int(pv):
                continue
            if self.advance(p):
                out.append(self.pair_doc(p))
        return 200, {"data": out}


def extra_args(ap):
    ap.add_argument("--username", default="maintenance")
    ap.add_argument("--password", default="raid-maintenance")
    ap.add_argument("--job-polls", type=int, default=1, help="polls a job stays Running")
    ap.add_argument("--clone-polls", type=int, default=2, help="polls a clone pair stays COPY")


# -- the test world ---------------------------------------------------------------
WORLD_SERIAL = 123456
WORLD_DEVICE_ID = "886000%06d" % WORLD_SERIAL
WORLD_LDEV = 291
WORLD_WORKER_LDEV = 292
WORLD_CONF_RDM_LDEV = 416
WORLD_WORKER_WWPN = "10000090FA000001"


def world_naa(lid):
    return "60060E80%06d00505012340000%04X" % (WORLD_SERIAL, lid)


def world_seed(w):
    """The world's VSP: LDEV 291 "pvc-1" of the VM disk's size (its HSPC
    handle is the volume handle), LDEV 292 "pvc-2" and a worker node's host
    group CL3-A,7 (tests add that path), the ESXi WWPNs in host groups on
    two ports but logged in on CL1-A only, and the sources of the array-side
    copies: the LDEV the VVol id ends in and the LDEV behind a Hitachi RDM
    NAA; and, whatever the RDM VM's array, the conformance suite's RDM
    source (CONF_RDM_SOURCE, its device CONF_RDM_NAA), an LDEV no other
    source uses.  Nothing is mapped at the start."""
    esx = sorted(w.fc_node_names())
    ldevs = [{"ldevId": WORLD_LDEV, "label": "pvc-1", "size": w.size, "poolId": 3, "naaId": world_naa(WORLD_LDEV)},
             {"ldevId": WORLD_WORKER_LDEV, "label": "pvc-2", "size": w.size, "poolId": 3,
              "naaId": world_naa(WORLD_WORKER_LDEV)}]
    facts = [("VOLUME_HANDLE", "01--fc--%s--%d--pvc-1" % (WORLD_DEVICE_ID, WORLD_LDEV)),
             ("VOLUME", "pvc-1"), ("NAA", "naa." + world_naa(WORLD_LDEV).lower()),
             ("WORKER_VOLUME_HANDLE", "01--fc--%s--%d--pvc-2" % (WORLD_DEVICE_ID, WORLD_WORKER_LDEV)),
             ("WORKER_VOLUME", "pvc-2"), ("WORKER_HG", "CL3-A,7"),
             ("WORKER_WWPN", WORLD_WORKER_WWPN.lower()),
             ("ATTRS", "ldevIDDec=%d;nickname=pvc-1" % WORLD_LDEV)]
    vv = w.vvol[-4:] if w.vvol else ""
    if len(vv) == 4 and all(c in "0123456789abcdefABCDEF" for c in vv) and int(vv, 16) not in (
            WORLD_LDEV, WORLD_WORKER_LDEV):
        lid = int(vv, 16)
        ldevs.append({"ldevId": lid, "label": "vvol-src-1", "size": w.size, "poolId": 3,
                      "naaId": world_naa(lid)})
        facts.append(("VVOL_SOURCE", "vvol-src-1"))
    if w.rdm.lower().startswith("naa.60060e80") and len(w.rdm) == 36:
        lid = int(w.rdm[-4:], 16)
        ldevs.append({"ldevId": lid, "label": "rdm-src-1", "size": w.size, "poolId": 3,
                      "naaId": w.rdm[4:].upper()})
        facts.append(("RDM_SOURCE", "rdm-src-1"))
    used = {l["ldevId"] for l in ldevs}
    lid = next(i for i in range(WORLD_CONF_RDM_LDEV, WORLD_CONF_RDM_LDEV + 4) if i not in used)
    ldevs.append({"ldevId": lid, "label": "rdm-conf-1", "size": w.size, "poolId": 3, "naaId": world_naa(lid)})
    facts += [("CONF_RDM_SOURCE", "rdm-conf-1"), ("CONF_RDM_NAA", "naa." + world_naa(lid).lower())]
    seed = {"storage": {"serialNumber": WORLD_SERIAL, "storageDeviceId": WORLD_DEVICE_ID},
            "ports": [{"portId": "CL1-A"}, {"portId": "CL2-A"}, {"portId": "CL3-A"}],
            "host_groups": [{"portId": "CL1-A", "hostGroupNumber": 1, "hostGroupName": "esx-cl1a", "wwns": esx},
                            {"portId": "CL2-A", "hostGroupNumber": 1, "hostGroupName": "esx-cl2a", "wwns": esx,
                             "offline": esx},
                            {"portId": "CL3-A", "hostGroupNumber": 7, "hostGroupName": "ocp-worker-1",
                             "wwns": [WORLD_WORKER_WWPN]}],
            "ldevs": ldevs,
            "fc_node_names": w.fc_node_names()}
    return seed, facts


FAKE = common.Descriptor(
    name="vantara", product="vantara", env="VANTARA", order=60,
    args=["--username", "maintenance", "--password", "Vsp-sim-1"],
    env_facts=[("USERNAME", "maintenance"), ("PASSWORD", "Vsp-sim-1")],
    sessions=True, default_seed={}, world_seed=world_seed,
    vendor_keys=[("STORAGE_PORT", "{port}"), ("STORAGE_ID", WORLD_DEVICE_ID)])


if __name__ == "__main__":
    common.main(Vantara, "Simulated Hitachi VSP Configuration Manager REST API (our model, for tests)",
                extra_args)
