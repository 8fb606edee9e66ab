#!/usr/bin/env python3
"""Simulated Pure Storage FlashArray: our own model of the FlashArray REST API
(1.x only for API-token retrieval, 2.x for everything else).

Built from Pure's public REST API documentation, the published FlashArray 2.x
OpenAPI description (shared/vendor-specs/pure-flasharray/FA2.56.spec.yaml;
every 2.x answer of this fake is shaped to pass that schema, which Prism
checks in the simulated world) and the traffic notes in
shared/spec/vendors-a.md §2.  It is not Pure code and not a complete array:
it models volumes (with real bytes in sparse files), hosts, host-volume
connections, volume copies, volume tags, sessions and API versions.

What it models:
  * GET /api/api_version (no auth) lists 1.0…1.19 and 2.0…2.56 (seed
    "api_versions" overrides).
  * POST /api/<1.x>/auth/apitoken {"username","password"} -> {"api_token"}.
  * POST /api/<2.x>/login with header "api-token" (or a username/password
    body) -> 200, session in the response header "x-auth-token", body
    {"items":[{"username":…}]}.  Every other 2.x call needs "x-auth-token";
    an unknown or expired session answers 401.  POST logout ends it.
  * hosts, volumes, volumes/tags, connections, arrays, controllers, ports with the
    query parameters names / ids / filter / host_names / volume_names /
    limit / offset / continuation_token, and names given in the JSON body
    too (the Go driver sends "names", "host_names", "volume_names" there).
  * filter= expressions: field = 'value' (with * wildcards), !=, bare field
    (true), not(...), and/or, parentheses; list fields match on any element.
  * errors: {"errors":[{"context": …, "message": …}]} with Purity's message
    texts that clients match on ("Volume does not exist.",
    "Connection already exists.", "Host does not exist.", …).
  * POST volumes with "source" copies the source's bytes onto the target
    file (overwrite=true needed when the target exists) - the VVol/RDM copy.
  * Connecting a volume to a host publishes FABRIC/luns/<naa>.json with
    naa = "naa.624a9370" + lower-case serial and the host's IQNs and WWNs.

Operation names (for --faults and the call log):
  api_version apitoken login logout
  hosts_get hosts_post hosts_patch hosts_delete
  volumes_get volumes_post volumes_patch volumes_delete volume_tags_get
  connections_get connections_post connections_delete
  arrays_get controllers_get ports_get   (an unknown path is "unknown").

Seed (--seed FILE, JSON), all optional:
  {"array": {"name": "sim-fa", "id": "…", "version": "6.7.3", "model": "FA-X70R4"},
   "volumes": [{"name": "px_1a2b3c4d-pvc-1", "size": 1048576, "id": "…",
                "serial": "24 HEX DIGITS", "tags": [{"namespace": "…", "key": "…", "value": "…"}]}],
   "hosts": [{"name": "esx01", "iqns": ["iqn.…"], "wwns": ["21:00:…"], "personality": "esxi"}],
   "connections": [{"host": "esx01", "volume": "px_…", "lun": 1}],
   "ports": {"fc": ["52:4A:93:…" (any WWN spelling)], "iscsi": ["iqn.2010-06.…"]},
   "fc_node_names": {"<wwpn hex>": "<wwnn hex>"}}
Credentials: --username/--password (default pureuser / pureuser) and
--api-token (default: a fixed test token).
"""

import sys
import hashlib
import re
import time
import uuid as uuidlib

sys.dont_write_bytecode = True  # keep the source tree clean
import common  # noqa: E402
from common import ApiError

DEFAULT_TOKEN = "0f2e2884-9486-c6c2-438c-f50418f2aac3"


def pure_error(status, message, context=None):
    e = {"message": message}
    if context is not None:
        e["context"] = context
    return ApiError(status, {"errors": [e]})


def serial_for(name):
    return hashlib.sha256(("pure:" + name).encode()).hexdigest()[:24].upper()


def naa_for(serial):
    return "naa.624a9370" + serial.lower()


def norm_wwn(w):
    h = common.wwpn_hex(w)
    return h.upper() if h else None


def split_names(v):
    if v is None:
        return []
    if isinstance(v, list):
        out = []
        for x in v:
            out.extend(split_names(x))
        return out
    return [x for x in str(v).split(",") if x != ""]


