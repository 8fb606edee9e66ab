#!/usr/bin/env python3
"""Simulated Dell PowerMax: our own model of Unisphere for PowerMax REST API
100 (/univmax/restapi/100), as the populator uses it.

Built from Dell's public Unisphere REST documentation and the traffic notes
in shared/spec/vendors-a.md §4 and vendor-corrections.md §1.  It is not Dell
code and not a complete array: it models one or more symmetrix arrays with
volumes (real bytes in sparse files), hosts with their initiators, port
groups with protocol and ports, storage groups, masking views and volume
iterators.

What it models:
  * HTTP Basic on every request (no session); 401 otherwise.
  * Media-type versioning: an Accept that excludes JSON is 406; a request
    body must be application/json (parameters such as ";version=100" are
    fine), else 415.
  * GET /univmax/restapi/version -> {"version": "V10.1.0.2", ...}.
  * system/symmetrix/<id>, its director ports (symmetrixPort.identifier: a
    WWN for FC, an IQN for iSCSI); an unknown symmetrix id is 404 on every
    path that names it.
  * sloprovisioning: portgroup/<id> (port_group_protocol + symmetrixPortKey),
    initiator?in_a_host=&initiator_hba= (FC initiators are
    "<director>:<port>:<wwpn>", one per FC port of the array), initiator/<id>
    ({"host": …}; an IQN is its own id), volume/<id> and volume?storageGroupId=
    (an iterator), storagegroup (create/get/edit/delete), maskingview
    (create/get/delete).
  * Iterators: {"id","count","maxPageSize","expirationTime","resultList":
    {"result":[{"volumeId"}],"from":1,"to":K}}; pages at
    /univmax/restapi/common/Iterator/<id>/page?from=&to= answer
    {"result","from","to"}; DELETE removes the iterator.  Live iterators are
    in the state (a client that never deletes them shows there).
  * Strict bodies (check_fields): an unknown field or a wrong type is 400.
    A masking view names an existing host (useExistingHostParam.hostId) or
    host group (useExistingHostGroupParam.hostGroupId); a host's id under the
    host-group key is 404 "Host Group … cannot be found".
  * Rules the array enforces: a storage group in a masking view cannot be
    deleted, nor its last volume removed; names already in use are 409;
    removing a volume a group does not hold is 400.
  * Errors: {"message": …, "httpStatusCode": N, "errorCode": N}.
  * A masking view publishes FABRIC/luns/<naa>.json for every volume of its
    storage group with the initiators of its host (naa = "naa." + wwn).

Operation names (for --faults and the call log):
  version symmetrix_get port_get portgroup_get initiator_list initiator_get
  volume_list volume_get sg_get sg_create sg_edit sg_delete
  mv_get mv_create mv_delete iterator_page iterator_delete

Seed (--seed FILE, JSON), all optional:
  {"symmetrix": [{"id": "000197900123", "model": "PowerMax_8500", "ucode": "6079.175.0"}],
   "ports": [{"director": "FA-1D", "port": "4", "identifier": "5000097300000001", "type": "FibreChannel"}],
   "port_groups": [{"id": "pg1", "protocol": "SCSI_FC", "ports": ["FA-1D:4"]}],
   "hosts": [{"id": "esx01", "type": "Fibre", "initiators": ["21000024ff3ab500"]}],
   "volumes": [{"id": "0012A", "identifier": "csi-…", "size": 8388608}],
   "storage_groups": [{"id": "sg", "volumes": ["0012A"]}],
   "masking_views": [{"id": "mv", "host": "esx01", "port_group": "pg1", "storage_group": "sg"}],
   "max_page_size": 1000,
   "fc_node_names": {"<wwpn hex>": "<wwnn hex>"}}
Credentials: --username/--password (default smc / smc).
"""

import sys
import time
import uuid as uuidlib

sys.dont_write_bytecode = True  # keep the source tree clean
import common  # noqa: E402
from common import ApiError  # noqa: E402

