#!/usr/bin/env python3
"""Simulated NetApp ONTAP cluster: our own model of the ONTAP REST API.

Built from NetApp's public ONTAP REST API documentation and the traffic notes
in shared/spec/vendors-a.md §1 (what the copy-offload driver sends and
reads).  It is not NetApp code and it is not a complete ONTAP: it models the
objects the populator touches (SVMs, LUNs, initiator groups and their
initiators, LUN maps, data LIFs) closely enough that a client cannot tell the
difference on those calls.

What it models:
  * HTTP Basic authentication on every request (no session); a wrong
    password gives 401 with ONTAP's error body.
  * Collections answer {"records": [...], "num_records": N, "_links": {...}}.
    Any query parameter that is not a control parameter filters on the dotted
    field of that name (svm.uuid, name, lun.name, igroup.name, ...), with
    ONTAP's query syntax: '*' wildcards, '|' alternatives, a leading '!'
    negation.  fields= selects the returned fields (empty: the defaults;
    '*'/'**': all).  Unknown field names in fields= are ignored.
  * Pagination: max_records=N (or the seed's "max_records" default) cuts a
    collection and adds _links.next.href carrying start.uuid=<next record>.
  * A successful DELETE answers 200 with no body, as NetApp's spec documents
    it (its 200 response has no schema).  Every answer follows that spec
    (shared/vendor-specs/ontap/spec_ontap_populator.json); started by
    start-arrays, the fake checks each one against it (swagger.py) and logs
    any violation to WORLD_ONTAP_SPEC_LOG.
  * Errors answer {"error": {"message": ..., "code": "<number>", "target": ...}}.
    The numeric codes are this model's; the HTTP statuses follow ONTAP
    (409 for a duplicate igroup, initiator or LUN map, 404 for an unknown
    object, 400 for a bad request).
  * LUNs are sparse files on the fabric (common.Fabric); mapping a LUN to an
    igroup publishes FABRIC/luns/<naa>.json with
    naa = "naa.600a0980" + hex of the 12 ASCII characters of the serial.

Operation names (for --faults and the call log):
  cluster_get svm_list svm_get lun_list lun_get lun_create lun_delete
  igroup_list igroup_get igroup_create igroup_delete
  igroup_initiator_list igroup_initiator_add igroup_initiator_delete
  lun_map_list lun_map_get lun_map_create lun_map_delete ip_interface_list
  fc_interface_list iscsi_service_list (an unknown path is "unknown").

Seed (--seed FILE, JSON):
  {"cluster": {"name": "sim-cluster", "version": "9.14.1"},
   "max_records": 0,
   "svms": [{"name": "svm1", "uuid": "…", "iscsi_lifs": ["127.0.0.1"],
             "fc_wwpns": ["2001d039ea000000"], "iscsi_target": "iqn.1992-08…:vs.3"}],
   "luns": [{"name": "/vol/trident_pvc_1/lun0", "size": 1048576,
             "serial": "wFZ7p?QYvV8d", "svm": "svm1", "uuid": "…"}],
   "igroups": [{"name": "trident-node", "protocol": "iscsi", "svm": "svm1",
                "initiators": ["iqn.…"]}],
   "lun_maps": [{"lun": "/vol/…/lun0", "igroup": "trident-node"}],
   "fc_node_names": {"2100000000000002": "2000000000000001"}}
  Everything is optional; "svm" defaults to the first SVM; an SVM has no FC
  LIFs unless fc_wwpns lists them (any WWN spelling) and an iSCSI target made
  up from its UUID unless iscsi_target says otherwise (null: no iSCSI
  service); serials and UUIDs
  are made up when missing (serials deterministically from the LUN name).
Credentials: --username/--password (default admin / netapp1!).
"""

import fnmatch
import hashlib
import os
import re
import sys
import time
import urllib.parse
import uuid as uuidlib

sys.dont_write_bytecode = True  # keep the source tree clean
import common  # noqa: E402
from common import ApiError

# Error codes of this model (ONTAP answers numeric strings in "code").
E_AUTH = "6"
E_API_NOT_FOUND = "3"
E_ENTRY_NOT_FOUND = "4"
E_DUPLICATE_IGROUP = "5374738"
E_IGROUP_NOT_FOUND = "5374852"
E_LUN_NOT_FOUND = "5374875"
E_SVM_NOT_FOUND = "2621462"
E_DUPLICATE_INITIATOR = "1254324"
E_INITIATOR_PROTOCOL = "5374870"
E_INVALID_INITIATOR = "5374873"
E_DUPLICATE_MAP = "5374922"
E_MAP_NOT_FOUND = "5374856"
E_IGROUP_MAPPED = "5374858"
E_LUN_MAPPED = "5374923"
E_DUPLICATE_LUN = "5374863"
E_MISSING_FIELD = "2"
E_INVALID_JSON = "262197"
E_BAD_VALUE = "262179"

