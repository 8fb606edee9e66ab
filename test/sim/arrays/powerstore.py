#!/usr/bin/env python3
"""Simulated Dell PowerStore: our own model of the PowerStore REST API under
/api/rest.

Built from Dell's public PowerStore REST API documentation (resource types
login_session, cluster, software_installed, volume, host, host_group,
host_volume_mapping; the query language select= / <field>=eq.<value> /
order= / limit= / offset=) and the traffic notes in shared/spec/vendors-a.md
§5.  It is not Dell code and not a complete array.

What it models:
  * GET login_session with HTTP Basic starts a session: the answer is
    [{"id", "user", "idle_timeout", ...}] with the session cookie
    auth_cookie (Set-Cookie) and the anti-CSRF token in the DELL-EMC-TOKEN
    header.  A request carrying auth_cookie needs a live session (an unknown
    or expired one answers 403) and, for POST/PATCH/DELETE, the session's
    DELL-EMC-TOKEN (403 without it).  A request without the cookie is
    checked by HTTP Basic alone (401 when wrong).  POST logout ends the
    session.  Sessions expire after --session-ttl (and on the "expire" fault).
  * Lists are arrays.  select= names the fields (unknown fields are a 400),
    with embedded resources as rel(f1,f2) or rel(*); every other query
    parameter but order/limit/offset is a filter <field>=eq.<value> (or
    neq.); an unknown field or operator is a 400.  order=<field>[.desc].
  * Paging: limit/offset; an answer that is not the whole collection is
    HTTP 206 with "Content-Range: first-last/total".  The fake never gives
    more than --page-max rows per page (default 2), so paging is real.
  * Bodies are checked strictly (unknown fields and wrong types are a 400).
  * Errors: {"messages": [{"code": "0x...", "severity": "Error",
    "message_l10n": "...", "arguments": [...]}]}; the codes are this model's.
  * A host that is a member of a host group refuses a private attach
    (attach through the group); attaching what is attached and detaching
    what is not are 422 errors.  The array picks the logical unit number.
  * Mapping a volume publishes FABRIC/luns/<naa>.json with the volume's wwn
    as naa and the initiators of the mapped host or host group.

Operation names (for --faults and the call log):
  login logout cluster_get software_get volume_list volume_get
  host_list host_get host_create host_modify host_attach host_detach
  host_group_list host_group_get host_group_create host_group_attach
  host_group_detach mapping_list   (an unknown path is "unknown").

Seed (--seed FILE, JSON), all optional:
  {"cluster": {"name": "sim-ps", "release_version": "3.6.0.0"},
   "volumes": [{"name": "csivol-1", "id": "…", "size": 1048576, "wwn": "naa.68ccf098…"}],
   "hosts": [{"name": "esx01", "id": "…", "initiators": [{"port_name": "iqn.…",
              "port_type": "iSCSI"}]}],
   "host_groups": [{"name": "hg1", "id": "…", "hosts": ["esx01"]}],
   "mappings": [{"volume": "csivol-1", "host": "esx01"} or {"volume", "host_group"}],
   "fc_node_names": {"<wwpn hex>": "<wwnn hex>"}}
Credentials: --username/--password (default admin / Password123!).
"""

import hashlib
import re
import secrets
import sys
import uuid as uuidlib

sys.dont_write_bytecode = True  # keep the source tree clean
import common  # noqa: E402
from common import ApiError

API = "/api/rest/"

# This model's error codes, in the array's 0x… format.
E_AUTH = "0xE09010010001"
E_SESSION = "0xE09010010002"
E_CSRF = "0xE09010010003"
E_BAD_REQUEST = "0xE04040010005"
E_BAD_FIELD = "0xE04040010006"
E_BAD_QUERY = "0xE04040010007"
E_NOT_FOUND = "0xE04040020009"
E_NAME_IN_USE = "0xE0A01001000B"
E_PORT_IN_USE = "0xE0A01001000C"
E_ALREADY_ATTACHED = "0xE0A08001000D"
E_NOT_ATTACHED = "0xE0A08001000E"
E_IN_HOST_GROUP = "0xE0A08001000F"

OS_TYPES = ("Windows", "Linux", "ESXi", "AIX", "HP-UX", "Solaris")
PORT_TYPES = ("iSCSI", "FC", "NVMe", "NVMe_vVol")