API = "/univmax/restapi/100"
SLO = API + "/sloprovisioning/symmetrix/{sym}"
SYS = API + "/system/symmetrix/{sym}"
ITER = "/univmax/restapi/common/Iterator/{iid}"
VERSION = "V10.1.0.2"


def pmax_error(status, message):
    return ApiError(status, {"message": message, "httpStatusCode": status, "errorCode": status})


def wwn_for(sym, dev):
    """A PowerMax-style WWN: 6000097 0 <12-digit symmetrix id> + the hex of
    the device id's characters (padded to 6 with 'S0…')."""
    tail = ("S" + dev.rjust(5, "0"))[-6:]
    return ("60000970" + sym + tail.encode().hex()).upper()[:32]


NULLABLE_LIST = (list, type(None))
SG_SCHEMA = {
    "executionOption": str, "storageGroupId": str, "snapshot_policies": NULLABLE_LIST,
    "srpId": str, "emulation": str, "create_empty_storage_group": bool,
    "sloBasedStorageGroupParam": [{
        "custom_cascaded_storageGroupId": str, "snapshot_policies": NULLABLE_LIST,
        "sloId": str, "workloadSelection": str,
        "volumeAttributes": [{"capacityUnit": str, "volume_size": str, "num_of_vols": int,
                              "volumeIdentifier": dict}],
        "allocate_capacity_for_each_vol": bool, "noCompression": bool,
        "enable_mobility_id": bool}],
}
REMOTE = {"remote_symmetrix_1_id": str, "remote_symmetrix_1_sgs": [str],
          "remote_symmetrix_2_id": str, "remote_symmetrix_2_sgs": [str]}
EDIT_SCHEMA = {
    "executionOption": str,
    "editStorageGroupActionParam": {
        "expandStorageGroupParam": {"addSpecificVolumeParam": {
            "volumeId": [str], "remoteSymmSGInfoParam": REMOTE}},
        "removeVolumeParam": {"volumeId": [str], "remoteSymmSGInfoParam": REMOTE}},
}
MV_SCHEMA = {
    "maskingViewId": str, "executionOption": str, "enableComplianceAlerts": bool,
    "hostOrHostGroupSelection": {"useExistingHostParam": {"hostId": str},
                                 "useExistingHostGroupParam": {"hostGroupId": str}},
    "portGroupSelection": {"useExistingPortGroupParam": {"portGroupId": str}},
    "storageGroupSelection": {"useExistingStorageGroupParam": {"storageGroupId": str}},
}