CONTROL_PARAMS = {"fields", "max_records", "return_records", "return_timeout",
                  "order_by", "allow_delete_while_mapped"}

SAN_BASE = "/api/protocols/san"


def ontap_error(status, message, code, target=None):
    e = {"message": message, "code": code}
    if target:
        e["target"] = target
    return ApiError(status, {"error": e})


def serial_for(name):
    """A 12-character LUN serial made from the name (ONTAP serials are 12
    printable ASCII characters)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-?"
    h = hashlib.sha256(name.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in h[:12])


def wwn_hex(w):
    """A WWN in any spelling as 16 lower-case hex digits."""
    h = re.sub(r"[^0-9a-fA-F]", "", str(w)).lower()
    if len(h) != 16:
        raise ValueError("not a WWN: %r" % w)
    return h


def wwn_colon(h):
    """16 hex digits in ONTAP's spelling: lower-case, colon-separated."""
    return ":".join(h[i:i + 2] for i in range(0, 16, 2))


def default_iscsi_target(svm_uuid):
    """ONTAP names an SVM's iSCSI target after the cluster serial and the
    SVM's index; this model makes one up from the SVM's UUID."""
    return "iqn.1992-08.com.netapp:sn.%s:vs.2" % svm_uuid.replace("-", "")


def naa_for(serial):
    return "naa.600a0980" + serial.encode("ascii").hex()


def get_path(obj, dotted):
    """Values found at a dotted path; lists are walked element by element."""
    vals = [obj]
    for part in dotted.split("."):
        nxt = []
        for v in vals:
            if isinstance(v, list):
                for e in v:
                    if isinstance(e, dict) and part in e:
                        nxt.append(e[part])
            elif isinstance(v, dict) and part in v:
                nxt.append(v[part])
        vals = nxt
    out = []
    for v in vals:
        if isinstance(v, list):
            out.extend(v)
        else:
            out.append(v)
    return out


def value_matches(pattern, value):
    if isinstance(value, bool):
        value = "true" if value else "false"
    value = str(value)
    for alt in pattern.split("|"):
        neg = alt.startswith("!")
        if neg:
            alt = alt[1:]
        m = fnmatch.fnmatchcase(value, alt) if ("*" in alt or "?" in alt) else value == alt
        if m != neg:
            return True
    return False


def record_matches(rec, key, pattern):
    vals = get_path(rec, key)
    if not vals:
        return pattern.startswith("!")
    return any(value_matches(pattern, v) for v in vals)


def project(rec, fields, defaults):
    """The record cut down to the requested fields (dotted paths allowed)."""
    if any(f in ("*", "**") for f in fields):
        return rec
    want = list(defaults) + [f for f in fields if f]
    out = {}
    for f in want:
        _copy_path(rec, out, f.split("."))
    if "_links" in rec:
        out["_links"] = rec["_links"]
    return out


def _copy_path(src, dst, parts):
    if not isinstance(src, dict) or parts[0] not in src:
        return
    k, v = parts[0], src[parts[0]]
    if len(parts) == 1:
        dst[k] = v
        return
    if isinstance(v, dict):
        _copy_path(v, dst.setdefault(k, {}), parts[1:])
    elif isinstance(v, list):
        lst = dst.setdefault(k, [{} for _ in v])
        for i, e in enumerate(v):
            _copy_path(e, lst[i], parts[1:])