# -- filter expressions ---------------------------------------------------------

TOKEN_RE = re.compile(r"\s*(?:(\()|(\))|(!=|<=|>=|=|<|>)|'([^']*)'|\"([^\"]*)\"|([A-Za-z_][A-Za-z0-9_.]*)|(-?[0-9][0-9.]*))")


def tokenize(s):
    pos, out = 0, []
    s = s.strip()
    while pos < len(s):
        m = TOKEN_RE.match(s, pos)
        if not m or m.end() == pos:
            raise ValueError("cannot parse filter at %r" % s[pos:])
        pos = m.end()
        lp, rp, op, sq, dq, ident, num = m.groups()
        if lp:
            out.append(("(", lp))
        elif rp:
            out.append((")", rp))
        elif op:
            out.append(("op", op))
        elif sq is not None or dq is not None:
            out.append(("str", sq if sq is not None else dq))
        elif ident:
            low = ident.lower()
            if low in ("and", "or", "not"):
                out.append((low, low))
            else:
                out.append(("id", ident))
        else:
            out.append(("num", num))
        while pos < len(s) and s[pos].isspace():
            pos += 1
    return out


def parse_filter(s):
    """A predicate over an item (dict) for a FlashArray filter expression."""
    toks = tokenize(s)
    i = [0]

    def peek():
        return toks[i[0]] if i[0] < len(toks) else (None, None)

    def take(kind=None):
        t = peek()
        if t[0] is None or (kind and t[0] != kind):
            raise ValueError("unexpected %r in filter" % (t[1],))
        i[0] += 1
        return t

    def expr():
        left = term()
        while peek()[0] in ("and", "or"):
            k = take()[0]
            right = term()
            left = (lambda a, b: lambda it: a(it) and b(it))(left, right) if k == "and" else \
                (lambda a, b: lambda it: a(it) or b(it))(left, right)
        return left

    def term():
        t = peek()
        if t[0] == "not":
            take()
            take("(")
            e = expr()
            take(")")
            return lambda it: not e(it)
        if t[0] == "(":
            take()
            e = expr()
            take(")")
            return e
        field = take("id")[1]
        if peek()[0] != "op":
            return lambda it: any(bool(v) for v in values(it, field))
        op = take("op")[1]
        vt = take()
        if vt[0] not in ("str", "num", "id"):
            raise ValueError("expected a value after %s" % op)
        val = vt[1]
        return lambda it: compare(values(it, field), op, val)

    e = expr()
    if i[0] != len(toks):
        raise ValueError("unexpected %r in filter" % (toks[i[0]][1],))
    return e


def values(item, field):
    vals = [item]
    for part in field.split("."):
        nxt = []
        for v in vals:
            if isinstance(v, dict) and part in v:
                x = v[part]
                nxt.extend(x if isinstance(x, list) else [x])
        vals = nxt
    return vals


def compare(vals, op, want):
    def one(v):
        if isinstance(v, bool):
            v = "true" if v else "false"
        if op in ("=", "!="):
            sv = str(v)
            if "*" in want:
                m = re.fullmatch(".*".join(re.escape(p) for p in want.split("*")), sv) is not None
            else:
                m = sv == want
            return m if op == "=" else not m
        try:
            a, b = float(v), float(want)
        except (TypeError, ValueError):
            return False
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
    if op == "!=":
        return all(one(v) for v in vals)
    return any(one(v) for v in vals)


V1 = r"/api/{ver:1\.\d+}/"
V2 = r"/api/{ver:2\.\d+}/"


