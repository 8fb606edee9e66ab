#!/usr/bin/env python3
"""Simulated Infinidat InfiniBox: our own model of the InfiniBox REST API
under /api/rest, written from the traffic notes in shared/spec/vendors-b.md
§3 and vendor-corrections.md §1.  It is not Infinidat code and not a
complete array: it models volumes (with real bytes in sparse files), hosts
with their FC and iSCSI ports, and LUN mappings of volumes to hosts.

What it models:
  * HTTP Basic on every request (--username/--password); a missing or wrong
    Authorization header answers 401 with the envelope and error code
    UNAUTHORIZED.  There is no session.
  * Every answer, errors included, is the envelope
        {"result": ..., "error": null | {"code", "message", "reasons",
         "severity", "is_remote", "data"}, "metadata": {...}}
    and the HTTP status is not to be trusted: refusals of the mapping calls
    (host-lun-add, host-lun-delete) come back as HTTP 200 with the error in
    the envelope, as clients of the real array have to expect.
  * Collections (hosts, volumes, volume and host LUN lists) are paged with
    page (1-based) and page_size; metadata carries number_of_objects,
    page_size, pages_total and page.  A page never holds more than the
    seed's "max_page_size" objects (default 1000, the array's limit; the
    world uses a small one so every listing spans several pages).
  * Filters: hosts and volumes by name= and id= (exact); any other query
    parameter is refused (UNKNOWN_PARAMETER).
  * POST /api/rest/hosts/<id>/luns?approved=true {"volume_id": N[, "lun": M]}
    maps a volume (the array picks the LUN number when none is given);
    DELETE /api/rest/hosts/<id>/luns/volume_id/<vid>?approved=true unmaps it.
    Without approved=true both are refused (APPROVAL_REQUIRED).  Bodies are
    strict: unknown fields and wrong types are refused.
  * Mapping a volume publishes FABRIC/luns/<naa>.json with
    naa = "naa.6" + the volume's 31-hex-digit serial and the host's ports.

Operation names (for --faults and the call log):
  system_get hosts_get host_luns_get host_luns_post host_lun_delete
  volumes_get volume_luns_get   (an unknown path is "unknown").

Seed (--seed FILE, JSON), all optional:
  {"system": {"name": "sim-ibox", "model": "F4304", "version": "7.3.10.0", "serial_number": 1234},
   "max_page_size": 1000,
   "volumes": [{"name": "pvc-1", "size": 1048576, "id": 101, "serial": "31 HEX DIGITS"}],
   "hosts": [{"name": "esx01", "id": 11, "ports": [{"type": "FC", "address": "21:00:..."},
                                                   {"type": "ISCSI", "address": "iqn..."}]}],
   "luns": [{"host": "esx01", "volume": "pvc-1", "lun": 1}],
   "fc_node_names": {"<wwpn hex>": "<wwnn hex>"}}
Credentials: --username/--password (default admin / 123456).
"""

import glob
import hashlib
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
import common  # noqa: E402
from common import ApiError  # noqa: E402

API = "/api/rest"
IEEE = "742b0f"  # Infinidat's company id, the first six digits of every serial


def serial_for(name):
    """A stable serial for a seeded volume: company id, reserved, system id
    and volume id digits, 31 hex digits in all."""
    return IEEE + "00000" + "4e2b" + hashlib.sha256(("ibox:" + name).encode()).hexdigest()[:16]


def naa_for(serial):
    return "naa.6" + serial.lower()


# Where each error code sits on the HTTP side when the array does use a
# status; refusals of the mapping calls come back as 200 (see UNRELIABLE).
STATUS = {
    "UNAUTHORIZED": 401,
    "BAD_REQUEST": 400,
    "UNKNOWN_PARAMETER": 400,
    "UNKNOWN_FIELD": 400,
    "BAD_VALUE": 400,
    "MISSING_FIELD": 400,
    "APPROVAL_REQUIRED": 403,
    "HOST_NOT_FOUND": 404,
    "VOLUME_NOT_FOUND": 404,
    "LUN_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "MAPPING_ALREADY_EXISTS": 409,
    "LUN_IN_USE": 409,
    "METHOD_NOT_ALLOWED": 405,
}
UNRELIABLE = ("host_luns_post", "host_lun_delete")


def envelope(result, metadata=None, error=None):
    md = {"ready": True}
    md.update(metadata or {})
    return {"result": result, "error": error, "metadata": md}