class Ontap(common.BasicAuth, common.NextLinkPager, common.ArrayFake):
    array = "ontap"
    scsi_vendor = "NETAPP"
    scsi_model = "LUN C-Mode"
    public_ops = ()
    state = {"collections": ["svms", "luns", "igroups", "lun_maps"],
             "values": {"cluster": {}, "max_records": 0}}
    routes = [
        ("GET", "/api/cluster", "cluster_get", "h_cluster"),
        ("GET", "/api/svm/svms", "svm_list", "h_svm_list"),
        ("GET", "/api/svm/svms/{uid}", "svm_get", "h_svm_get"),
        ("GET", "/api/storage/luns", "lun_list", "h_lun_list"),
        ("POST", "/api/storage/luns", "lun_create", "h_lun_create"),
        ("GET", "/api/storage/luns/{uid}", "lun_get", "h_lun_get"),
        ("DELETE", "/api/storage/luns/{uid}", "lun_delete", "h_lun_delete"),
        ("GET", SAN_BASE + "/igroups", "igroup_list", "h_igroup_list"),
        ("POST", SAN_BASE + "/igroups", "igroup_create", "h_igroup_create"),
        ("GET", SAN_BASE + "/igroups/{uid}", "igroup_get", "h_igroup_get"),
        ("DELETE", SAN_BASE + "/igroups/{uid}", "igroup_delete", "h_igroup_delete"),
        ("GET", SAN_BASE + "/igroups/{uid}/initiators", "igroup_initiator_list", "h_init_list"),
        ("POST", SAN_BASE + "/igroups/{uid}/initiators", "igroup_initiator_add", "h_init_add"),
        ("DELETE", SAN_BASE + "/igroups/{uid}/initiators/{name}", "igroup_initiator_delete", "h_init_delete"),
        ("GET", SAN_BASE + "/lun-maps", "lun_map_list", "h_map_list"),
        ("POST", SAN_BASE + "/lun-maps", "lun_map_create", "h_map_create"),
        ("GET", SAN_BASE + "/lun-maps/{lun_uuid}/{ig_uuid}", "lun_map_get", "h_map_get"),
        ("DELETE", SAN_BASE + "/lun-maps/{lun_uuid}/{ig_uuid}", "lun_map_delete", "h_map_delete"),
        ("GET", "/api/network/ip/interfaces", "ip_interface_list", "h_lif_list"),
        ("GET", "/api/network/fc/interfaces", "fc_interface_list", "h_fc_lif_list"),
        ("GET", SAN_BASE + "/iscsi/services", "iscsi_service_list", "h_iscsi_service_list"),
    ]

    @property
    def default_page_size(self):
        return int(self.store.max_records or 0)

    # -- state ----------------------------------------------------------------
    def load_seed(self, seed):
        cl = seed.get("cluster", {})
        self.store.cluster = {"name": cl.get("name", "sim-cluster"),
                        "uuid": cl.get("uuid", str(uuidlib.uuid4())),
                        "version": cl.get("version", "9.14.1")}
        self.store.max_records = int(seed.get("max_records", 0) or 0)
        self.store.svms = []
        for s in seed.get("svms", [{"name": "svm1"}]):
            uid = s.get("uuid", str(uuidlib.uuid4()))
            self.store.svms.append({"name": s["name"], "uuid": uid,
                              "iscsi_lifs": s.get("iscsi_lifs", ["127.0.0.1"]),
                              "fc_wwpns": [wwn_hex(w) for w in s.get("fc_wwpns", [])],
                              "iscsi_target": s.get("iscsi_target", default_iscsi_target(uid))})
        self.store.luns, self.store.igroups, self.store.lun_maps = [], [], []
        for l in seed.get("luns", []):
            svm = self.svm_by_name(l.get("svm")) if l.get("svm") else self.store.svms[0]
            self.add_lun(l["name"], int(l.get("size", 1 << 20)), svm, l.get("serial"), l.get("uuid"),
                         l.get("os_type", "vmware"))
        for g in seed.get("igroups", []):
            svm = self.svm_by_name(g.get("svm")) if g.get("svm") else self.store.svms[0]
            self.store.igroups.append({"uuid": g.get("uuid", str(uuidlib.uuid4())), "name": g["name"],
                                 "svm": svm["uuid"], "protocol": g.get("protocol", "mixed"),
                                 "os_type": g.get("os_type", "vmware"),
                                 "initiators": list(g.get("initiators", []))})
        for m in seed.get("lun_maps", []):
            lun = next(l for l in self.store.luns if l["name"] == m["lun"])
            ig = next(g for g in self.store.igroups if g["name"] == m["igroup"] and g["svm"] == lun["svm"])
            self.store.lun_maps.append({"lun": lun["uuid"], "igroup": ig["uuid"],
                              "lun_id": int(m.get("logical_unit_number", self.free_lun_id(ig["uuid"])))})

    def sim_volumes(self):
        return [{"key": l["uuid"], "name": l["name"], "id": l["uuid"], "naa": naa_for(l["serial"]),
                 "size": l["size"]} for l in self.store.luns]

    def sim_groups(self):
        return [{"key": g["uuid"], "name": g["name"], "initiators": g["initiators"]} for g in self.store.igroups]

    def sim_mappings(self):
        return [(m["igroup"], m["lun"], m["lun_id"]) for m in self.store.lun_maps]

    def add_lun(self, name, size, svm, serial=None, uid=None, os_type="vmware"):
        if not re.fullmatch(r"/vol/[^/]+/[^/]+", name):
            raise ontap_error(400, 'LUN name "%s" is invalid; use /vol/<volume>/<lun>.' % name, E_BAD_VALUE, "name")
        if any(l["name"] == name and l["svm"] == svm["uuid"] for l in self.store.luns):
            raise ontap_error(409, 'A LUN named "%s" already exists in SVM "%s".' % (name, svm["name"]),
                              E_DUPLICATE_LUN, "name")
        serial = serial or serial_for(svm["uuid"] + name)
        if len(serial) != 12:
            raise ValueError("ONTAP LUN serials are 12 characters: %r" % serial)
        lun = {"uuid": uid or str(uuidlib.uuid4()), "name": name, "svm": svm["uuid"], "size": size,
               "serial": serial, "os_type": os_type,
               "create_time": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())}
        self.store.luns.append(lun)
        self.fabric.create_file(name, size)
        return lun

    # -- lookups --------------------------------------------------------------
    def svm_by_name(self, name):
        for s in self.store.svms:
            if s["name"] == name:
                return s
        raise ontap_error(404, 'SVM "%s" does not exist.' % name, E_SVM_NOT_FOUND, "svm.name")

    def svm_by_uuid(self, uid):
        for s in self.store.svms:
            if s["uuid"] == uid:
                return s
        raise ontap_error(404, 'SVM "%s" does not exist.' % uid, E_SVM_NOT_FOUND, "svm.uuid")

    def svm_ref(self, body, required=True):
        s = body.get("svm") if isinstance(body, dict) else None
        if isinstance(s, dict) and s.get("uuid"):
            return self.svm_by_uuid(s["uuid"])
        if isinstance(s, dict) and s.get("name"):
            return self.svm_by_name(s["name"])
        if required:
            raise ontap_error(400, 'Field "svm.uuid" or "svm.name" is required.', E_MISSING_FIELD, "svm")
        return None

    def igroup_by_uuid(self, uid):
        for g in self.store.igroups:
            if g["uuid"] == uid:
                return g
        return None

    def lun_by_uuid(self, uid):
        for l in self.store.luns:
            if l["uuid"] == uid:
                return l
        return None

    def free_lun_id(self, igroup_uuid):
        used = {m["lun_id"] for m in self.store.lun_maps if m["igroup"] == igroup_uuid}
        n = 0
        while n in used:
            n += 1
        return n

    # -- records --------------------------------------------------------------
    def svm_rec(self, s):
        return {"uuid": s["uuid"], "name": s["name"], "state": "running", "subtype": "default",
                "iscsi": {"enabled": True}, "fcp": {"enabled": True},
                "_links": {"self": {"href": "/api/svm/svms/%s" % s["uuid"]}}}

    def svm_small(self, uid):
        s = self.svm_by_uuid(uid)
        return {"name": s["name"], "uuid": s["uuid"],
                "_links": {"self": {"href": "/api/svm/svms/%s" % s["uuid"]}}}

    def lun_rec(self, l):
        maps = []
        for m in self.store.lun_maps:
            if m["lun"] == l["uuid"]:
                g = self.igroup_by_uuid(m["igroup"])
                maps.append({"igroup": {"name": g["name"], "uuid": g["uuid"],
                                        "_links": {"self": {"href": "%s/igroups/%s" % (SAN_BASE, g["uuid"])}}},
                             "logical_unit_number": m["lun_id"]})
        _, vol, lname = l["name"].split("/", 3)[1:]
        return {"uuid": l["uuid"], "name": l["name"], "svm": self.svm_small(l["svm"]),
                "class": "regular", "enabled": True, "comment": "", "os_type": l["os_type"],
                "serial_number": l["serial"], "create_time": l["create_time"],
                "location": {"logical_unit": lname, "volume": {"name": vol}},
                "space": {"size": l["size"], "used": 0, "guarantee": {"requested": False, "reserved": False}},
                "status": {"state": "online", "container_state": "online", "mapped": bool(maps),
                           "read_only": False},
                "lun_maps": maps,
                "_links": {"self": {"href": "/api/storage/luns/%s" % l["uuid"]}}}

    def igroup_rec(self, g):
        maps = []
        for m in self.store.lun_maps:
            if m["igroup"] == g["uuid"]:
                l = self.lun_by_uuid(m["lun"])
                maps.append({"lun": {"name": l["name"], "uuid": l["uuid"]},
                             "logical_unit_number": m["lun_id"]})
        return {"uuid": g["uuid"], "name": g["name"], "svm": self.svm_small(g["svm"]),
                "protocol": g["protocol"], "os_type": g["os_type"], "delete_on_unmap": False,
                "initiators": [{"name": i, "_links": {"self": {"href": "%s/igroups/%s/initiators/%s" % (
                    SAN_BASE, g["uuid"], urllib.parse.quote(i, safe=""))}}} for i in g["initiators"]],
                "lun_maps": maps,
                "_links": {"self": {"href": "%s/igroups/%s" % (SAN_BASE, g["uuid"])}}}

    def map_rec(self, m):
        l, g = self.lun_by_uuid(m["lun"]), self.igroup_by_uuid(m["igroup"])
        return {"svm": self.svm_small(l["svm"]),
                "lun": {"name": l["name"], "uuid": l["uuid"],
                        "_links": {"self": {"href": "/api/storage/luns/%s" % l["uuid"]}}},
                "igroup": {"name": g["name"], "uuid": g["uuid"],
                           "_links": {"self": {"href": "%s/igroups/%s" % (SAN_BASE, g["uuid"])}}},
                "logical_unit_number": m["lun_id"],
                "_links": {"self": {"href": "%s/lun-maps/%s/%s" % (SAN_BASE, l["uuid"], g["uuid"])}}}

    def lif_recs(self):
        out = []
        for s in self.store.svms:
            for i, ip in enumerate(s.get("iscsi_lifs", [])):
                uid = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, s["uuid"] + ip))
                out.append({"uuid": uid, "name": "%s_iscsi_lif%d" % (s["name"], i + 1),
                            "ip": {"address": ip, "netmask": "24", "family": "ipv4"},
                            "state": "up", "enabled": True, "services": ["data_core", "data_iscsi"],
                            "svm": self.svm_small(s["uuid"]),
                            "_links": {"self": {"href": "/api/network/ip/interfaces/%s" % uid}}})
        return out

    def fc_lif_recs(self):
        out = []
        for s in self.store.svms:
            for i, w in enumerate(s.get("fc_wwpns", [])):
                uid = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, s["uuid"] + "fc" + w))
                node = "%s-%02d" % (self.store.cluster["name"], i % 2 + 1)
                out.append({"uuid": uid, "name": "%s_fc_lif%d" % (s["name"], i + 1),
                            "wwpn": wwn_colon(w), "wwnn": wwn_colon("2000" + w[4:]),
                            "port_address": "%06x" % (0x10100 + i), "data_protocol": "fcp",
                            "enabled": True, "state": "up", "comment": "",
                            "location": {"node": {"name": node}, "port": {"name": "%da" % i,
                                                                         "node": {"name": node}}},
                            "svm": self.svm_small(s["uuid"]),
                            "_links": {"self": {"href": "/api/network/fc/interfaces/%s" % uid}}})
        return out

    def iscsi_service_recs(self):
        return [{"svm": self.svm_small(s["uuid"]), "enabled": True,
                 "target": {"name": s["iscsi_target"], "alias": s["name"]},
                 "_links": {"self": {"href": "%s/iscsi/services/%s" % (SAN_BASE, s["uuid"])}}}
                for s in self.store.svms if s.get("iscsi_target")]

    # -- collection answer ----------------------------------------------------
    def collection(self, req, records, defaults):
        for k, vs in req.query.items():
            if k in CONTROL_PARAMS or k.startswith("start."):
                continue
            records = [r for r in records if record_matches(r, k, vs[-1])]
        records.sort(key=lambda r: (str(r.get("name", "")), str(r.get("uuid", r.get("lun", {}).get("uuid", "")))))
        records, links = self.page_next_link(req, records, lambda p: ontap_error(
            400, 'Invalid value for "%s".' % p, E_BAD_VALUE, p))
        fields = [f.strip() for f in (req.q("fields") or "").split(",") if f.strip()]
        out = [project(r, fields, defaults) for r in records]
        return 200, {"records": out, "num_records": len(out), "_links": links}

    def created(self, req, rec, href):
        hdr = {"Location": href}
        if (req.q("return_records") or "").lower() == "true":
            return 201, {"num_records": 1, "records": [rec]}, hdr
        return 201, {}, hdr

    # -- errors -------------------------------------------------------------
    def not_found(self, req):
        return ontap_error(404, "API not found", E_API_NOT_FOUND)

    def auth_failed(self, req):
        return ontap_error(401, "not authorized for that command", E_AUTH)

    def error_body(self, status, message, code=None):
        return {"error": {"message": message, "code": str(code or {401: E_AUTH, 404: E_ENTRY_NOT_FOUND}
                                                                 .get(status, "1"))}}

    # -- handlers -------------------------------------------------------------
    def h_cluster(self, req):
        g, ma, mi = (int(x) for x in self.store.cluster["version"].split(".")[:3])
        rec = {"name": self.store.cluster["name"], "uuid": self.store.cluster["uuid"],
               "version": {"full": "NetApp Release %s: simulated" % self.store.cluster["version"],
                           "generation": g, "major": ma, "minor": mi},
               "_links": {"self": {"href": "/api/cluster"}}}
        fields = [f for f in (req.q("fields") or "").split(",") if f]
        return 200, project(rec, fields, ["name", "uuid"]) if fields else rec

    def h_svm_list(self, req):
        return self.collection(req, [self.svm_rec(s) for s in self.store.svms], ["uuid", "name"])

    def h_svm_get(self, req, uid):
        return 200, self.svm_rec(self.svm_by_uuid(uid))

    def h_lun_list(self, req):
        return self.collection(req, [self.lun_rec(l) for l in self.store.luns], ["uuid", "name", "svm"])

    def h_lun_get(self, req, uid):
        l = self.lun_by_uuid(uid)
        if not l:
            raise ontap_error(404, "entry doesn't exist", E_ENTRY_NOT_FOUND, "uuid")
        return 200, self.lun_rec(l)

    def h_lun_create(self, req):
        b = req.body if isinstance(req.body, dict) else {}
        svm = self.svm_ref(b)
        name = b.get("name")
        if not name:
            raise ontap_error(400, 'Field "name" is required.', E_MISSING_FIELD, "name")
        size = (b.get("space") or {}).get("size")
        if not isinstance(size, int) or size <= 0:
            raise ontap_error(400, 'Field "space.size" is required.', E_MISSING_FIELD, "space.size")
        l = self.add_lun(name, size, svm, os_type=b.get("os_type", "vmware"))
        self.changed()
        return self.created(req, self.lun_rec(l), "/api/storage/luns/%s" % l["uuid"])

    def h_lun_delete(self, req, uid):
        l = self.lun_by_uuid(uid)
        if not l:
            raise ontap_error(404, "entry doesn't exist", E_ENTRY_NOT_FOUND, "uuid")
        if any(m["lun"] == uid for m in self.store.lun_maps):
            raise ontap_error(409, 'LUN "%s" is mapped; unmap it first.' % l["name"], E_LUN_MAPPED)
        self.store.luns.remove(l)
        self.fabric.delete_file(l["name"])
        self.changed()
        return 200, None  # the spec documents no body

    def h_igroup_list(self, req):
        return self.collection(req, [self.igroup_rec(g) for g in self.store.igroups], ["uuid", "name", "svm"])

    def igroup_or_404(self, uid):
        g = self.igroup_by_uuid(uid)
        if not g:
            raise ontap_error(404, "entry doesn't exist", E_ENTRY_NOT_FOUND, "uuid")
        return g

    def h_igroup_get(self, req, uid):
        rec = self.igroup_rec(self.igroup_or_404(uid))
        fields = [f for f in (req.q("fields") or "").split(",") if f]
        return 200, project(rec, fields, ["uuid", "name", "svm"]) if fields else rec

    def check_initiator(self, g, name):
        low = name.lower()
        if low.startswith("iqn.") or low.startswith("eui.") or low.startswith("naa."):
            kind = "iscsi"
        elif re.fullmatch(r"([0-9a-f]{2}:){7}[0-9a-f]{2}", low):
            kind = "fcp"
        else:
            raise ontap_error(400, 'The initiator name "%s" is invalid. Use an iSCSI name (iqn./eui./naa.) '
                              'or an FC WWPN of the form xx:xx:xx:xx:xx:xx:xx:xx.' % name,
                              E_INVALID_INITIATOR, "initiators.name")
        if g["protocol"] != "mixed" and g["protocol"] != kind:
            raise ontap_error(400, 'Initiator "%s" cannot be added to initiator group "%s" whose protocol is '
                              '"%s".' % (name, g["name"], g["protocol"]), E_INITIATOR_PROTOCOL,
                              "initiators.name")

    def has_initiator(self, g, name):
        # ONTAP stores WWPNs in lower case; names compare without case.
        return any(i.lower() == name.lower() for i in g["initiators"])

    def store_form(self, name):
        return name.lower() if re.fullmatch(r"([0-9a-fA-F]{2}:){7}[0-9a-fA-F]{2}", name) else name

    def h_igroup_create(self, req):
        b = req.body if isinstance(req.body, dict) else {}
        svm = self.svm_ref(b)
        name = b.get("name")
        if not name or not isinstance(name, str):
            raise ontap_error(400, 'Field "name" is required.', E_MISSING_FIELD, "name")
        if not re.fullmatch(r"[A-Za-z0-9_.:\-]{1,96}", name):
            raise ontap_error(400, 'Initiator group name "%s" is invalid.' % name, E_BAD_VALUE, "name")
        proto = b.get("protocol", "mixed")
        if proto not in ("iscsi", "fcp", "mixed"):
            raise ontap_error(400, 'Invalid value "%s" for field "protocol".' % proto, E_BAD_VALUE, "protocol")
        os_type = b.get("os_type")
        if not os_type:
            raise ontap_error(400, 'Field "os_type" is required.', E_MISSING_FIELD, "os_type")
        if any(g["name"] == name and g["svm"] == svm["uuid"] for g in self.store.igroups):
            raise ontap_error(409, 'The initiator group "%s" already exists in SVM "%s".' % (name, svm["name"]),
                              E_DUPLICATE_IGROUP, "name")
        g = {"uuid": str(uuidlib.uuid4()), "name": name, "svm": svm["uuid"], "protocol": proto,
             "os_type": os_type, "initiators": []}
        for i in b.get("initiators") or []:
            iname = i.get("name") if isinstance(i, dict) else i
            self.check_initiator(g, iname)
            if not self.has_initiator(g, iname):
                g["initiators"].append(self.store_form(iname))
        self.store.igroups.append(g)
        self.changed()
        return self.created(req, self.igroup_rec(g), "%s/igroups/%s" % (SAN_BASE, g["uuid"]))

    def h_igroup_delete(self, req, uid):
        g = self.igroup_or_404(uid)
        if any(m["igroup"] == uid for m in self.store.lun_maps) and req.q("allow_delete_while_mapped") != "true":
            raise ontap_error(409, 'Initiator group "%s" is mapped to LUNs; unmap them first.' % g["name"],
                              E_IGROUP_MAPPED)
        self.store.lun_maps = [m for m in self.store.lun_maps if m["igroup"] != uid]
        self.store.igroups.remove(g)
        self.changed()
        return 200, None  # the spec documents no body

    def h_init_list(self, req, uid):
        g = self.igroup_or_404(uid)
        return self.collection(req, self.igroup_rec(g)["initiators"], ["name"])

    def h_init_add(self, req, uid):
        g = self.igroup_or_404(uid)
        b = req.body if isinstance(req.body, dict) else {}
        names = [r.get("name") for r in b.get("records", []) if isinstance(r, dict)] if "records" in b \
            else [b.get("name")]
        if not names or not all(isinstance(n, str) and n for n in names):
            raise ontap_error(400, 'Field "name" is required.', E_MISSING_FIELD, "name")
        for n in names:
            self.check_initiator(g, n)
            if self.has_initiator(g, n):
                raise ontap_error(409, 'Initiator "%s" is already in initiator group "%s".' % (n, g["name"]),
                                  E_DUPLICATE_INITIATOR, "name")
        for n in names:
            g["initiators"].append(self.store_form(n))
        self.changed()
        recs = [{"name": self.store_form(n)} for n in names]
        hdr = {"Location": "%s/igroups/%s/initiators/%s" % (SAN_BASE, uid, urllib.parse.quote(recs[0]["name"], safe=""))}
        if (req.q("return_records") or "").lower() == "true":
            return 201, {"num_records": len(recs), "records": recs}, hdr
        return 201, {}, hdr

    def h_init_delete(self, req, uid, name):
        g = self.igroup_or_404(uid)
        name = urllib.parse.unquote(name)
        for i in g["initiators"]:
            if i.lower() == name.lower():
                g["initiators"].remove(i)
                self.changed()
                return 200, None  # the spec documents no body
        raise ontap_error(404, 'Initiator "%s" is not in initiator group "%s".' % (name, g["name"]),
                          E_ENTRY_NOT_FOUND, "name")

    def h_map_list(self, req):
        return self.collection(req, [self.map_rec(m) for m in self.store.lun_maps], ["svm", "lun", "igroup"])

    def find_map(self, lun_uuid, ig_uuid):
        for m in self.store.lun_maps:
            if m["lun"] == lun_uuid and m["igroup"] == ig_uuid:
                return m
        raise ontap_error(404, "entry doesn't exist", E_MAP_NOT_FOUND)

    def h_map_get(self, req, lun_uuid, ig_uuid):
        return 200, self.map_rec(self.find_map(lun_uuid, ig_uuid))

    def h_map_create(self, req):
        b = req.body if isinstance(req.body, dict) else {}
        svm = self.svm_ref(b, required=False)
        lref, gref = b.get("lun") or {}, b.get("igroup") or {}
        if not isinstance(lref, dict) or not (lref.get("uuid") or lref.get("name")):
            raise ontap_error(400, 'Field "lun.uuid" or "lun.name" is required.', E_MISSING_FIELD, "lun")
        if not isinstance(gref, dict) or not (gref.get("uuid") or gref.get("name")):
            raise ontap_error(400, 'Field "igroup.uuid" or "igroup.name" is required.', E_MISSING_FIELD, "igroup")
        lun = None
        for l in self.store.luns:
            if (lref.get("uuid") and l["uuid"] == lref["uuid"]) or \
                    (not lref.get("uuid") and l["name"] == lref.get("name") and (svm is None or l["svm"] == svm["uuid"])):
                lun = l
        if lun is None:
            raise ontap_error(404, 'LUN "%s" does not exist.' % (lref.get("name") or lref.get("uuid")),
                              E_LUN_NOT_FOUND, "lun")
        if svm is None:
            svm = self.svm_by_uuid(lun["svm"])
        if lun["svm"] != svm["uuid"]:
            raise ontap_error(404, 'LUN "%s" does not exist in SVM "%s".' % (lun["name"], svm["name"]),
                              E_LUN_NOT_FOUND, "lun")
        ig = None
        for g in self.store.igroups:
            if g["svm"] == svm["uuid"] and ((gref.get("uuid") and g["uuid"] == gref["uuid"]) or
                                             (not gref.get("uuid") and g["name"] == gref.get("name"))):
                ig = g
        if ig is None:
            raise ontap_error(404, 'Initiator group "%s" does not exist in SVM "%s".' % (
                gref.get("name") or gref.get("uuid"), svm["name"]), E_IGROUP_NOT_FOUND, "igroup")
        if any(m["lun"] == lun["uuid"] and m["igroup"] == ig["uuid"] for m in self.store.lun_maps):
            raise ontap_error(409, 'LUN "%s" is already mapped to initiator group "%s".' % (lun["name"], ig["name"]),
                              E_DUPLICATE_MAP)
        lun_id = b.get("logical_unit_number")
        if lun_id is None:
            lun_id = self.free_lun_id(ig["uuid"])
        elif not isinstance(lun_id, int) or lun_id < 0 or lun_id > 4095 or \
                any(m["igroup"] == ig["uuid"] and m["lun_id"] == lun_id for m in self.store.lun_maps):
            raise ontap_error(400, "LUN ID %s is invalid or already in use in initiator group \"%s\"." % (
                lun_id, ig["name"]), E_BAD_VALUE, "logical_unit_number")
        m = {"lun": lun["uuid"], "igroup": ig["uuid"], "lun_id": lun_id}
        self.store.lun_maps.append(m)
        self.changed()
        return self.created(req, self.map_rec(m), "%s/lun-maps/%s/%s" % (SAN_BASE, lun["uuid"], ig["uuid"]))

    def h_map_delete(self, req, lun_uuid, ig_uuid):
        m = self.find_map(lun_uuid, ig_uuid)
        self.store.lun_maps.remove(m)
        self.changed()
        return 200, None  # the spec documents no body

    def h_lif_list(self, req):
        return self.collection(req, self.lif_recs(), ["uuid", "name"])

    def h_fc_lif_list(self, req):
        return self.collection(req, self.fc_lif_recs(), ["uuid", "name"])

    def h_iscsi_service_list(self, req):
        return self.collection(req, self.iscsi_service_recs(), ["svm"])


