#!/usr/bin/env python3
"""Simulated Dell PowerFlex gateway: our own model of the PowerFlex REST API
(the part the populator uses), built from the vendor's public REST API
reference and the traffic notes in shared/spec/vendors-a.md §3 and
shared/spec/vendor-corrections.md §1.  It is not Dell code and not a
complete system: it models one system, its SDCs (with their GUIDs), volumes
(with real bytes in sparse files), volume-to-SDC mappings and login tokens.

What it models:
  * GET /api/login with Basic user:password -> 200 and the token as a bare
    JSON string ("..."); wrong credentials -> 401.
  * GET /api/version -> the API version as a JSON string ("4.5").
  * Every other call (and /api/version) needs the token: Basic with an empty
    user and the token as password, or (API >= 4.0) "Bearer <token>".  An
    unknown or expired token answers 401.  There is no logout.
  * Accept / Content-Type: a "version=" parameter, when given, must be the
    array's API version (400 otherwise); a request body must be
    application/json.
  * GET /api/types/System/instances, GET /api/instances/System::<id>/
    relationships/Sdc, POST /api/types/Volume/instances/action/queryIdByKey
    {"name"} (-> the id as a JSON string), GET /api/instances/Volume::<id>
    (with mappedSdcInfo), POST .../Volume::<id>/action/addMappedSdc
    {"sdcId", "allowMultipleMappings"?, "accessMode"?} and removeMappedSdc
    {"sdcId"} or {"allSdcs"}.  Boolean-like values are strings ("TRUE",
    "true", "FALSE", "false"); unknown fields or wrong types answer 400.
  * Mapping is not idempotent: mapping an SDC that already has the volume
    is an error ("... already mapped ..."), so is unmapping an SDC that does
    not have it ("... not mapped ...").  A volume mapped to one SDC is mapped
    to another only with allowMultipleMappings.
  * errors: {"message", "httpStatusCode", "errorCode"} (our choice of codes:
    0 unauthorized, 3 not found, 4 bad request, 129 already mapped,
    131 not mapped, 130 multiple mappings refused).
  * Mapping a volume publishes FABRIC/luns/eui.<system id><volume id>.json
    with the GUIDs of the SDCs it is mapped to, which the simulated ESXi
    host matches with its scini GUID.

Operation names (for --faults and the call log):
  login version systems_get sdcs_get volume_query volume_get
  volume_map volume_unmap   (an unknown path is "unknown").

Seed (--seed FILE, JSON), all optional:
  {"system": {"id": "16 HEX", "name": "pflex-sim", "release": "R4_5.2100.0"},
   "api_version": "4.5",
   "volumes": [{"name": "k8s-…", "id": "16 HEX", "size": 8388608}],
   "sdcs": [{"id": "16 HEX", "name": "esx-0", "guid": "…", "os": "Esx"}],
   "mappings": [{"sdc": "<sdc id>", "volume": "<volume name>"}]}
Credentials: --username/--password (default admin / Flex-sim.1).
"""

import sys
import glob
import hashlib
import json
import os
import re

sys.dont_write_bytecode = True  # keep the source tree clean
import common  # noqa: E402
from common import ApiError  # noqa: E402

HEX16 = re.compile(r"[0-9a-f]{16}")
BOOLS = ("TRUE", "true", "FALSE", "false")


def pflex_error(status, message, code):
    return ApiError(status, {"message": message, "httpStatusCode": status, "errorCode": code})


def id_for(kind, name):
    return hashlib.sha256(("pflex:%s:%s" % (kind, name)).encode()).hexdigest()[:16]