# Fields of each resource type a client may select (and filter on).
FIELDS = {
    "cluster": ("id", "name", "management_address", "state", "system_time", "global_id",
                "appliance_count", "nvm_subsystem_nqn"),
    "software_installed": ("id", "is_cluster", "release_version", "build_version", "build_id"),
    "volume": ("id", "name", "wwn", "size", "type", "state", "description", "appliance_id",
               "nsid", "nguid"),
    "host": ("id", "name", "description", "os_type", "host_group_id", "host_initiators"),
    "host_group": ("id", "name", "description"),
    "host_volume_mapping": ("id", "host_id", "host_group_id", "volume_id", "logical_unit_number"),
}
EMBED = {
    "host": {"host_group": "host_group", "mapped_hosts": None},
    "host_group": {"hosts": "host"},
    "host_volume_mapping": {"host": "host", "host_group": "host_group", "volume": "volume"},
}
DEFAULT_SELECT = {"cluster": ("id", "name"), "software_installed": ("id",),
                  "volume": ("id", "name"), "host": ("id", "name"), "host_group": ("id", "name"),
                  "host_volume_mapping": ("id",)}


def ps_error(status, code, message, *arguments):
    return ApiError(status, {"messages": [{"code": code, "severity": "Error",
                                           "message_l10n": message,
                                           "arguments": [str(a) for a in arguments]}]})


def wwn_for(name):
    return "naa.68ccf098" + hashlib.sha256(("powerstore:" + name).encode()).hexdigest()[:24]