def ibox_error(code, message, status=None):
    err = {"code": code, "message": message, "reasons": [], "severity": "ERROR",
           "is_remote": False, "data": None}
    return ApiError(status or STATUS.get(code, 400), envelope(None, error=err))


class InfiniBox(common.BasicAuth, common.PagePager, common.ArrayFake):
    array = "infinibox"
    scsi_vendor = "NFINIDAT"
    scsi_model = "InfiniBox"
    public_ops = ("unknown",)
    page_size_default = 50
    state = {"collections": ["volumes", "hosts", "luns"],
             "values": {"system": {}, "max_page_size": 1000}}
    routes = [
        ("GET", API + "/system", "system_get", "h_system"),
        ("GET", API + "/hosts", "hosts_get", "h_hosts"),
        ("GET", API + "/hosts/{hid}/luns", "host_luns_get", "h_host_luns"),
        ("POST", API + "/hosts/{hid}/luns", "host_luns_post", "h_map"),
        ("DELETE", API + "/hosts/{hid}/luns/volume_id/{vid}", "host_lun_delete", "h_unmap"),
        ("GET", API + "/volumes", "volumes_get", "h_volumes"),
        ("GET", API + "/volumes/{vid}/luns", "volume_luns_get", "h_volume_luns"),
    ]

    # -- state ----------------------------------------------------------------
    def load_seed(self, seed):
        s = seed.get("system", {})
        self.store.system = {"name": s.get("name", "sim-ibox"), "model": s.get("model", "F4304"),
                             "version": s.get("version", "7.3.10.0"),
                             "serial_number": int(s.get("serial_number", 1234))}
        self.store.max_page_size = int(seed.get("max_page_size", 1000))
        self.store.volumes, self.store.hosts, self.store.luns = [], [], []
        for v in seed.get("volumes", []):
            vid = int(v.get("id") or self.store.next_id("volumes"))
            serial = (v.get("serial") or serial_for(v["name"])).lower()
            if not re.fullmatch(r"[0-9a-f]{31}", serial):
                raise ValueError("InfiniBox serials are 31 hex digits: %r" % serial)
            self.store.volumes.append({"id": vid, "name": v["name"], "size": int(v.get("size", 1 << 20)),
                                       "serial": serial, "pool_id": 1, "pool_name": "pool1",
                                       "type": "MASTER"})
            self.fabric.create_file(v["name"], int(v.get("size", 1 << 20)))
        for h in seed.get("hosts", []):
            hid = int(h.get("id") or self.store.next_id("hosts"))
            ports = [{"type": p["type"].upper(), "address": p["address"]} for p in h.get("ports", [])]
            self.store.hosts.append({"id": hid, "name": h["name"], "ports": ports,
                                     "host_cluster_id": 0})
        for m in seed.get("luns", []):
            h = self.store.find("hosts", name=m["host"])
            v = self.store.find("volumes", name=m["volume"])
            self.add_lun(h, v, m.get("lun"))

    def sim_volumes(self):
        return [{"key": v["id"], "name": v["name"], "id": str(v["id"]), "naa": naa_for(v["serial"]),
                 "size": v["size"]} for v in self.store.volumes]

    def sim_groups(self):
        return [{"key": h["id"], "name": h["name"], "initiators": [p["address"] for p in h["ports"]]}
                for h in self.store.hosts]

    def sim_mappings(self):
        return [(m["host_id"], m["volume_id"], m["lun"]) for m in self.store.luns]

    def add_lun(self, host, vol, lun=None):
        used = {m["lun"] for m in self.store.luns if m["host_id"] == host["id"]}
        if lun is None:
            lun = next(n for n in range(1, 4096) if n not in used)
        elif lun in used:
            raise ibox_error("LUN_IN_USE", "LUN %d is already in use on host '%s'" % (lun, host["name"]))
        m = {"id": self.store.next_id("luns"), "lun": lun, "clustered": False, "host_cluster_id": 0,
             "host_id": host["id"], "volume_id": vol["id"], "udid": None}
        self.store.luns.append(m)
        self.changed()
        return m

    # -- answers ----------------------------------------------------------------
    def error_body(self, status, message, code=None):
        return ibox_error(code or {401: "UNAUTHORIZED", 404: "NOT_FOUND"}.get(status, "INTERNAL_ERROR"),
                          message, status).body

    def auth_failed(self, req):
        return ibox_error("UNAUTHORIZED", "Authentication failed: invalid user name or password")

    def not_found(self, req):
        return ibox_error("NOT_FOUND", "The requested URL %s was not found" % req.path)

    def not_allowed(self, req):
        return ibox_error("METHOD_NOT_ALLOWED", "Method %s not allowed on %s" % (req.method, req.path))

    def handle(self, req):
        status, data, headers, op, fault = super().handle(req)
        # The mapping calls report their refusals inside a 200 answer.
        if op in UNRELIABLE and fault is None and status >= 400 and status != 401:
            status = 200
        return status, data, headers, op, fault

    def check_query(self, req, allowed):
        for k in req.query:
            if k not in allowed:
                raise ibox_error("UNKNOWN_PARAMETER", "Unknown query parameter '%s'" % k)

    def listing(self, req, items, allowed=("page", "page_size")):
        self.check_query(req, allowed)
        for key in ("name", "id"):
            want = req.q(key)
            if key in allowed and want is not None:
                items = [it for it in items if str(it.get(key)) == want]
        bad = lambda p: ibox_error("BAD_VALUE", "Invalid value for '%s'" % p)  # noqa: E731
        size = common.int_param(req, "page_size", self.page_size_default, bad)
        if size <= 0:
            raise bad("page_size")
        # The array never answers more than its page limit, whatever was asked.
        req.query["page_size"] = [str(min(size, self.store.max_page_size))]
        page, md = self.page_numbered(req, items, bad)
        return 200, envelope(page, md)

    def host_by_id(self, hid):
        h = self.store.find("hosts", id=int(hid)) if hid.isdigit() else None
        if h is None:
            raise ibox_error("HOST_NOT_FOUND", "Host with id %s does not exist" % hid)
        return h

    def volume_by_id(self, vid):
        v = self.store.find("volumes", id=int(vid)) if vid.isdigit() else None
        if v is None:
            raise ibox_error("VOLUME_NOT_FOUND", "Volume with id %s does not exist" % vid)
        return v

    def approved(self, req):
        self.check_query(req, ("approved",))
        if req.q("approved") != "true":
            raise ibox_error("APPROVAL_REQUIRED",
                             "This operation requires approval; repeat it with approved=true")

    # -- handlers -------------------------------------------------------------
    def h_system(self, req):
        self.check_query(req, ())
        s = self.store.system
        return 200, envelope({"name": s["name"], "model": s["model"], "full_model": s["model"],
                              "version": s["version"], "release": s["version"].rsplit(".", 1)[0],
                              "serial_number": s["serial_number"], "wwnn": "5742b0f000004e20"})

    def host_item(self, h):
        return {"id": h["id"], "name": h["name"], "host_cluster_id": h["host_cluster_id"],
                "ports": [{"type": p["type"], "address": p["address"], "host_id": h["id"]}
                          for p in h["ports"]],
                "luns": [self.lun_item(m) for m in self.store.luns if m["host_id"] == h["id"]]}

    def lun_item(self, m):
        return dict(m)

    def h_hosts(self, req):
        return self.listing(req, [self.host_item(h) for h in sorted(self.store.hosts, key=lambda h: h["id"])],
                            ("name", "id", "page", "page_size"))

    def h_volumes(self, req):
        items = [{"id": v["id"], "name": v["name"], "size": v["size"], "serial": v["serial"],
                  "pool_id": v["pool_id"], "pool_name": v["pool_name"], "type": v["type"],
                  "mapped": any(m["volume_id"] == v["id"] for m in self.store.luns)}
                 for v in sorted(self.store.volumes, key=lambda v: v["id"])]
        return self.listing(req, items, ("name", "id", "page", "page_size"))

    def h_volume_luns(self, req, vid):
        v = self.volume_by_id(vid)
        return self.listing(req, [self.lun_item(m) for m in self.store.luns if m["volume_id"] == v["id"]])

    def h_host_luns(self, req, hid):
        h = self.host_by_id(hid)
        return self.listing(req, [self.lun_item(m) for m in self.store.luns if m["host_id"] == h["id"]])

    def h_map(self, req, hid):
        self.approved(req)
        h = self.host_by_id(hid)

        def bad(field, problem):
            if problem == "unknown":
                raise ibox_error("UNKNOWN_FIELD", "Unknown field '%s'" % field)
            raise ibox_error("BAD_VALUE", "Invalid type for field '%s'" % field)

        common.check_fields(req.body, {"volume_id": int, "lun": int}, bad)
        if "volume_id" not in req.body:
            raise ibox_error("MISSING_FIELD", "Missing field 'volume_id'")
        v = self.volume_by_id(str(req.body["volume_id"]))
        if any(m["host_id"] == h["id"] and m["volume_id"] == v["id"] for m in self.store.luns):
            raise ibox_error("MAPPING_ALREADY_EXISTS",
                             "Volume '%s' is already mapped to host '%s'" % (v["name"], h["name"]))
        m = self.add_lun(h, v, req.body.get("lun"))
        return 201, envelope(self.lun_item(m))

    def h_unmap(self, req, hid, vid):
        self.approved(req)
        h = self.host_by_id(hid)
        v = self.volume_by_id(vid)
        for m in self.store.luns:
            if m["host_id"] == h["id"] and m["volume_id"] == v["id"]:
                self.store.luns.remove(m)
                self.changed()
                return 200, envelope(self.lun_item(m))
        raise ibox_error("LUN_NOT_FOUND",
                         "Volume '%s' is not mapped to host '%s'" % (v["name"], h["name"]))