class PowerMax(common.BasicAuth, common.ArrayFake):
    array = "powermax"
    scsi_vendor = "EMC"
    scsi_model = "SYMMETRIX"
    public_ops = ()
    state = {"collections": ["symmetrix", "ports", "port_groups", "hosts", "volumes",
                             "storage_groups", "masking_views", "iterators"],
             "values": {"max_page_size": 1000}}
    routes = [
        ("GET", "/univmax/restapi/version", "version", "h_version"),
        ("GET", SYS, "symmetrix_get", "h_symmetrix"),
        ("GET", SYS + "/director/{dir}/port/{port}", "port_get", "h_port"),
        ("GET", SLO + "/portgroup/{pg}", "portgroup_get", "h_portgroup"),
        ("GET", SLO + "/initiator", "initiator_list", "h_initiator_list"),
        ("GET", SLO + "/initiator/{iid}", "initiator_get", "h_initiator_get"),
        ("GET", SLO + "/volume", "volume_list", "h_volume_list"),
        ("GET", SLO + "/volume/{dev}", "volume_get", "h_volume_get"),
        ("POST", SLO + "/storagegroup", "sg_create", "h_sg_create"),
        ("GET", SLO + "/storagegroup/{sg}", "sg_get", "h_sg_get"),
        ("PUT", SLO + "/storagegroup/{sg}", "sg_edit", "h_sg_edit"),
        ("DELETE", SLO + "/storagegroup/{sg}", "sg_delete", "h_sg_delete"),
        ("POST", SLO + "/maskingview", "mv_create", "h_mv_create"),
        ("GET", SLO + "/maskingview/{mv}", "mv_get", "h_mv_get"),
        ("DELETE", SLO + "/maskingview/{mv}", "mv_delete", "h_mv_delete"),
        ("GET", ITER + "/page", "iterator_page", "h_iter_page"),
        ("DELETE", ITER, "iterator_delete", "h_iter_delete"),
    ]

    # -- base hooks -------------------------------------------------------------
    def error_body(self, status, message, code=None):
        return {"message": message, "httpStatusCode": status, "errorCode": code or status}

    def not_found(self, req):
        return pmax_error(404, "HTTP 404 Not Found: %s" % req.path)

    def not_allowed(self, req):
        return pmax_error(405, "HTTP 405 Method Not Allowed")

    def auth_failed(self, req):
        return pmax_error(401, "Unauthorized")

    def authenticate(self, req, op):
        common.BasicAuth.authenticate(self, req, op)
        accept = (req.headers.get("Accept") or "*/*").lower()
        if "json" not in accept and "*/*" not in accept:
            raise pmax_error(406, "HTTP 406 Not Acceptable: %s" % accept)
        if req.raw_body:
            ct = (req.headers.get("Content-Type") or "").lower().split(";")[0].strip()
            if ct != "application/json":
                raise pmax_error(415, "HTTP 415 Unsupported Media Type: %r" % ct)

    def dispatch(self, req, op, handler, params):
        sym = params.pop("sym", None)
        if sym is not None:
            if not self.store.find("symmetrix", id=sym):
                raise pmax_error(404, "Symmetrix %s not found" % sym)
            req.sym = sym
        return handler(req, **params)

    def load_seed(self, seed):
        syms = seed.get("symmetrix") or [{"id": "000197900123"}]
        for s in syms:
            self.store.symmetrix.append({"id": s["id"], "model": s.get("model", "PowerMax_8500"),
                                         "ucode": s.get("ucode", "6079.175.0")})
        sym = syms[0]["id"]
        for p in seed.get("ports", []):
            self.store.ports.append({"director": p["director"], "port": str(p["port"]),
                                     "identifier": p["identifier"],
                                     "type": p.get("type", "FibreChannel")})
        for pg in seed.get("port_groups", []):
            self.store.port_groups.append({"id": pg["id"], "protocol": pg.get("protocol", "SCSI_FC"),
                                           "ports": list(pg.get("ports", []))})
        for h in seed.get("hosts", []):
            inits = [common.wwpn_hex(i) or i for i in h.get("initiators", [])]
            self.store.hosts.append({"id": h["id"], "type": h.get("type", "Fibre"),
                                     "initiators": inits})
        for v in seed.get("volumes", []):
            self.add_volume(sym, v["id"], v.get("size", 1 << 20), v.get("identifier", ""))
        for g in seed.get("storage_groups", []):
            self.store.storage_groups.append({"id": g["id"], "volumes": list(g.get("volumes", []))})
        for m in seed.get("masking_views", []):
            self.store.masking_views.append({"id": m["id"], "host": m["host"],
                                             "port_group": m["port_group"],
                                             "storage_group": m["storage_group"]})
        self.store.max_page_size = int(seed.get("max_page_size", 1000))

    def add_volume(self, sym, dev, size, identifier):
        v = {"id": dev, "sym": sym, "identifier": identifier, "size": size, "wwn": wwn_for(sym, dev)}
        self.store.volumes.append(v)
        self.fabric.create_file(dev, size)
        return v

    # -- views ----------------------------------------------------------------------
    def sim_volumes(self):
        return [{"key": v["id"], "name": v["id"], "id": str(v["id"]), "naa": "naa." + v["wwn"].lower(),
                 "size": v["size"]} for v in self.store.volumes]

    def sim_groups(self):
        return [{"key": h["id"], "name": h["id"], "initiators": list(h["initiators"])}
                for h in self.store.hosts]

    def sim_mappings(self):
        out = []
        for mv in self.store.masking_views:
            sg = self.store.find("storage_groups", id=mv["storage_group"])
            for i, dev in enumerate(sg["volumes"] if sg else []):
                out.append((mv["host"], dev, i + 1))
        return out

    # -- helpers ----------------------------------------------------------------------
    def bad_field(self, field, problem):
        if problem == "unknown":
            raise pmax_error(400, "Unrecognized field \"%s\" in the request body" % field)
        raise pmax_error(400, "Invalid value type for field \"%s\"" % field)

    def body(self, req, schema):
        if not isinstance(req.body, dict):
            raise pmax_error(400, "A request body is required")
        common.check_fields(req.body, schema, self.bad_field)
        return req.body

    def need(self, coll, oid, what):
        r = self.store.find(coll, id=oid)
        if r is None:
            raise pmax_error(404, "Cannot find %s %s" % (what, oid))
        return r

    def volume_rec(self, v):
        sgs = [g["id"] for g in self.store.storage_groups if v["id"] in g["volumes"]]
        mvs = [m["id"] for m in self.store.masking_views if m["storage_group"] in sgs]
        return {"volumeId": v["id"], "volume_identifier": v["identifier"], "wwn": v["wwn"],
                "type": "TDEV", "emulation": "FBA", "cap_mb": v["size"] / 1048576.0,
                "cap_gb": round(v["size"] / 1073741824.0, 2), "cap_cyl": v["size"] // 1966080,
                "num_of_storage_groups": len(sgs), "storageGroupId": sgs,
                "num_of_front_end_paths": len(mvs), "mapped": bool(mvs)}

    def fc_initiator_ids(self, wwpn):
        """The array's FC initiator ids of a WWPN: one per FC director port."""
        fc = [p for p in self.store.ports if p["type"] == "FibreChannel"]
        return ["%s:%s:%s" % (p["director"], p["port"], wwpn) for p in fc]

    def host_of(self, initiator):
        for h in self.store.hosts:
            if initiator in h["initiators"]:
                return h
        return None

    # -- handlers ---------------------------------------------------------------------
    def h_version(self, req):
        return 200, {"version": VERSION, "api_version": "101",
                     "supported_api_versions": ["101", "100", "92"]}

    def h_symmetrix(self, req):
        s = self.store.find("symmetrix", id=req.sym)
        return 200, {"symmetrixId": s["id"], "model": s["model"], "ucode": s["ucode"],
                     "local": True, "device_count": len(self.store.volumes)}

    def h_port(self, req, dir, port):
        p = next((p for p in self.store.ports if p["director"] == dir and p["port"] == port), None)
        if p is None:
            raise pmax_error(404, "Cannot find port %s:%s" % (dir, port))
        return 200, {"symmetrixPort": {"symmetrixPortKey": {"directorId": dir, "portId": port},
                                       "identifier": p["identifier"], "type": p["type"],
                                       "port_status": "ON"}}

    def h_portgroup(self, req, pg):
        g = self.need("port_groups", pg, "Port Group")
        keys = []
        for k in g["ports"]:
            d, _, p = k.rpartition(":")
            keys.append({"directorId": d, "portId": p})
        return 200, {"portGroupId": g["id"], "port_group_protocol": g["protocol"],
                     "num_of_ports": len(keys), "symmetrixPortKey": keys,
                     "num_of_masking_views": sum(1 for m in self.store.masking_views
                                                 if m["port_group"] == g["id"])}

    def h_initiator_list(self, req):
        hba = (req.q("initiator_hba") or "").lower()
        in_host = (req.q("in_a_host") or "").lower() == "true"
        ids = []
        for wwpn in sorted({i for h in self.store.hosts for i in h["initiators"]
                            if common.wwpn_hex(i)} | ({hba} if common.wwpn_hex(hba) else set())):
            if hba and wwpn != hba:
                continue
            if in_host and self.host_of(wwpn) is None:
                continue
            ids.extend(self.fc_initiator_ids(wwpn))
        return 200, {"initiatorId": ids, "num_of_initiators": len(ids)}

    def h_initiator_get(self, req, iid):
        parts = iid.rsplit(":", 1)
        if len(parts) == 2 and common.wwpn_hex(parts[1]) and iid in self.fc_initiator_ids(parts[1].lower()):
            key, kind = parts[1].lower(), "Fibre"
        else:
            key, kind = iid, "iSCSI"
        h = self.host_of(key)
        if h is None:
            raise pmax_error(404, "Cannot find Initiator %s" % iid)
        return 200, {"initiatorId": iid, "type": kind, "host": h["id"], "on_fabric": True,
                     "logged_in": True}

    def h_volume_get(self, req, dev):
        v = self.store.find("volumes", id=dev, sym=req.sym)
        if v is None:
            raise pmax_error(404, "Cannot find Volume %s" % dev)
        return 200, self.volume_rec(v)

    def h_volume_list(self, req):
        sgid = req.q("storageGroupId")
        vols = [v for v in self.store.volumes if v["sym"] == req.sym]
        if sgid is not None:
            sg = self.store.find("storage_groups", id=sgid)
            members = sg["volumes"] if sg else []
            vols = [v for v in vols if v["id"] in members]
        ids = sorted(v["id"] for v in vols)
        size = max(1, int(self.store.max_page_size))
        doc = {"count": len(ids), "maxPageSize": size,
               "expirationTime": int((time.time() + 600) * 1000)}
        if ids:
            it = {"id": str(uuidlib.uuid4()) + "_0", "ids": ids}
            self.store.iterators.append(it)
            self.changed()
            doc["id"] = it["id"]
            doc["resultList"] = {"result": [{"volumeId": i} for i in ids[:size]], "from": 1,
                                 "to": min(size, len(ids))}
        return 200, doc

    def h_iter_page(self, req, iid):
        it = self.need("iterators", iid, "Iterator")
        try:
            lo, hi = int(req.q("from", "")), int(req.q("to", ""))
        except ValueError:
            raise pmax_error(400, "Query parameters from and to must be integers")
        if lo < 1 or hi < lo or hi > len(it["ids"]) or hi - lo + 1 > self.store.max_page_size:
            raise pmax_error(400, "Invalid page range from=%d to=%d of %d" % (lo, hi, len(it["ids"])))
        return 200, {"result": [{"volumeId": i} for i in it["ids"][lo - 1:hi]], "from": lo, "to": hi}

    def h_iter_delete(self, req, iid):
        it = self.need("iterators", iid, "Iterator")
        self.store.iterators.remove(it)
        self.changed()
        return 204, None

    def sg_rec(self, g):
        return {"storageGroupId": g["id"], "num_of_vols": len(g["volumes"]), "type": "Standalone",
                "srp": "None", "num_of_masking_views": sum(1 for m in self.store.masking_views
                                                          if m["storage_group"] == g["id"]),
                "maskingview": [m["id"] for m in self.store.masking_views
                                if m["storage_group"] == g["id"]]}

    def h_sg_get(self, req, sg):
        return 200, self.sg_rec(self.need("storage_groups", sg, "Storage Group"))

    def h_sg_create(self, req):
        b = self.body(req, SG_SCHEMA)
        name = b.get("storageGroupId")
        if not name:
            raise pmax_error(400, "storageGroupId is required")
        if len(name) > 64:
            raise pmax_error(400, "Storage group name %s is longer than 64 characters" % name)
        if self.store.find("storage_groups", id=name):
            raise pmax_error(409, "A Storage Group with the name %s already exists" % name)
        g = {"id": name, "volumes": []}
        self.store.storage_groups.append(g)
        self.changed()
        return 201, self.sg_rec(g)

    def h_sg_edit(self, req, sg):
        g = self.need("storage_groups", sg, "Storage Group")
        b = self.body(req, EDIT_SCHEMA)
        act = b.get("editStorageGroupActionParam") or {}
        if len(act) != 1:
            raise pmax_error(400, "Exactly one edit action is required")
        add = (act.get("expandStorageGroupParam") or {}).get("addSpecificVolumeParam")
        if "expandStorageGroupParam" in act and add is None:
            raise pmax_error(400, "expandStorageGroupParam needs addSpecificVolumeParam")
        if add is not None:
            for dev in add.get("volumeId", []):
                if not self.store.find("volumes", id=dev, sym=req.sym):
                    raise pmax_error(404, "Cannot find Volume %s" % dev)
                if dev in g["volumes"]:
                    raise pmax_error(409, "Volume %s is already in Storage Group %s" % (dev, sg))
            g["volumes"].extend(add.get("volumeId", []))
        rem = act.get("removeVolumeParam")
        if rem is not None:
            devs = rem.get("volumeId", [])
            for dev in devs:
                if dev not in g["volumes"]:
                    raise pmax_error(400, "Volume %s is not in Storage Group %s" % (dev, sg))
            left = [d for d in g["volumes"] if d not in devs]
            if not left and any(m["storage_group"] == sg for m in self.store.masking_views):
                raise pmax_error(400, "Cannot remove the last volume of Storage Group %s, "
                                      "which is in a masking view" % sg)
            g["volumes"] = left
        self.changed()
        return 200, self.sg_rec(g)

    def h_sg_delete(self, req, sg):
        g = self.need("storage_groups", sg, "Storage Group")
        if any(m["storage_group"] == sg for m in self.store.masking_views):
            raise pmax_error(400, "Storage Group %s is in a masking view and cannot be deleted" % sg)
        self.store.storage_groups.remove(g)
        self.changed()
        return 204, None

    def mv_rec(self, m):
        return {"maskingViewId": m["id"], "hostId": m["host"], "portGroupId": m["port_group"],
                "storageGroupId": m["storage_group"]}

    def h_mv_get(self, req, mv):
        return 200, self.mv_rec(self.need("masking_views", mv, "Masking View"))

    def h_mv_create(self, req):
        b = self.body(req, MV_SCHEMA)
        name = b.get("maskingViewId")
        hsel = b.get("hostOrHostGroupSelection") or {}
        pg = ((b.get("portGroupSelection") or {}).get("useExistingPortGroupParam") or {}).get("portGroupId")
        sg = ((b.get("storageGroupSelection") or {}).get("useExistingStorageGroupParam") or {}).get("storageGroupId")
        if not name or not pg or not sg or len(hsel) != 1:
            raise pmax_error(400, "maskingViewId, one host or host group, a port group and a "
                                  "storage group are required")
        if "useExistingHostGroupParam" in hsel:
            # This model has no host groups: a host's id there names nothing.
            raise pmax_error(404, "Host Group %s cannot be found"
                             % hsel["useExistingHostGroupParam"].get("hostGroupId"))
        host = self.need("hosts", hsel["useExistingHostParam"].get("hostId"), "Host")
        self.need("port_groups", pg, "Port Group")
        self.need("storage_groups", sg, "Storage Group")
        if self.store.find("masking_views", id=name):
            raise pmax_error(409, "A Masking View with the name %s already exists" % name)
        m = {"id": name, "host": host["id"], "port_group": pg, "storage_group": sg}
        self.store.masking_views.append(m)
        self.changed()
        return 201, self.mv_rec(m)

    def h_mv_delete(self, req, mv):
        m = self.need("masking_views", mv, "Masking View")
        self.store.masking_views.remove(m)
        self.changed()
        return 204, None