def extra_args(ap):
    ap.add_argument("--username", default="admin")
    ap.add_argument("--password", default="netapp1!")


# -- the test world ---------------------------------------------------------------
WORLD_SVM_UUID = "5a1e0001-0000-4000-8000-00000000a001"
WORLD_LUN = "/vol/trident_pvc_1/lun0"
WORLD_SERIAL = "SimPvc1Lun00"


def world_seed(w):
    """The world's ONTAP: SVM svm1 with the LUN of Trident ontap-san PV
    "pvc-1" (internalName trident_pvc_1), of the VM disk's size; its FC LIFs
    and iSCSI target are the ports the hosts see (World.target_ports).
    WORLD_ONTAP_EXTRA_LUNS=N (at most 98) adds the LUNs of PVs pvc-2 ..
    pvc-<N+1> (internalName trident_pvc_K, serial SimPvcKKLun0), so many
    populates can run at once, each onto its own volume (make bench)."""
    fc, iqn = w.target_ports("ONTAP", ["2000d039ea00f001", "2000d039ea00f002"],
                             "iqn.1992-08.com.netapp:sn.f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0:vs.9")
    svm = {"name": "svm1", "uuid": WORLD_SVM_UUID, "fc_wwpns": fc}
    svm["iscsi_target"] = iqn[0] if iqn else None
    seed = {"svms": [svm],
            "luns": [{"name": WORLD_LUN, "size": w.size, "serial": WORLD_SERIAL,
                      "uuid": "5a1e0002-0000-4000-8000-00000000b001"}],
            "fc_node_names": w.fc_node_names()}
    extra = int(os.environ.get("WORLD_ONTAP_EXTRA_LUNS") or 0)
    for k in range(2, min(extra, 98) + 2):
        seed["luns"].append({"name": "/vol/trident_pvc_%d/lun0" % k, "size": w.size,
                             "serial": "SimPvc%02dLun0" % k,
                             "uuid": "5a1e0002-0000-4000-8000-00000000b%03x" % k})
    return seed, [("VOLUME_HANDLE", "pvc-1"), ("ATTRS", "internalName=trident_pvc_1"),
                  ("LUN", WORLD_LUN), ("VOLUME", WORLD_LUN), ("NAA", naa_for(WORLD_SERIAL))]


FAKE = common.Descriptor(
    name="ontap", product="ontap", env="ONTAP", order=10,
    args=["--username", "admin", "--password", "Netapp1-sim"],
    env_facts=[("USERNAME", "admin"), ("PASSWORD", "Netapp1-sim"), ("SVM", "svm1")],
    prism_spec="ontap/spec_ontap_populator.json", prism_dir="prism-ontap",
    response_spec="ontap/spec_ontap_populator.json",
    default_seed={"svms": [{"name": "svm1", "uuid": WORLD_SVM_UUID}]},
    default_storage=True, world_seed=world_seed)


if __name__ == "__main__":
    common.main(Ontap, "Simulated NetApp ONTAP REST API (our model, for tests)", extra_args)