def extra_args(ap):
    ap.add_argument("--username", default="admin")
    ap.add_argument("--password", default="123456")


# -- the test world ---------------------------------------------------------------
WORLD_VOLUME = "csi-9f3e1c2a7b"
WORLD_VOLUME_ID = 3723
WORLD_SERIAL = IEEE + "00000" + "4e2b" + "0000000000000e8b"


def world_hosts(w):
    """One InfiniBox host per simulated ESXi host (its FC WWPN spelled with
    colons in upper case, as an administrator may have typed it, and its
    IQN), plus OpenShift workers that are no part of the copy."""
    hosts, seen = [], set()
    files = sorted(glob.glob(os.path.join(w.fabric, "esxi-*.json")))
    for i, f in enumerate(files):
        try:
            with open(f) as fh:
                st = json.load(fh)
        except (OSError, ValueError):
            continue
        ports = []
        for init in st.get("initiators", []):
            low = init.lower()
            if low.startswith("fc.") and ":" in low:
                wwpn = low.rsplit(":", 1)[1]
                ports.append({"type": "FC", "address": ":".join(wwpn[j:j + 2] for j in range(0, 16, 2)).upper()})
            elif low.startswith("iqn.") or low.startswith("eui."):
                ports.append({"type": "ISCSI", "address": init})
            seen.add(low)
        hosts.append({"name": "esx-%s" % (st.get("name") or i), "ports": ports})
    if w.fc and w.fc.lower() not in seen and ":" in w.fc:
        wwpn = w.fc.lower().rsplit(":", 1)[1]
        hosts.append({"name": "esx-vm-host", "ports": [{"type": "FC", "address": wwpn}]})
    # A second ESXi host outside the simulated vCenter (the conformance data
    # maps the volume to it first, tag "ib").
    hosts.append({"name": "esx-other", "ports": [{"type": "ISCSI", "address": "iqn.1998-01.com.vmware:other-host-ib"}]})
    for n in range(1, 4):
        hosts.append({"name": "ocp-worker-%d" % n,
                      "ports": [{"type": "ISCSI", "address": "iqn.1994-05.com.redhat:ocp-worker-%d" % n}]})
    return hosts