class PowerStore(common.RangePager, common.ArrayFake):
    array = "powerstore"
    scsi_vendor = "DellEMC"
    scsi_model = "PowerStore"
    public_ops = ("login", "unknown")
    page_max = 2
    state = {"collections": ["volumes", "hosts", "host_groups", "mappings"],
             "values": {"cluster": {}, "csrf": {}}}
    routes = [
        ("GET", API + "login_session", "login", "h_login"),
        ("POST", API + "logout", "logout", "h_logout"),
        ("GET", API + "cluster", "cluster_get", "h_cluster"),
        ("GET", API + "software_installed", "software_get", "h_software"),
        ("GET", API + "volume", "volume_list", "h_volume_list"),
        ("GET", API + "volume/{id}", "volume_get", "h_volume_get"),
        ("GET", API + "host", "host_list", "h_host_list"),
        ("POST", API + "host", "host_create", "h_host_create"),
        ("GET", API + "host/{id}", "host_get", "h_host_get"),
        ("PATCH", API + "host/{id}", "host_modify", "h_host_modify"),
        ("POST", API + "host/{id}/attach", "host_attach", "h_host_attach"),
        ("POST", API + "host/{id}/detach", "host_detach", "h_host_detach"),
        ("GET", API + "host_group", "host_group_list", "h_hg_list"),
        ("POST", API + "host_group", "host_group_create", "h_hg_create"),
        ("GET", API + "host_group/{id}", "host_group_get", "h_hg_get"),
        ("POST", API + "host_group/{id}/attach", "host_group_attach", "h_hg_attach"),
        ("POST", API + "host_group/{id}/detach", "host_group_detach", "h_hg_detach"),
        ("GET", API + "host_volume_mapping", "mapping_list", "h_mapping_list"),
    ]

    def __init__(self, args):
        self.page_max = args.page_max
        super().__init__(args)

    # -- the base's hooks -------------------------------------------------------
    def error_body(self, status, message, code=None):
        code = code or {400: E_BAD_REQUEST, 401: E_AUTH, 403: E_SESSION, 404: E_NOT_FOUND}.get(
            status, "0xE0101001000A")
        return {"messages": [{"code": code, "severity": "Error", "message_l10n": message,
                              "arguments": []}]}

    def not_found(self, req):
        return ps_error(404, E_NOT_FOUND, "The requested resource %s was not found." % req.path,
                        req.path)

    def not_allowed(self, req):
        return ps_error(405, E_BAD_REQUEST, "Method %s is not allowed on %s." % (req.method, req.path))

    def cookie(self, req):
        for part in (req.headers.get("Cookie") or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "auth_cookie":
                return v
        return None

    def authenticate(self, req, op):
        if op in self.public_ops:
            return
        tok = self.cookie(req)
        if tok is not None:
            user = self.sessions.check(tok)
            if user is None:
                raise ps_error(403, E_SESSION, "The session has expired or is not valid; log in again.")
            if req.method in ("POST", "PATCH", "DELETE") and \
                    req.headers.get("DELL-EMC-TOKEN") != self.store.csrf.get(tok):
                raise ps_error(403, E_CSRF, "The DELL-EMC-TOKEN header is missing or does not match the session.")
            req.user = user
            return
        user, pw = req.basic_auth()
        if user != self.args.username or pw != self.args.password:
            raise ps_error(401, E_AUTH, "Authentication failed: invalid user name or password.")
        req.user = user

    # -- state ----------------------------------------------------------------
    def load_seed(self, seed):
        c = seed.get("cluster", {})
        self.store.cluster = {"id": c.get("id", "0"), "name": c.get("name", "sim-ps"),
                              "global_id": c.get("global_id", "PS00000000sim"),
                              "release_version": c.get("release_version", "3.6.0.0"),
                              "build_version": c.get("build_version", "3.6.0.0"),
                              "state": "Configured"}
        self.store.csrf = {}
        for v in seed.get("volumes", []):
            vid = v.get("id") or str(uuidlib.uuid4())
            self.store.volumes.append({"id": vid, "name": v["name"], "size": int(v.get("size", 1 << 20)),
                                       "wwn": (v.get("wwn") or wwn_for(v["name"])).lower()})
            self.fabric.create_file(v["name"], int(v.get("size", 1 << 20)))
        for h in seed.get("hosts", []):
            self.store.hosts.append({"id": h.get("id") or str(uuidlib.uuid4()), "name": h["name"],
                                     "os_type": h.get("os_type", "ESXi"), "description": None,
                                     "host_group_id": None,
                                     "host_initiators": [self.initiator(i) for i in h.get("initiators", [])]})
        for g in seed.get("host_groups", []):
            gid = g.get("id") or str(uuidlib.uuid4())
            self.store.host_groups.append({"id": gid, "name": g["name"], "description": None})
            for hn in g.get("hosts", []):
                self.find("hosts", name=hn)["host_group_id"] = gid
        for m in seed.get("mappings", []):
            v = self.find("volumes", name=m["volume"])
            if "host_group" in m:
                self.attach(v, None, self.find("host_groups", name=m["host_group"]))
            else:
                self.attach(v, self.find("hosts", name=m["host"]), None)

    @staticmethod
    def initiator(i):
        return {"port_name": i["port_name"], "port_type": i["port_type"], "active_sessions": []}

    def find(self, coll, **match):
        return self.store.find(coll, **match)

    def members(self, gid):
        return [h for h in self.store.hosts if h["host_group_id"] == gid]

    def sim_volumes(self):
        return [{"key": v["id"], "name": v["name"], "id": v["id"], "naa": v["wwn"], "size": v["size"]}
                for v in self.store.volumes]

    def sim_groups(self):
        out = [{"key": "h:" + h["id"], "name": h["name"],
                "initiators": [i["port_name"] for i in h["host_initiators"]]} for h in self.store.hosts]
        out += [{"key": "hg:" + g["id"], "name": "hg:" + g["name"],
                 "initiators": [i["port_name"] for h in self.members(g["id"]) for i in h["host_initiators"]]}
                for g in self.store.host_groups]
        return out

    def sim_mappings(self):
        return [("h:" + m["host_id"] if m["host_id"] else "hg:" + m["host_group_id"], m["volume_id"],
                 m["logical_unit_number"]) for m in self.store.mappings]

    # -- query language ---------------------------------------------------------
    def parse_select(self, kind, sel):
        """[(field, None) | (relation, [fields] or "*")] of a select= value."""
        if sel is None:
            return [(f, None) for f in DEFAULT_SELECT[kind]]
        out = []
        for part in re.findall(r"[^,()]+(?:\([^()]*\))?", sel):
            part = part.strip()
            m = re.fullmatch(r"([a-z_]+)\(([^()]*)\)", part)
            if m:
                rel, inner = m.group(1), m.group(2)
                target = EMBED.get(kind, {}).get(rel)
                if target is None:
                    raise ps_error(400, E_BAD_QUERY, "Invalid select: %s cannot be embedded in %s." % (rel, kind), rel)
                fields = [f.strip() for f in inner.split(",") if f.strip()]
                if fields != ["*"]:
                    for f in fields:
                        if f not in FIELDS[target]:
                            raise ps_error(400, E_BAD_QUERY, "Invalid select: unknown field %s of %s." % (f, target), f)
                out.append((rel, "*" if fields == ["*"] else fields))
            elif part == "*":
                out += [(f, None) for f in FIELDS[kind]]
            elif part in FIELDS[kind]:
                out.append((part, None))
            else:
                raise ps_error(400, E_BAD_QUERY, "Invalid select: unknown field %s of %s." % (part, kind), part)
        return out

    def embedded(self, kind, rel, row):
        if kind == "host" and rel == "host_group":
            return self.find("host_groups", id=row["host_group_id"]) if row["host_group_id"] else None
        if kind == "host_group" and rel == "hosts":
            return self.members(row["id"])
        if kind == "host_volume_mapping":
            key = {"host": ("hosts", "host_id"), "host_group": ("host_groups", "host_group_id"),
                   "volume": ("volumes", "volume_id")}[rel]
            return self.find(key[0], id=row[key[1]]) if row[key[1]] else None
        return None

    @staticmethod
    def project(rec, fields, kind):
        fields = FIELDS[kind] if fields == "*" else fields
        return {f: rec.get(f) for f in fields}

    def listing(self, req, kind, rows):
        sel = self.parse_select(kind, req.q("select"))
        for k, vs in req.query.items():
            if k in ("select", "order", "limit", "offset"):
                continue
            if k not in FIELDS[kind]:
                raise ps_error(400, E_BAD_QUERY, "Invalid filter: unknown field %s of %s." % (k, kind), k)
            for v in vs:
                op, _, want = v.partition(".")
                if op not in ("eq", "neq"):
                    raise ps_error(400, E_BAD_QUERY, "Invalid filter operator %s." % op, v)

                def match(r, k=k, want=want, op=op):
                    have = r.get(k)
                    have = ("true" if have else "false") if isinstance(have, bool) else \
                        ("null" if have is None else str(have))
                    return (have == want) == (op == "eq")
                rows = [r for r in rows if match(r)]
        order = req.q("order")
        if order:
            f, _, d = order.partition(".")
            if f not in FIELDS[kind] or d not in ("", "asc", "desc"):
                raise ps_error(400, E_BAD_QUERY, "Invalid order %s." % order, order)
            rows = sorted(rows, key=lambda r: str(r.get(f) or ""), reverse=(d == "desc"))
        out = []
        for r in rows:
            item = {}
            for f, sub in sel:
                if sub is None:
                    item[f] = r.get(f)
                    continue
                e = self.embedded(kind, f, r)
                target = EMBED[kind][f]
                if isinstance(e, list):
                    item[f] = [self.project(x, sub, target) for x in e]
                else:
                    item[f] = self.project(e, sub, target) if e else None
            out.append(item)
        bad = lambda name: ps_error(400, E_BAD_QUERY, "Invalid %s." % name, name)  # noqa: E731
        limit = common.int_param(req, "limit", 0, bad)
        if limit < 0 or limit > 2000 or common.int_param(req, "offset", 0, bad) < 0:
            raise bad("limit or offset")
        # The array's own page cap (small here, so clients must page).
        asked = req.query.get("limit")
        req.query["limit"] = [str(min(limit or self.page_max, self.page_max))]
        try:
            return self.page_range(req, out, bad)
        finally:
            if asked is None:
                del req.query["limit"]
            else:
                req.query["limit"] = asked

    def one(self, coll, kind, rid, req):
        r = self.find(coll, id=rid)
        if r is None:
            raise ps_error(404, E_NOT_FOUND, "The %s with id %s was not found." % (kind, rid), rid)
        sel = self.parse_select(kind, req.q("select"))
        item = {}
        for f, sub in sel:
            if sub is None:
                item[f] = r.get(f)
            else:
                e = self.embedded(kind, f, r)
                t = EMBED[kind][f]
                item[f] = [self.project(x, sub, t) for x in e] if isinstance(e, list) else \
                    (self.project(e, sub, t) if e else None)
        return 200, item

    def body(self, req, schema, required=()):
        b = req.body

        def bad(field, problem):
            if problem == "unknown":
                raise ps_error(400, E_BAD_FIELD, "Unrecognized field %s in the request body." % field, field)
            raise ps_error(400, E_BAD_FIELD, "Invalid value for field %s." % field, field)
        if b is None:
            raise ps_error(400, E_BAD_REQUEST, "A JSON request body is required.")
        common.check_fields(b, schema, bad)
        for f in required:
            if f not in b:
                raise ps_error(400, E_BAD_FIELD, "Missing required field %s." % f, f)
        return b

    # -- handlers ---------------------------------------------------------------
    def h_login(self, req):
        user, pw = req.basic_auth()
        if user != self.args.username or pw != self.args.password:
            raise ps_error(401, E_AUTH, "Authentication failed: invalid user name or password.")
        tok = self.sessions.new(user)
        csrf = secrets.token_hex(24)
        live = {t for t in self.sessions.tokens}
        self.store.csrf = {t: c for t, c in self.store.csrf.items() if t in live}
        self.store.csrf[tok] = csrf
        self.changed()
        body = [{"id": str(uuidlib.uuid4()), "user": {"id": "1", "name": user}, "role_ids": ["1"],
                 "idle_timeout": int(self.args.session_ttl) or 3600,
                 "is_password_change_required": False, "is_built_in_user": True}]
        return 200, body, {"DELL-EMC-TOKEN": csrf,
                           "Set-Cookie": "auth_cookie=%s; Path=/; Secure; HttpOnly" % tok}

    def h_logout(self, req):
        tok = self.cookie(req)
        if tok is not None:
            self.sessions.drop(tok)
            self.store.csrf.pop(tok, None)
            self.changed()
        return 204, None

    def h_cluster(self, req):
        c = dict(self.store.cluster, management_address="127.0.0.1", system_time="2026-01-01T00:00:00Z",
                 appliance_count=1, nvm_subsystem_nqn=None)
        return self.listing(req, "cluster", [c])

    def h_software(self, req):
        c = self.store.cluster
        row = {"id": "sw-cluster", "is_cluster": True, "release_version": c["release_version"],
               "build_version": c["build_version"], "build_id": "1"}
        app = dict(row, id="sw-appliance-1", is_cluster=False)
        return self.listing(req, "software_installed", [row, app])

    def volume_rows(self):
        return [dict(v, type="Primary", state="Ready", description=None, appliance_id="A1",
                     nsid=None, nguid=None) for v in self.store.volumes]

    def h_volume_list(self, req):
        return self.listing(req, "volume", self.volume_rows())

    def h_volume_get(self, req, id):
        return self.one("volumes", "volume", id, req)

    def h_host_list(self, req):
        return self.listing(req, "host", list(self.store.hosts))

    def h_host_get(self, req, id):
        return self.one("hosts", "host", id, req)

    def check_ports(self, ports, owner):
        for p in ports:
            if p["port_type"] not in PORT_TYPES:
                raise ps_error(400, E_BAD_FIELD, "Invalid value for field port_type.", p["port_type"])
            if p["port_type"] == "FC" and not re.fullmatch(r"([0-9a-f]{2}:){7}[0-9a-f]{2}", p["port_name"]):
                raise ps_error(400, E_BAD_FIELD, "Invalid FC port name %s." % p["port_name"], p["port_name"])
            for h in self.store.hosts:
                if h is owner:
                    continue
                if any(i["port_name"].lower() == p["port_name"].lower() for i in h["host_initiators"]):
                    raise ps_error(422, E_PORT_IN_USE, "Initiator %s is already used by host %s." %
                                   (p["port_name"], h["name"]), p["port_name"], h["name"])

    PORT = {"port_name": str, "port_type": str, "chap_single_username": str,
            "chap_single_password": str, "chap_mutual_username": str, "chap_mutual_password": str}

    def h_host_create(self, req):
        b = self.body(req, {"name": str, "description": str, "os_type": str, "initiators": [self.PORT],
                            "host_connectivity": str}, ("name", "os_type", "initiators"))
        if b["os_type"] not in OS_TYPES:
            raise ps_error(400, E_BAD_FIELD, "Invalid value for field os_type.", b["os_type"])
        for p in b["initiators"]:
            if "port_name" not in p or "port_type" not in p:
                raise ps_error(400, E_BAD_FIELD, "Missing required field initiators.port_name.")
        if not b["initiators"]:
            raise ps_error(400, E_BAD_FIELD, "A host needs at least one initiator.")
        if self.find("hosts", name=b["name"]):
            raise ps_error(422, E_NAME_IN_USE, "The host name %s already exists." % b["name"], b["name"])
        self.check_ports(b["initiators"], None)
        h = {"id": str(uuidlib.uuid4()), "name": b["name"], "os_type": b["os_type"],
             "description": b.get("description"), "host_group_id": None,
             "host_initiators": [self.initiator(p) for p in b["initiators"]]}
        self.store.hosts.append(h)
        self.changed()
        return 201, {"id": h["id"]}

    def h_host_modify(self, req, id):
        h = self.find("hosts", id=id)
        if h is None:
            raise ps_error(404, E_NOT_FOUND, "The host with id %s was not found." % id, id)
        b = self.body(req, {"name": str, "description": str, "os_type": str,
                            "add_initiators": [self.PORT], "remove_initiators": [str]})
        adds = b.get("add_initiators") or []
        self.check_ports(adds, h)
        for p in adds:
            if any(i["port_name"].lower() == p["port_name"].lower() for i in h["host_initiators"]):
                raise ps_error(422, E_PORT_IN_USE, "Initiator %s is already in host %s." %
                               (p["port_name"], h["name"]), p["port_name"])
            h["host_initiators"].append(self.initiator(p))
        rm = set(b.get("remove_initiators") or [])
        h["host_initiators"] = [i for i in h["host_initiators"] if i["port_name"] not in rm]
        if "name" in b:
            h["name"] = b["name"]
        self.changed()
        return 204, None

    def h_hg_list(self, req):
        return self.listing(req, "host_group", list(self.store.host_groups))

    def h_hg_get(self, req, id):
        return self.one("host_groups", "host_group", id, req)

    def h_hg_create(self, req):
        b = self.body(req, {"name": str, "description": str, "host_ids": [str]}, ("name", "host_ids"))
        if self.find("host_groups", name=b["name"]):
            raise ps_error(422, E_NAME_IN_USE, "The host group name %s already exists." % b["name"], b["name"])
        gid = str(uuidlib.uuid4())
        for hid in b["host_ids"]:
            h = self.find("hosts", id=hid)
            if h is None or h["host_group_id"]:
                raise ps_error(422, E_BAD_REQUEST, "Host %s cannot join the host group." % hid, hid)
        self.store.host_groups.append({"id": gid, "name": b["name"], "description": b.get("description")})
        for hid in b["host_ids"]:
            self.find("hosts", id=hid)["host_group_id"] = gid
        self.changed()
        return 201, {"id": gid}

    def attach(self, v, host, group):
        if group is not None:
            m = {"host_id": None, "host_group_id": group["id"]}
            hosts = self.members(group["id"])
        else:
            m = {"host_id": host["id"], "host_group_id": None}
            hosts = [host]
        ids = {h["id"] for h in hosts}
        gids = {h["host_group_id"] for h in hosts if h["host_group_id"]}
        used = {x["logical_unit_number"] for x in self.store.mappings
                if x["host_id"] in ids or x["host_group_id"] in gids}
        lun = next(n for n in range(1, 16384) if n not in used)
        m.update(id=str(uuidlib.uuid4()), volume_id=v["id"], logical_unit_number=lun)
        self.store.mappings.append(m)
        return m

    def volume_arg(self, req):
        b = self.body(req, {"volume_id": str, "logical_unit_number": int}, ("volume_id",))
        v = self.find("volumes", id=b["volume_id"])
        if v is None:
            raise ps_error(404, E_NOT_FOUND, "The volume with id %s was not found." % b["volume_id"],
                           b["volume_id"])
        return v

    def h_host_attach(self, req, id):
        h = self.find("hosts", id=id)
        if h is None:
            raise ps_error(404, E_NOT_FOUND, "The host with id %s was not found." % id, id)
        v = self.volume_arg(req)
        if h["host_group_id"]:
            g = self.find("host_groups", id=h["host_group_id"])
            raise ps_error(422, E_IN_HOST_GROUP, "Host %s is a member of host group %s; attach the volume "
                           "to the host group." % (h["name"], g["name"]), h["name"], g["name"])
        if any(m["volume_id"] == v["id"] and m["host_id"] == h["id"] for m in self.store.mappings):
            raise ps_error(422, E_ALREADY_ATTACHED, "Volume %s is already attached to host %s." %
                           (v["name"], h["name"]), v["name"], h["name"])
        self.attach(v, h, None)
        self.changed()
        return 204, None

    def h_host_detach(self, req, id):
        h = self.find("hosts", id=id)
        if h is None:
            raise ps_error(404, E_NOT_FOUND, "The host with id %s was not found." % id, id)
        v = self.volume_arg(req)
        m = next((m for m in self.store.mappings if m["volume_id"] == v["id"] and m["host_id"] == h["id"]), None)
        if m is None:
            raise ps_error(422, E_NOT_ATTACHED, "Volume %s is not attached to host %s." %
                           (v["name"], h["name"]), v["name"], h["name"])
        self.store.mappings.remove(m)
        self.changed()
        return 204, None

    def h_hg_attach(self, req, id):
        g = self.find("host_groups", id=id)
        if g is None:
            raise ps_error(404, E_NOT_FOUND, "The host group with id %s was not found." % id, id)
        v = self.volume_arg(req)
        if any(m["volume_id"] == v["id"] and m["host_group_id"] == g["id"] for m in self.store.mappings):
            raise ps_error(422, E_ALREADY_ATTACHED, "Volume %s is already attached to host group %s." %
                           (v["name"], g["name"]), v["name"], g["name"])
        self.attach(v, None, g)
        self.changed()
        return 204, None

    def h_hg_detach(self, req, id):
        g = self.find("host_groups", id=id)
        if g is None:
            raise ps_error(404, E_NOT_FOUND, "The host group with id %s was not found." % id, id)
        v = self.volume_arg(req)
        m = next((m for m in self.store.mappings
                  if m["volume_id"] == v["id"] and m["host_group_id"] == g["id"]), None)
        if m is None:
            raise ps_error(422, E_NOT_ATTACHED, "Volume %s is not attached to host group %s." %
                           (v["name"], g["name"]), v["name"], g["name"])
        self.store.mappings.remove(m)
        self.changed()
        return 204, None

    def h_mapping_list(self, req):
        return self.listing(req, "host_volume_mapping", list(self.store.mappings))


def extra_args(ap):
    ap.add_argument("--username", default="admin")
    ap.add_argument("--password", default="Password123!")
    ap.add_argument("--page-max", type=int, default=PowerStore.page_max,
                    help="most rows the array returns per page")


# -- the test world ---------------------------------------------------------------
WORLD_VOLUME = "csivol-sim-0001"
WORLD_VOLUME_ID = "5b0f3c2e-7a41-4c8e-9d10-2f6a0e4b7c01"
WORLD_WWN = "naa.68ccf098005b0f3c2e7a414c8e9d1001"
WORLD_USER, WORLD_PASS = "admin", "Powerstore1-sim"


def world_seed(w):
    """The world's PowerStore: volume csivol-sim-0001 (the CSI attribute
    Name) of the VM disk's size and two worker-node hosts, so that the host
    list takes more than one page.  The ESXi host is not defined: the driver
    creates it."""
    seed = {"volumes": [{"name": WORLD_VOLUME, "id": WORLD_VOLUME_ID, "size": w.size, "wwn": WORLD_WWN}],
            "hosts": [{"name": "ocp-worker-%d" % n, "os_type": "Linux",
                       "initiators": [{"port_name": "iqn.1994-05.com.redhat:worker-%d" % n,
                                       "port_type": "iSCSI"}]} for n in (1, 2)],
            "fc_node_names": w.fc_node_names()}
    facts = [("VOLUME_HANDLE", WORLD_VOLUME_ID + "/PS00000000sim/scsi"),
             ("ATTRS", "Name=%s;Protocol=scsi" % WORLD_VOLUME),
             ("VOLUME", WORLD_VOLUME), ("NAA", WORLD_WWN)]
    return seed, facts


FAKE = common.Descriptor(
    name="powerstore", product="powerstore", env="POWERSTORE", order=40,
    args=["--username", WORLD_USER, "--password", WORLD_PASS],
    env_facts=[("USERNAME", WORLD_USER), ("PASSWORD", WORLD_PASS)],
    sessions=True, default_seed={}, world_seed=world_seed)


if __name__ == "__main__":
    common.main(PowerStore, "Simulated Dell PowerStore REST API (our model, for tests)", extra_args)