class Pure(common.SessionAuth, common.ContinuationPager, common.ArrayFake):
    array = "pure"
    scsi_vendor = "PURE"
    scsi_model = "FlashArray"
    public_ops = ("api_version", "apitoken", "login", "unknown")
    session_out = ("header", "x-auth-token")
    session_in = ("header", "x-auth-token")
    state = {"collections": ["volumes", "hosts", "connections", "ports"],
             "values": {"array": {}, "api_versions": []}}
    routes = [
        ("GET", "/api/api_version", "api_version", "h_api_version"),
        ("POST", V1 + "auth/apitoken", "apitoken", "h_apitoken"),
        ("POST", V2 + "login", "login", "h_login"),
        ("POST", V2 + "logout", "logout", "h_logout"),
        ("GET", V2 + "hosts", "hosts_get", "h_hosts_get"),
        ("POST", V2 + "hosts", "hosts_post", "h_hosts_post"),
        ("PATCH", V2 + "hosts", "hosts_patch", "h_hosts_patch"),
        ("DELETE", V2 + "hosts", "hosts_delete", "h_hosts_delete"),
        ("GET", V2 + "volumes", "volumes_get", "h_volumes_get"),
        ("POST", V2 + "volumes", "volumes_post", "h_volumes_post"),
        ("PATCH", V2 + "volumes", "volumes_patch", "h_volumes_patch"),
        ("DELETE", V2 + "volumes", "volumes_delete", "h_volumes_delete"),
        ("GET", V2 + "volumes/tags", "volume_tags_get", "h_tags_get"),
        ("GET", V2 + "connections", "connections_get", "h_conns_get"),
        ("POST", V2 + "connections", "connections_post", "h_conns_post"),
        ("DELETE", V2 + "connections", "connections_delete", "h_conns_delete"),
        ("GET", V2 + "arrays", "arrays_get", "h_arrays_get"),
        ("GET", V2 + "controllers", "controllers_get", "h_controllers_get"),
        ("GET", V2 + "ports", "ports_get", "h_ports_get"),
    ]

    # -- state ----------------------------------------------------------------
    def load_seed(self, seed):
        a = seed.get("array", {})
        self.store.array = {"name": a.get("name", "sim-fa"), "id": a.get("id", str(uuidlib.uuid4())),
                     "version": a.get("version", "6.7.3"), "model": a.get("model", "FA-X70R4")}
        self.store.api_versions = seed.get("api_versions") or (["1.%d" % i for i in range(20)] +
                                                     ["2.%d" % i for i in range(57)])
        self.store.volumes, self.store.hosts, self.store.connections = [], [], []
        for v in seed.get("volumes", []):
            self.add_volume(v["name"], int(v.get("size", 1 << 20)), v.get("serial"), v.get("id"),
                            v.get("tags", []))
        for h in seed.get("hosts", []):
            self.store.hosts.append({"name": h["name"], "iqns": list(h.get("iqns", [])),
                               "wwns": [norm_wwn(w) for w in h.get("wwns", [])],
                               "nqns": list(h.get("nqns", [])), "personality": h.get("personality")})
        for c in seed.get("connections", []):
            self.connect(c["host"], c["volume"], c.get("lun"))
        # Target ports: FC ones on both controllers in turn, then one iSCSI
        # port per controller carrying the array's one IQN.
        ports = seed.get("ports", {"fc": DEFAULT_FC_PORTS, "iscsi": [DEFAULT_IQN]})
        self.store.ports = []
        for i, w in enumerate(ports.get("fc", [])):
            h = norm_wwn(w)
            self.store.ports.append({"name": "CT%d.FC%d" % (i % 2, i // 2),
                                     "wwn": ":".join(h[j:j + 2] for j in range(0, 16, 2))})
        for k, iqn in enumerate(ports.get("iscsi", [])):
            for ct in (0, 1):
                self.store.ports.append({"name": "CT%d.ETH%d" % (ct, 4 + k),
                                         "iqn": iqn, "portal": "127.0.0.1:3260"})

    def sim_volumes(self):
        return [{"key": v["name"], "name": v["name"], "id": v["id"], "naa": naa_for(v["serial"]),
                 "size": v["size"]} for v in self.store.volumes]

    def sim_groups(self):
        return [{"key": h["name"], "name": h["name"], "initiators": h["iqns"] + h["wwns"]}
                for h in self.store.hosts]

    def sim_mappings(self):
        return [(c["host"], c["volume"], c["lun"]) for c in self.store.connections]

    def add_volume(self, name, size, serial=None, vid=None, tags=None):
        self.check_name(name, "Volume")
        if self.volume(name):
            raise pure_error(400, "Volume already exists.", name)
        serial = (serial or serial_for(name)).upper()
        if not re.fullmatch(r"[0-9A-F]{24}", serial):
            raise ValueError("Pure serials are 24 hex digits: %r" % serial)
        v = {"id": vid or str(uuidlib.uuid4()), "name": name, "serial": serial, "size": size,
             "created": int(time.time() * 1000), "destroyed": False, "source": None,
             "tags": [dict(t) for t in (tags or [])]}
        self.store.volumes.append(v)
        self.fabric.create_file(name, size)
        return v

    @staticmethod
    def check_name(name, what):
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_:/\-]{0,62}", name):
            raise pure_error(400, "%s name is invalid." % what, str(name))

    # -- lookups --------------------------------------------------------------
    def volume(self, name):
        return next((v for v in self.store.volumes if v["name"] == name), None)

    def volume_by_id(self, vid):
        return next((v for v in self.store.volumes if v["id"] == vid), None)

    def host(self, name):
        return next((h for h in self.store.hosts if h["name"] == name), None)

    def connect(self, host, vol, lun=None):
        used = {c["lun"] for c in self.store.connections if c["host"] == host}
        if lun is None:
            lun = next(n for n in range(254, 0, -1) if n not in used)
        elif lun in used:
            raise pure_error(400, "LUN is already in use.", host)
        c = {"host": host, "volume": vol, "lun": lun}
        self.store.connections.append(c)
        return c

    # -- items ----------------------------------------------------------------
    def volume_item(self, v):
        it = {"id": v["id"], "name": v["name"], "serial": v["serial"], "provisioned": v["size"],
              "created": v["created"], "destroyed": v["destroyed"],
              "connection_count": sum(1 for c in self.store.connections if c["volume"] == v["name"]),
              "subtype": "regular", "requested_promotion_state": "promoted", "promotion_status": "promoted",
              "space": {"total_provisioned": v["size"], "unique": 0, "snapshots": 0, "virtual": 0,
                        "data_reduction": 1.0, "thin_provisioning": 1.0}}
        if v.get("source"):
            it["source"] = dict(v["source"])
        return it

    def host_item(self, h):
        it = {"name": h["name"], "iqns": list(h["iqns"]), "wwns": list(h["wwns"]), "nqns": list(h["nqns"]),
              "connection_count": sum(1 for c in self.store.connections if c["host"] == h["name"]),
              "destroyed": False, "is_local": True,
              "port_connectivity": {"details": "", "status": "healthy"}}
        if h.get("personality"):
            it["personality"] = h["personality"]
        return it

    def conn_item(self, c):
        v = self.volume(c["volume"])
        return {"host": {"name": c["host"]}, "lun": c["lun"],
                "volume": {"id": v["id"], "name": v["name"]}}

    # -- collections ----------------------------------------------------------
    def listing(self, req, items, key="name"):
        f = req.q("filter")
        if f:
            try:
                pred = parse_filter(f)
            except ValueError as e:
                raise pure_error(400, "Invalid filter: %s" % e, f)
            items = [it for it in items if pred(it)]
        items.sort(key=lambda it: str(it.get(key, "")))
        items, total, token = self.page_continuation(
            req, items, lambda p: pure_error(400, "Invalid limit, offset or continuation_token."))
        body = {"items": items, "total_item_count": total, "more_items_remaining": token is not None}
        if token is not None:
            body["continuation_token"] = token
        return 200, body

    def names_param(self, req, key="names"):
        v = req.query.get(key)
        if v:
            return split_names(v)
        if isinstance(req.body, dict) and key in req.body:
            return split_names(req.body[key])
        return []

    # -- routing and errors ---------------------------------------------------
    def dispatch(self, req, op, handler, params):
        ver = params.pop("ver", None)
        if ver is not None and ver not in self.store.api_versions:
            raise pure_error(404, "API version %s is not supported." % ver, ver)
        return handler(req, **params)

    def not_found(self, req):
        return pure_error(404, "Not found.", req.path)

    def session_failed(self, req):
        return pure_error(401, "Authentication failed: the session token is missing, invalid or expired.",
                          req.path)

    def error_body(self, status, message, code=None):
        return {"errors": [{"message": message}]}

    # -- handlers -------------------------------------------------------------
    def h_api_version(self, req):
        return 200, {"version": list(self.store.api_versions)}

    def h_apitoken(self, req):
        b = req.body if isinstance(req.body, dict) else {}
        if b.get("username") != self.args.username or b.get("password") != self.args.password:
            # REST 1.x answers errors as a list of {"msg", "ctx"} objects.
            raise ApiError(400, [{"msg": "invalid credentials", "ctx": str(b.get("username", ""))}])
        req.user = self.args.username
        return 200, {"api_token": self.args.api_token}

    def h_login(self, req):
        tok = req.headers.get("api-token")
        b = req.body if isinstance(req.body, dict) else {}
        if tok is not None:
            if tok != self.args.api_token:
                raise pure_error(401, "Invalid API token.", "login")
        elif b.get("username") != self.args.username or b.get("password") != self.args.password:
            raise pure_error(401, "Invalid username or password.", "login")
        req.user = self.args.username
        return self.session_answer(self.args.username, {"items": [{"username": self.args.username}]})

    def h_logout(self, req):
        self.session_end(req)
        return 200, {}

    def h_arrays_get(self, req):
        return self.listing(req, [{"id": self.store.array["id"], "name": self.store.array["name"], "os": "Purity//FA",
                                   "version": self.store.array["version"], "_as_of": int(time.time() * 1000),
                                   "console_lock_enabled": False, "idle_timeout": 0, "scsi_timeout": 60,
                                   "time_zone": "UTC"}])

    def h_controllers_get(self, req):
        items = [{"name": n, "mode": mode, "model": self.store.array["model"], "status": "ready",
                  "type": "array_controller", "version": self.store.array["version"]}
                 for n, mode in (("CT0", "primary"), ("CT1", "secondary"))]
        names = self.names_param(req)
        if names:
            items = [i for i in items if i["name"] in names]
        return self.listing(req, items)

    def h_ports_get(self, req):
        items = [dict(p) for p in self.store.ports]
        names = self.names_param(req)
        if names:
            items = [i for i in items if i["name"] in names]
        return self.listing(req, items)

    # hosts
    def h_hosts_get(self, req):
        names = self.names_param(req)
        for n in names:
            if not self.host(n):
                raise pure_error(400, "Host does not exist.", n)
        hosts = [self.host(n) for n in names] if names else list(self.store.hosts)
        return self.listing(req, [self.host_item(h) for h in hosts])

    def validate_initiators(self, iqns, wwns, owner):
        for i in iqns:
            if not isinstance(i, str) or not re.match(r"(?i)(iqn\.|eui\.)", i):
                raise pure_error(400, "Invalid IQN.", str(i))
        norm = []
        for w in wwns:
            n = norm_wwn(w) if isinstance(w, str) else None
            if not n:
                raise pure_error(400, "Invalid WWN.", str(w))
            norm.append(n)
        for h in self.store.hosts:
            if h["name"] == owner:
                continue
            for i in iqns:
                if i in h["iqns"]:
                    raise pure_error(400, "The specified IQN is already in use by host %s." % h["name"], i)
            for w in norm:
                if w in h["wwns"]:
                    raise pure_error(400, "The specified WWN is already in use by host %s." % h["name"], w)
        return norm

    def h_hosts_post(self, req):
        names = self.names_param(req)
        if len(names) != 1:
            raise pure_error(400, "Exactly one host name is required in names.")
        name = names[0]
        self.check_name(name, "Host")
        if self.host(name):
            raise pure_error(400, "Host already exists.", name)
        b = req.body if isinstance(req.body, dict) else {}
        iqns, wwns = list(b.get("iqns") or []), list(b.get("wwns") or [])
        wwns = self.validate_initiators(iqns, wwns, name)
        h = {"name": name, "iqns": iqns, "wwns": wwns, "nqns": list(b.get("nqns") or []),
             "personality": b.get("personality")}
        self.store.hosts.append(h)
        self.changed()
        return 200, {"items": [self.host_item(h)]}

    def h_hosts_patch(self, req):
        names = self.names_param(req)
        if len(names) != 1:
            raise pure_error(400, "Exactly one host name is required in names.")
        h = self.host(names[0])
        if not h:
            raise pure_error(400, "Host does not exist.", names[0])
        b = req.body if isinstance(req.body, dict) else {}
        iqns = list(b["iqns"]) if "iqns" in b else list(h["iqns"])
        wwns = [norm_wwn(w) or w for w in b["wwns"]] if "wwns" in b else list(h["wwns"])
        for i in b.get("add_iqns") or []:
            if i not in iqns:
                iqns.append(i)
        for w in b.get("add_wwns") or []:
            n = norm_wwn(w) or w
            if n not in wwns:
                wwns.append(n)
        rm_i = set(b.get("remove_iqns") or [])
        rm_w = {norm_wwn(w) or w for w in b.get("remove_wwns") or []}
        iqns = [i for i in iqns if i not in rm_i]
        wwns = [w for w in wwns if w not in rm_w]
        wwns = self.validate_initiators(iqns, wwns, h["name"])
        new_name = b.get("name")
        if new_name and new_name != h["name"]:
            self.check_name(new_name, "Host")
            if self.host(new_name):
                raise pure_error(400, "Host already exists.", new_name)
            for c in self.store.connections:
                if c["host"] == h["name"]:
                    c["host"] = new_name
            h["name"] = new_name
        h["iqns"], h["wwns"] = iqns, wwns
        if "personality" in b:
            h["personality"] = b["personality"]
        self.changed()
        return 200, {"items": [self.host_item(h)]}

    def h_hosts_delete(self, req):
        names = self.names_param(req)
        if len(names) != 1:
            raise pure_error(400, "Exactly one host name is required in names.")
        h = self.host(names[0])
        if not h:
            raise pure_error(400, "Host does not exist.", names[0])
        if any(c["host"] == h["name"] for c in self.store.connections):
            raise pure_error(400, "Host has connected volumes; disconnect them first.", h["name"])
        self.store.hosts.remove(h)
        self.changed()
        return 200, None

    # volumes
    def h_volumes_get(self, req):
        ids, names = split_names(req.query.get("ids")), self.names_param(req)
        if ids and names:
            raise pure_error(400, "Specify either ids or names, not both.")
        vols = []
        for i in ids:
            v = self.volume_by_id(i)
            if not v:
                raise pure_error(400, "Volume does not exist.", i)
            vols.append(v)
        for n in names:
            v = self.volume(n)
            if not v:
                raise pure_error(400, "Volume does not exist.", n)
            vols.append(v)
        if not ids and not names:
            vols = list(self.store.volumes)
        destroyed = req.q("destroyed")
        if destroyed is not None:
            vols = [v for v in vols if v["destroyed"] == (destroyed.lower() == "true")]
        return self.listing(req, [self.volume_item(v) for v in vols])

    def h_volumes_post(self, req):
        names = self.names_param(req)
        if len(names) != 1:
            raise pure_error(400, "Exactly one volume name is required in names.")
        name = names[0]
        b = req.body if isinstance(req.body, dict) else {}
        overwrite = (req.q("overwrite") or "").lower() == "true"
        src = b.get("source")
        dst = self.volume(name)
        if src:
            if not isinstance(src, dict) or not (src.get("name") or src.get("id")):
                raise pure_error(400, "source needs a name or an id.")
            sv = self.volume(src["name"]) if src.get("name") else self.volume_by_id(src["id"])
            if not sv or sv["destroyed"]:
                raise pure_error(400, "Volume does not exist.", src.get("name") or src.get("id"))
            if dst and not overwrite:
                raise pure_error(400, "Volume already exists.", name)
            if dst is sv:
                raise pure_error(400, "A volume cannot be copied onto itself.", name)
            if not dst:
                dst = self.add_volume(name, sv["size"])
            self.fabric.copy_file(sv["name"], dst["name"])
            dst["size"] = sv["size"]
            dst["source"] = {"id": sv["id"], "name": sv["name"]}
            dst["destroyed"] = False
        else:
            if dst:
                raise pure_error(400, "Volume already exists.", name)
            size = b.get("provisioned", 1 << 20)
            if not isinstance(size, int) or size <= 0 or size % 512:
                raise pure_error(400, "Invalid volume size.", name)
            dst = self.add_volume(name, size, tags=b.get("tags"))
        self.changed()
        return 200, {"items": [self.volume_item(dst)]}

    def one_volume(self, req):
        ids, names = split_names(req.query.get("ids")), self.names_param(req)
        if len(ids) + len(names) != 1:
            raise pure_error(400, "Exactly one of ids or names is required.")
        v = self.volume_by_id(ids[0]) if ids else self.volume(names[0])
        if not v:
            raise pure_error(400, "Volume does not exist.", (ids or names)[0])
        return v

    def h_volumes_patch(self, req):
        v = self.one_volume(req)
        b = req.body if isinstance(req.body, dict) else {}
        if b.get("destroyed") is True and any(c["volume"] == v["name"] for c in self.store.connections):
            raise pure_error(400, "Volume has host connections; disconnect it first.", v["name"])
        if "destroyed" in b:
            v["destroyed"] = bool(b["destroyed"])
        if "provisioned" in b:
            if not isinstance(b["provisioned"], int) or b["provisioned"] <= 0:
                raise pure_error(400, "Invalid volume size.", v["name"])
            v["size"] = b["provisioned"]
            self.fabric.resize_file(v["name"], v["size"])
        if b.get("name") and b["name"] != v["name"]:
            raise pure_error(400, "Renaming volumes is not modelled by this simulator.", v["name"])
        self.changed()
        return 200, {"items": [self.volume_item(v)]}

    def h_volumes_delete(self, req):
        v = self.one_volume(req)
        if not v["destroyed"]:
            raise pure_error(400, "Volume must be destroyed before it can be eradicated.", v["name"])
        self.store.volumes.remove(v)
        self.fabric.delete_file(v["name"])
        self.changed()
        return 200, None

    def h_tags_get(self, req):
        items = []
        rnames = split_names(req.query.get("resource_names"))
        rids = split_names(req.query.get("resource_ids"))
        nss = split_names(req.query.get("namespaces"))
        rdestroyed = req.q("resource_destroyed")
        for v in self.store.volumes:
            if rnames and v["name"] not in rnames or rids and v["id"] not in rids:
                continue
            if rdestroyed is not None and v["destroyed"] != (rdestroyed.lower() == "true"):
                continue
            for t in v.get("tags", []):
                ns = t.get("namespace", "default")
                if nss and ns not in nss:
                    continue
                items.append({"namespace": ns, "key": t["key"], "value": t.get("value", ""),
                              "copyable": bool(t.get("copyable", True)),
                              "resource": {"id": v["id"], "name": v["name"]}})
        return self.listing(req, items, key="key")

    # connections
    def conn_args(self, req):
        hosts, vols = self.names_param(req, "host_names"), self.names_param(req, "volume_names")
        vids = split_names(req.query.get("volume_ids"))
        for i in vids:
            v = self.volume_by_id(i)
            if not v:
                raise pure_error(400, "Volume does not exist.", i)
            vols.append(v["name"])
        return hosts, vols

    def h_conns_get(self, req):
        hosts, vols = self.conn_args(req)
        for h in hosts:
            if not self.host(h):
                raise pure_error(400, "Host does not exist.", h)
        for v in vols:
            if not self.volume(v):
                raise pure_error(400, "Volume does not exist.", v)
        items = [self.conn_item(c) for c in self.store.connections
                 if (not hosts or c["host"] in hosts) and (not vols or c["volume"] in vols)]
        return self.listing(req, items, key="lun")

    def h_conns_post(self, req):
        hosts, vols = self.conn_args(req)
        if len(hosts) != 1 or len(vols) != 1:
            raise pure_error(400, "One host name and one volume name are required.")
        h, v = self.host(hosts[0]), self.volume(vols[0])
        if not h:
            raise pure_error(400, "Host does not exist.", hosts[0])
        if not v or v["destroyed"]:
            raise pure_error(400, "Volume does not exist.", vols[0])
        if any(c["host"] == h["name"] and c["volume"] == v["name"] for c in self.store.connections):
            raise pure_error(400, "Connection already exists.", "%s/%s" % (h["name"], v["name"]))
        b = req.body if isinstance(req.body, dict) else {}
        lun = b.get("lun")
        if lun is not None and (not isinstance(lun, int) or not 1 <= lun <= 4095):
            raise pure_error(400, "Invalid LUN.", str(lun))
        c = self.connect(h["name"], v["name"], lun)
        self.changed()
        return 200, {"items": [self.conn_item(c)]}

    def h_conns_delete(self, req):
        hosts, vols = self.conn_args(req)
        if len(hosts) != 1 or len(vols) != 1:
            raise pure_error(400, "One host name and one volume name are required.")
        if not self.host(hosts[0]):
            raise pure_error(400, "Host does not exist.", hosts[0])
        if not self.volume(vols[0]):
            raise pure_error(400, "Volume does not exist.", vols[0])
        for c in self.store.connections:
            if c["host"] == hosts[0] and c["volume"] == vols[0]:
                self.store.connections.remove(c)
                self.changed()
                return 200, None
        raise pure_error(400, "Connection does not exist.", "%s/%s" % (hosts[0], vols[0]))