class PowerFlex(common.ArrayFake):
    array = "powerflex"
    scsi_vendor = "EMC"
    scsi_model = "PowerFlex Volume"
    V = "/api/"
    routes = [
        ("GET", "/api/login", "login", "h_login"),
        ("GET", "/api/version", "version", "h_version"),
        ("GET", "/api/types/System/instances", "systems_get", "h_systems"),
        ("GET", "/api/instances/System::{sys}/relationships/Sdc", "sdcs_get", "h_sdcs"),
        ("POST", "/api/types/Volume/instances/action/queryIdByKey", "volume_query", "h_query"),
        ("GET", "/api/instances/Volume::{vid}", "volume_get", "h_volume"),
        ("POST", "/api/instances/Volume::{vid}/action/addMappedSdc", "volume_map", "h_map"),
        ("POST", "/api/instances/Volume::{vid}/action/removeMappedSdc", "volume_unmap", "h_unmap"),
    ]
    state = {"collections": ["volumes", "sdcs", "mappings"],
             "values": {"system": {}, "api_version": "4.5"}}

    # -- seed and views -------------------------------------------------------
    def load_seed(self, seed):
        s = seed.get("system", {})
        self.store.system = {"id": s.get("id", "7f5d8fc72d1cad0f").lower(),
                             "name": s.get("name", "pflex-sim"),
                             "release": s.get("release", "R4_5.2100.0")}
        self.store.api_version = seed.get("api_version", "4.5")
        self.store.volumes, self.store.sdcs, self.store.mappings = [], [], []
        for v in seed.get("volumes", []):
            vid = v.get("id", id_for("volume", v["name"])).lower()
            if not HEX16.fullmatch(vid):
                raise ValueError("PowerFlex volume ids are 16 hex digits: %r" % vid)
            self.store.volumes.append({"id": vid, "name": v["name"], "size": int(v.get("size", 1 << 23))})
            self.fabric.create_file(v["name"], int(v.get("size", 1 << 23)))
        for c in seed.get("sdcs", []):
            self.store.sdcs.append({"id": c.get("id", id_for("sdc", c["guid"])).lower(),
                                    "name": c.get("name", ""), "guid": c["guid"],
                                    "os": c.get("os", "Esx")})
        for m in seed.get("mappings", []):
            self.store.mappings.append({"sdc": m["sdc"], "volume": self.vol_by_name(m["volume"])["id"]})

    def naa(self, v):
        return "eui." + self.store.system["id"] + v["id"]

    def sim_volumes(self):
        return [{"key": v["id"], "name": v["name"], "id": v["id"], "naa": self.naa(v), "size": v["size"]}
                for v in self.store.volumes]

    def sim_groups(self):
        return [{"key": c["id"], "name": c["id"], "initiators": [c["guid"]]} for c in self.store.sdcs]

    def sim_mappings(self):
        return [(m["sdc"], m["volume"], None) for m in self.store.mappings]

    # -- lookups --------------------------------------------------------------
    def vol_by_name(self, name):
        for v in self.store.volumes:
            if v["name"] == name:
                return v
        return None

    def vol(self, vid):
        for v in self.store.volumes:
            if v["id"] == vid:
                return v
        raise pflex_error(500, "Could not find the volume", 3)

    def sdc(self, sid):
        for c in self.store.sdcs:
            if c["id"] == sid:
                return c
        raise pflex_error(500, "Could not find the SDC", 3)

    # -- protocol ---------------------------------------------------------------
    def error_body(self, status, message, code=None):
        return {"message": message, "httpStatusCode": status, "errorCode": code if isinstance(code, int) else 0}

    def not_found(self, req):
        return pflex_error(404, "Not found", 3)

    def unauthorized(self):
        return pflex_error(401, "Unauthorized", 0)

    def token_of(self, req):
        h = req.headers.get("Authorization", "")
        if h.lower().startswith("bearer "):
            if float(self.store.api_version) < 4.0:
                return None
            return h[7:].strip()
        user, pw = req.basic_auth()
        return pw if user == "" else None

    def authenticate(self, req, op):
        if op in ("unknown",):
            return
        if op == "login":
            user, pw = req.basic_auth()
            if req.expired or user != self.args.username or pw != self.args.password:
                raise self.unauthorized()
            req.user = user
            return
        user = self.sessions.check(self.token_of(req))
        if user is None:
            raise self.unauthorized()
        req.user = user
        if op == "version":
            return
        # The negotiated version travels in the media types.
        for name in ("Accept", "Content-Type"):
            for part in (req.headers.get_all(name) or []):
                for p in part.split(";")[1:]:
                    k, _, val = p.strip().partition("=")
                    if k == "version" and val != self.store.api_version:
                        raise pflex_error(400, "Unsupported API version %s" % val, 4)
        if req.method == "POST" and not (req.headers.get("Content-Type") or "").startswith("application/json"):
            raise pflex_error(400, "Content-Type must be application/json", 4)

    def body(self, req, schema, required=()):
        def bad(field, problem):
            if problem == "unknown":
                raise pflex_error(400, "Unrecognized field \"%s\"" % field, 4)
            raise pflex_error(400, "Invalid value for field \"%s\"" % field, 4)
        b = req.body if req.body is not None else {}
        common.check_fields(b, schema, bad)
        for f in required:
            if f not in b:
                raise pflex_error(400, "Missing required field \"%s\"" % f, 4)
        return b

    # -- handlers -------------------------------------------------------------
    def h_login(self, req):
        tok = self.sessions.new(req.user)
        self.changed()
        return 200, tok

    def h_version(self, req):
        return 200, self.store.api_version

    def h_systems(self, req):
        s = self.store.system
        return 200, [{"id": s["id"], "name": s["name"], "systemVersionName": s["release"],
                      "mdmClusterState": "ClusteredNormal",
                      "links": [{"rel": "self", "href": "/api/instances/System::" + s["id"]}]}]

    def h_sdcs(self, req, sys):
        if sys != self.store.system["id"]:
            raise pflex_error(500, "Could not find the System", 3)
        return 200, [{"id": c["id"], "name": c["name"], "sdcGuid": c["guid"], "osType": c["os"],
                      "systemId": self.store.system["id"], "sdcIp": "127.0.0.1", "sdcApproved": True,
                      "mdmConnectionState": "Connected"} for c in self.store.sdcs]

    def h_query(self, req):
        b = self.body(req, {"name": str}, required=("name",))
        v = self.vol_by_name(b["name"])
        if v is None:
            raise pflex_error(500, "Not found", 3)
        return 200, v["id"]

    def volume_doc(self, v):
        maps = []
        for m in self.store.mappings:
            if m["volume"] == v["id"]:
                c = self.sdc(m["sdc"])
                maps.append({"sdcId": c["id"], "sdcIp": "127.0.0.1", "sdcName": c["name"],
                             "accessMode": "ReadWrite", "limitIops": 0, "limitBwInMbps": 0})
        return {"id": v["id"], "name": v["name"], "sizeInKb": v["size"] // 1024,
                "volumeType": "ThinProvisioned", "ancestorVolumeId": None,
                "mappedSdcInfo": maps, "storagePoolId": id_for("pool", "sp1")}

    def h_volume(self, req, vid):
        return 200, self.volume_doc(self.vol(vid))

    def h_map(self, req, vid):
        b = self.body(req, {"sdcId": str, "allowMultipleMappings": str, "accessMode": str},
                      required=("sdcId",))
        v, c = self.vol(vid), self.sdc(b["sdcId"])
        if b.get("allowMultipleMappings", "FALSE") not in BOOLS:
            raise pflex_error(400, "Invalid value for field \"allowMultipleMappings\"", 4)
        if b.get("accessMode", "ReadWrite") not in ("ReadWrite", "ReadOnly", "NoAccess"):
            raise pflex_error(400, "Invalid value for field \"accessMode\"", 4)
        have = [m for m in self.store.mappings if m["volume"] == v["id"]]
        if any(m["sdc"] == c["id"] for m in have):
            raise pflex_error(500, "The SDC is already mapped to this volume", 129)
        if have and b.get("allowMultipleMappings", "FALSE").upper() != "TRUE":
            raise pflex_error(500, "Mapping to more than one SDC needs allowMultipleMappings", 130)
        self.store.mappings.append({"sdc": c["id"], "volume": v["id"]})
        self.changed()
        return 200, {}

    def h_unmap(self, req, vid):
        b = self.body(req, {"sdcId": str, "allSdcs": str})
        v = self.vol(vid)
        if ("sdcId" in b) == ("allSdcs" in b):
            raise pflex_error(400, "Exactly one of \"sdcId\" and \"allSdcs\" is required", 4)
        if "allSdcs" in b:
            if b["allSdcs"] not in BOOLS:
                raise pflex_error(400, "Invalid value for field \"allSdcs\"", 4)
            self.store.mappings = [m for m in self.store.mappings if m["volume"] != v["id"]]
        else:
            c = self.sdc(b["sdcId"])
            keep = [m for m in self.store.mappings if not (m["volume"] == v["id"] and m["sdc"] == c["id"])]
            if len(keep) == len(self.store.mappings):
                raise pflex_error(500, "The volume is not mapped to this SDC", 131)
            self.store.mappings = keep
        self.changed()
        return 200, {}