def world_seed(w):
    """The world's InfiniBox: the volume of Infinidat CSI PV "pvc-1"
    (handle "<id>$$fc", attribute Name) of the VM disk's size, the ESXi hosts
    defined with their ports, and a page limit of 2 so every listing pages."""
    hosts = world_hosts(w)
    for i, h in enumerate(hosts):
        h["id"] = 1001 + i
    seed = {"max_page_size": 2,
            "volumes": [{"name": WORLD_VOLUME, "id": WORLD_VOLUME_ID, "size": w.size, "serial": WORLD_SERIAL}],
            "hosts": hosts, "fc_node_names": w.fc_node_names()}
    attrs = ";".join(["Name=" + WORLD_VOLUME, "ID=%d" % WORLD_VOLUME_ID, "storage_protocol=fc",
                      "StoragePoolName=pool1"])
    return seed, [("VOLUME_HANDLE", "%d$$fc" % WORLD_VOLUME_ID), ("ATTRS", attrs),
                  ("VOLUME", WORLD_VOLUME), ("NAA", naa_for(WORLD_SERIAL))]


FAKE = common.Descriptor(
    name="infinibox", product="infinibox", env="INFINIBOX", order=70,
    args=["--username", "admin", "--password", "Ibox-sim.1"],
    env_facts=[("USERNAME", "admin"), ("PASSWORD", "Ibox-sim.1")],
    default_seed={}, world_seed=world_seed)


if __name__ == "__main__":
    common.main(InfiniBox, "Simulated Infinidat InfiniBox REST API (our model, for tests)", extra_args)