def extra_args(ap):
    ap.add_argument("--username", default="pureuser")
    ap.add_argument("--password", default="pureuser")
    ap.add_argument("--api-token", default=DEFAULT_TOKEN)


# The array's own target ports when the seed names none (no simulated host sees them).
DEFAULT_FC_PORTS = ["52:4A:93:70:4E:E5:68:00", "52:4A:93:70:4E:E5:68:10"]
DEFAULT_IQN = "iqn.2010-06.com.purestorage:flasharray.5e1f0c0de0000001"


# -- the test world ---------------------------------------------------------------
WORLD_PREFIX = "px_sim"
WORLD_VOLUME_ID = "7a3c2e10-5d1b-4f0e-9c61-0d5e2a9b1f01"
WORLD_SERIAL = "5E1F0C0DE000000000000001"


def world_seed(w):
    """The world's FlashArray: volume <prefix>-pvc-1 (its id is the CSI
    volume handle) of the VM disk's size, plus the sources of the array-side
    copies: a volume tagged with the world's VVol id and one whose serial is
    the RDM disk's; its target ports are the ones the hosts see
    (World.target_ports)."""
    vols = [{"name": WORLD_PREFIX + "-pvc-1", "id": WORLD_VOLUME_ID, "size": w.size, "serial": WORLD_SERIAL}]
    if w.vvol:
        vols.append({"name": "vvol-src-1", "size": w.size, "serial": "5E1F0C0DE000000000000002",
                     "id": "7a3c2e10-5d1b-4f0e-9c61-0d5e2a9b1f02",
                     "tags": [{"namespace": "vasa-integration.purestorage.com",
                               "key": "PURE_VVOL_ID", "value": w.vvol}]})
    if w.rdm.startswith("naa.624a9370") and len(w.rdm) == 36:
        vols.append({"name": "rdm-src-1", "size": w.size, "serial": w.rdm[12:].upper(),
                     "id": "7a3c2e10-5d1b-4f0e-9c61-0d5e2a9b1f03"})
    # The test matrix's sources (vcsimx -matrix): one volume per VVol id
    # (mx-vvol-N) and per raw LUN (mx-raw-N, serial from the NAA).
    for n, (vid, size) in enumerate(w.mx_vvols, 1):
        vols.append({"name": "mx-vvol-%d" % n, "size": size,
                     "serial": "5E1F0C0DE0000000000%05X" % (0x100 + n),
                     "tags": [{"namespace": "vasa-integration.purestorage.com",
                               "key": "PURE_VVOL_ID", "value": vid}]})
    for n, (naa, size) in enumerate(w.mx_rdms, 1):
        if naa.startswith("naa.624a9370") and len(naa) == 36:
            vols.append({"name": "mx-raw-%d" % n, "size": size, "serial": naa[12:].upper()})
    facts = [("VOLUME_HANDLE", WORLD_VOLUME_ID), ("VOLUME", WORLD_PREFIX + "-pvc-1"),
             ("CLUSTER_PREFIX", WORLD_PREFIX), ("NAA", naa_for(WORLD_SERIAL))]
    if w.vvol:
        facts.append(("VVOL_SOURCE", "vvol-src-1"))
    if w.rdm:
        facts.append(("RDM_SOURCE", "rdm-src-1"))
    fc, iqn = w.target_ports("PURE", DEFAULT_FC_PORTS, DEFAULT_IQN)
    return {"volumes": vols, "fc_node_names": w.fc_node_names(),
            "ports": {"fc": fc, "iscsi": iqn}}, facts


FAKE = common.Descriptor(
    name="pure", product="pureFlashArray", env="PURE", order=20,
    args=["--username", "pureuser", "--password", "Pure1-sim", "--api-token", DEFAULT_TOKEN],
    env_facts=[("TOKEN", DEFAULT_TOKEN), ("USERNAME", "pureuser"), ("PASSWORD", "Pure1-sim")],
    sessions=True, prism_spec="pure-flasharray/FA2.56.spec.yaml", prism_dir="prism",
    default_seed={}, world_seed=world_seed)


if __name__ == "__main__":
    common.main(Pure, "Simulated Pure Storage FlashArray REST API (our model, for tests)", extra_args)