def extra_args(ap):
    ap.add_argument("--username", default="smc")
    ap.add_argument("--password", default="smc")


# -- the test world ---------------------------------------------------------------
WORLD_SYM = "000197900123"
WORLD_DEV = "0012A"
WORLD_PG = "xcopy-pg-fc"
WORLD_PG_ISCSI = "xcopy-pg-iscsi"
# A Kubernetes worker node, defined on the array by the CSI driver (its
# hosts are "csi-<cluster>-<node>"), with one FC port of its own.
WORLD_WORKER_HOST = "csi-sim-worker-1"
WORLD_WORKER_WWPN = "10000090fa0b0001"


def world_seed(w):
    """The world's PowerMax: one array with an FC and an iSCSI port group, an
    FC host and an iSCSI host for every simulated ESXi host (their WWPNs and
    IQNs), a worker node's FC host as the CSI driver defines it, and the CSI
    volume of the VM disk's size.  Nothing is mapped at the start."""
    import glob
    import json
    import os
    hosts, n = [], 0
    files = sorted(glob.glob(os.path.join(w.fabric, "esxi-*.json")))
    extra = [w.fc] if w.fc else []
    for f in files:
        try:
            with open(f) as fh:
                d = json.load(fh)
        except (OSError, ValueError):
            continue
        inits = d.get("initiators", [])
        wwpns = [common.initiator_norm(i) for i in inits if i.lower().startswith("fc.")]
        iqns = [i for i in inits if i.lower().startswith("iqn.")]
        name = "esx-%s" % d.get("host", n)
        if wwpns:
            hosts.append({"id": name + "-fc", "type": "Fibre", "initiators": wwpns})
        if iqns:
            hosts.append({"id": name + "-iscsi", "type": "iSCSI", "initiators": iqns})
        extra = [e for e in extra if common.initiator_norm(e) not in wwpns]
        n += 1
    for e in extra:
        hosts.append({"id": "esx-vc-fc", "type": "Fibre", "initiators": [common.initiator_norm(e)]})
    hosts.append({"id": WORLD_WORKER_HOST, "type": "Fibre", "initiators": [WORLD_WORKER_WWPN]})
    seed = {
        "symmetrix": [{"id": WORLD_SYM, "model": "PowerMax_8500", "ucode": "6079.175.0"}],
        "ports": [{"director": "FA-1D", "port": "4", "identifier": "5000097300a1b004"},
                  {"director": "FA-2D", "port": "4", "identifier": "5000097300a1b044"},
                  {"director": "SE-1E", "port": "0", "type": "GigE",
                   "identifier": "iqn.1992-04.com.emc:600009700bcbb1e0"}],
        "port_groups": [{"id": WORLD_PG, "protocol": "SCSI_FC", "ports": ["FA-1D:4", "FA-2D:4"]},
                        {"id": WORLD_PG_ISCSI, "protocol": "iSCSI", "ports": ["SE-1E:0"]}],
        "hosts": hosts,
        "volumes": [{"id": WORLD_DEV, "identifier": "csi-sim-pvc-1", "size": w.size}],
        "fc_node_names": w.fc_node_names(),
    }
    handle = "csi-sim-pmax-1a2b3c4d5e-default-%s-%s" % (WORLD_SYM, WORLD_DEV)
    facts = [("VOLUME_HANDLE", handle), ("VOLUME", WORLD_DEV),
             ("ATTRS", "SYMID=%s;SRP=SRP_1;ServiceLevel=Optimized" % WORLD_SYM),
             ("NAA", "naa." + wwn_for(WORLD_SYM, WORLD_DEV).lower()),
             ("SYMMETRIX_ID", WORLD_SYM), ("PORT_GROUP_NAME", WORLD_PG),
             ("ISCSI_PORT_GROUP_NAME", WORLD_PG_ISCSI),
             ("WORKER_HOST", WORLD_WORKER_HOST), ("WORKER_WWPN", WORLD_WORKER_WWPN)]
    return seed, facts


FAKE = common.Descriptor(
    name="powermax", product="powermax", env="POWERMAX", order=40,
    args=["--username", "smc", "--password", "Pmax1-sim"],
    env_facts=[("USERNAME", "smc"), ("PASSWORD", "Pmax1-sim")],
    default_seed={"symmetrix": [{"id": WORLD_SYM}]}, world_seed=world_seed)


if __name__ == "__main__":
    common.main(PowerMax, "Simulated Dell PowerMax Unisphere REST API 100 (our model, for tests)",
                extra_args)