def extra_args(ap):
    ap.add_argument("--username", default="admin")
    ap.add_argument("--password", default="Flex-sim.1")


# -- the test world ---------------------------------------------------------------
WORLD_SYSTEM = "7f5d8fc72d1cad0f"
WORLD_VOLUME = "k8s-5f1e0c0d01"
WORLD_VOLUME_ID = "6d2ab2a500000001"
WORLD_WORKER_GUID = "0A1B2C3D-4E5F-4061-8293-A4B5C6D7E8F9"


def world_seed(w):
    """The world's PowerFlex: the CSI volume WORLD_VOLUME of the VM disk's
    size, one ESXi SDC per simulated host (its GUID from fabric/esxi-*.json,
    which vcsimx writes) and the OpenShift worker's Linux SDC (unmapped)."""
    sdcs = [{"id": id_for("sdc", WORLD_WORKER_GUID), "name": "ocp-worker-1",
             "guid": WORLD_WORKER_GUID, "os": "Linux"}]
    for f in sorted(glob.glob(os.path.join(w.fabric, "esxi-*.json"))):
        try:
            with open(f) as fh:
                h = json.load(fh)
        except (OSError, ValueError):
            continue
        if h.get("sdc_guid"):
            sdcs.append({"id": id_for("sdc", h["sdc_guid"]), "name": h.get("name", ""),
                         "guid": h["sdc_guid"], "os": "Esx"})
    seed = {"system": {"id": WORLD_SYSTEM, "name": "pflex-sim"},
            "volumes": [{"name": WORLD_VOLUME, "id": WORLD_VOLUME_ID, "size": w.size}],
            "sdcs": sdcs}
    facts = [("VOLUME_HANDLE", WORLD_SYSTEM + "-" + WORLD_VOLUME_ID),
             ("ATTRS", "Name=" + WORLD_VOLUME), ("VOLUME", WORLD_VOLUME),
             ("NAA", "eui." + WORLD_SYSTEM + WORLD_VOLUME_ID), ("SYSTEM_ID", WORLD_SYSTEM)]
    return seed, facts


FAKE = common.Descriptor(
    name="powerflex", product="powerflex", env="POWERFLEX", order=30,
    args=["--username", "admin", "--password", "Flex-sim.1"],
    env_facts=[("USERNAME", "admin"), ("PASSWORD", "Flex-sim.1")],
    sessions=True, default_seed={}, world_seed=world_seed)


if __name__ == "__main__":
    common.main(PowerFlex, "Simulated Dell PowerFlex gateway REST API (our model, for tests)", extra_args)
