"""The declarative base of the simulated storage arrays (test/sim/arrays/).

Each array fake (ontap.py, pure.py, one module per vendor) is our own model
of a vendor's REST API, written from the vendor's public documentation and
the traffic notes in shared/spec/vendors-a.md and vendors-b.md.  A fake is
mostly declarations (see ArrayFake): its route table, the keys of its state,
its error document, its seed, three views (volumes, groups, mappings) from
which this module derives the fabric files and GET /_sim/state, an
authentication mixin (BasicAuth, SessionAuth), a pager (NextLinkPager,
ContinuationPager, RangePager, PagePager), Jobs when the vendor answers
changes with jobs, check_fields for strict request bodies, and a Descriptor
(FAKE) that registers it with fakes.py.  This module also gives every fake:

  * HTTPS on 127.0.0.1 with the certificate and key named on the command line;
    port 0 picks a free port, which is written as "PORT=NNNN" to --ready FILE;
  * a JSON-lines call log (--calls FILE): one line per request with the
    operation name, method, path, query, body (secrets replaced by "***"),
    the status answered and "service_s", the fake's own time for it;
  * each answer in one write on a TCP_NODELAY socket, HTTP/1.1 keep-alive,
    so a request costs the fake's work and nothing more;
  * fault injection from --faults FILE, re-read on every request; a line is
        <op-name|*> <kind> [args] [once]
    with kinds
        http <status> [json body]   answer that status (vendor error body if none)
        drop                        close the connection without answering
        drop-after                  do the operation, then close without answering
        slow <ms>                   wait, then answer normally
        slow-after <ms>             do the operation, then wait before answering
                                    (an answer that comes after the client gave up)
        malformed [status]          answer that status (default 200) with a body
                                    that is not JSON
        expire                      invalidate every session, then go on normally
    A fault marked "once" is removed from the file when it fires; a request
    takes at most one line of each kind (the first), so three "* http 429
    once" lines answer the next three requests with 429.  Lines
    starting with '#' and blank lines are ignored;
  * state in --state FILE (JSON, rewritten atomically after every change);
  * sessions with a lifetime (--session-ttl SECONDS, 0 = no expiry);
  * with --response-spec FILE (a Swagger 2.0 spec, see swagger.py), every
    answer is checked against the spec before it is sent; each violation is
    appended as a JSON line to --response-spec-log FILE (default: stderr)
    with the operation, method, path, status, JSON pointer and message.  The
    check only observes: the answer goes out unchanged.  Answers of
    "malformed" faults (not meant to be JSON) and requests that match no
    operation of the spec are not checked; "http" fault answers are;
  * the fabric shared with the simulated ESXi host (see Fabric below).

Standard library only.
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import re
import secrets
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid as uuidlib

SECRET_KEYS = re.compile(r"(pass|token|secret|auth|key$|credential)", re.I)
NOT_SECRET_KEYS = {"key"}  # Pure tag "key" fields are not secrets


class ApiError(Exception):
    """An error answer: HTTP status plus the vendor's JSON body."""

    def __init__(self, status, body, headers=None):
        super().__init__("%d %s" % (status, body))
        self.status = status
        self.body = body
        self.headers = headers or {}


class Dropped(Exception):
    """Close the connection without answering."""


def redact(value, key=None):
    """Copy of a JSON value with password/token values replaced by "***"."""
    if key is not None and key not in NOT_SECRET_KEYS and SECRET_KEYS.search(key):
        if isinstance(value, (str, int, float)) and value != "":
            return "***"
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    return value


def write_atomic(path, data):
    """Write bytes or text to path through a temporary file and rename."""
    if isinstance(data, str):
        data = data.encode()
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.tmp.%d.%d" % (os.path.basename(path), os.getpid(),
                                             threading.get_ident()))
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def sanitise(name):
    """File name for a volume name: safe characters only, plus a short hash
    of the original name when anything had to change (so names that differ
    only in unsafe characters do not collide)."""
    s = re.sub(r"[^A-Za-z0-9._-]", "_", name.strip("/")) or "_"
    if s != name or s.startswith("."):
        s = "%s-%s" % (s.lstrip("."), hashlib.sha1(name.encode()).hexdigest()[:8])
    return s


def wwpn_hex(value):
    """A WWPN in any common form (colons, dashes, case) as 16 lower-case hex
    digits, or None when it is not one."""
    h = re.sub(r"[:\-\s]", "", value).lower()
    if re.fullmatch(r"[0-9a-f]{16}", h):
        return h
    return None


class Fabric:
    """The fabric shared with the simulated ESXi side.

    A volume is a sparse file ROOT/arrays/<vendor>/<sanitised name>.  While a
    volume is mapped to at least one group (ONTAP igroup, Pure host) the
    array keeps FABRIC/luns/<naa>.json:
        {"naa": "naa.…", "backing": "/arrays/<vendor>/<file>",
         "initiators": [...], "wwpns": [...], "vendor": "NETAPP",
         "model": "LUN C-Mode", "array": "ontap", "volume": "<name>"}
    "initiators" holds every initiator of every group the volume is mapped
    to, in the forms ESXi reports: an iSCSI name as is, FC as
    fc.<wwnn>:<wwpn> when the array knows the node name, otherwise the WWPN
    as 16 lower-case hex digits (also listed in "wwpns").  "vendor" and
    "model" are the SCSI inquiry strings ESXi shows for the device; "array"
    names the fake that wrote the file.  When the volume is unmapped from
    every group the file is deleted.
    """

    def __init__(self, fabric_dir, root, array, scsi_vendor, scsi_model):
        self.fabric_dir = fabric_dir
        self.root = root
        self.array = array
        self.scsi_vendor = scsi_vendor
        self.scsi_model = scsi_model
        self.node_names = {}  # wwpn hex -> wwnn hex
        self.published = {}   # naa -> json text written
        if fabric_dir:
            os.makedirs(os.path.join(fabric_dir, "luns"), exist_ok=True)
            # Take over files an earlier run of this fake left behind.
            for f in os.listdir(os.path.join(fabric_dir, "luns")):
                if not f.endswith(".json") or f.startswith("."):
                    continue
                p = os.path.join(fabric_dir, "luns", f)
                try:
                    with open(p) as fh:
                        d = json.load(fh)
                except (OSError, ValueError):
                    continue
                if d.get("array") == array:
                    self.published[d.get("naa", f[:-5])] = None
        if root:
            os.makedirs(os.path.join(root, "arrays", array), exist_ok=True)

    def backing(self, volume_name):
        return "/arrays/%s/%s" % (self.array, sanitise(volume_name))

    def path(self, volume_name):
        return os.path.join(self.root, "arrays", self.array, sanitise(volume_name))

    def create_file(self, volume_name, size):
        """Make the volume's file exist with the given size (sparse)."""
        if not self.root:
            return
        p = self.path(volume_name)
        with open(p, "ab") as f:
            if f.tell() != size:
                f.truncate(size)

    def resize_file(self, volume_name, size):
        if self.root:
            with open(self.path(volume_name), "ab") as f:
                f.truncate(size)

    def delete_file(self, volume_name):
        if self.root:
            try:
                os.unlink(self.path(volume_name))
            except FileNotFoundError:
                pass

    def copy_file(self, src_name, dst_name):
        """Copy the bytes of one volume onto another (the target takes the
        source's size); zero blocks are left as holes."""
        if not self.root:
            return
        src, dst = self.path(src_name), self.path(dst_name)
        size = os.path.getsize(src)
        block = 1 << 20
        zero = bytes(block)
        with open(src, "rb") as fi, open(dst, "r+b" if os.path.exists(dst) else "w+b") as fo:
            fo.truncate(0)
            fo.truncate(size)
            off = 0
            while True:
                chunk = fi.read(block)
                if not chunk:
                    break
                if chunk != zero[:len(chunk)]:
                    fo.seek(off)
                    fo.write(chunk)
                off += len(chunk)

    def initiator_forms(self, initiators):
        """(initiators, wwpns) in the forms the ESXi side matches."""
        out, wwpns = [], []
        for i in initiators:
            low = i.strip().lower()
            if low.startswith("fc."):
                out.append(low)
                continue
            h = wwpn_hex(low)
            if h is not None:
                if h in self.node_names:
                    out.append("fc.%s:%s" % (self.node_names[h], h))
                else:
                    out.append(h)
                wwpns.append(h)
                continue
            out.append(i.strip())
        return sorted(set(out)), sorted(set(wwpns))

    def sync(self, wanted):
        """wanted: {naa: (volume_name, [initiators])} of every mapped volume.
        Writes the files that changed and deletes the ones no longer mapped."""
        if not self.fabric_dir:
            return
        luns = os.path.join(self.fabric_dir, "luns")
        for naa, (vol, inits) in sorted(wanted.items()):
            forms, wwpns = self.initiator_forms(inits)
            doc = {"naa": naa, "backing": self.backing(vol), "initiators": forms,
                   "vendor": self.scsi_vendor, "model": self.scsi_model,
                   "array": self.array, "volume": vol}
            if wwpns:
                doc["wwpns"] = wwpns
            text = json.dumps(doc, sort_keys=True) + "\n"
            if self.published.get(naa) != text:
                write_atomic(os.path.join(luns, naa + ".json"), text)
                self.published[naa] = text
        for naa in list(self.published):
            if naa not in wanted:
                try:
                    os.unlink(os.path.join(luns, naa + ".json"))
                except FileNotFoundError:
                    pass
                del self.published[naa]


class Sessions:
    def __init__(self, ttl):
        self.ttl = ttl
        self.tokens = {}  # token -> (expiry or None, user)
        self.lock = threading.Lock()

    def new(self, user):
        tok = secrets.token_hex(16)
        tok = "%s-%s-%s-%s-%s" % (tok[:8], tok[8:12], tok[12:16], tok[16:20], tok[20:])
        with self.lock:
            self.tokens[tok] = (time.time() + self.ttl if self.ttl > 0 else None, user)
        return tok

    def check(self, tok):
        """The session's user, or None when the token is unknown or expired."""
        with self.lock:
            v = self.tokens.get(tok or "")
            if v is None:
                return None
            if v[0] is not None and time.time() > v[0]:
                del self.tokens[tok]
                return None
            return v[1]

    def drop(self, tok):
        with self.lock:
            self.tokens.pop(tok, None)

    def expire_all(self):
        with self.lock:
            self.tokens.clear()

    def count(self):
        with self.lock:
            now = time.time()
            return sum(1 for e, _ in self.tokens.values() if e is None or e > now)


class Faults:
    """Faults from a file re-read on every request."""

    KINDS = {"http", "drop", "drop-after", "slow", "slow-after", "malformed", "expire"}

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def take(self, op):
        """The faults that apply to op now, as a list of (kind, args); removes
        'once' faults that fire."""
        if not self.path:
            return []
        with self.lock:
            try:
                with open(self.path) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                return []
            found, keep, changed = [], [], False
            for line in lines:
                s = line.strip()
                parts = s.split(None, 2) if s and not s.startswith("#") else []
                if len(parts) < 2 or parts[0] not in (op, "*") or parts[1] not in self.KINDS:
                    keep.append(line)
                    continue
                kind, rest = parts[1], (parts[2] if len(parts) > 2 else "")
                once = False
                if rest == "once" or rest.endswith(" once"):
                    once = True
                    rest = rest[:-4].strip()
                # One line of a kind per request, so N "once" lines are N requests.
                if any(k == kind for k, _ in found):
                    keep.append(line)
                    continue
                found.append((kind, rest))
                if once:
                    changed = True
                else:
                    keep.append(line)
            if changed:
                write_atomic(self.path, "".join(l + "\n" for l in keep))
            return found


# ---------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------

def check_fields(body, schema, bad, path=""):
    """Checks a JSON request body against a small schema and calls
    bad(field, problem) for the first problem found (bad raises the vendor's
    ApiError).  A schema is a dict {field: spec}; a spec is a Python type or a
    tuple of types (bool is never taken for int), a nested dict schema, or a
    one-element list [spec] for an array of spec.  problem is "unknown" for a
    field the schema does not have and "type" for a value of the wrong type;
    the field is its dotted path ("lun.name", "initiators.name")."""
    if not isinstance(body, dict):
        bad(path or "body", "type")
        return
    for k, v in body.items():
        field = path + "." + k if path else k
        if k not in schema:
            bad(field, "unknown")
            return
        if not _check_value(v, schema[k], bad, field):
            return


def _check_value(v, spec, bad, field):
    if isinstance(spec, dict):
        if not isinstance(v, dict):
            bad(field, "type")
            return False
        check_fields(v, spec, bad, field)
        return True
    if isinstance(spec, list):
        if not isinstance(v, list):
            bad(field, "type")
            return False
        return all(_check_value(e, spec[0], bad, field) for e in v)
    types = spec if isinstance(spec, tuple) else (spec,)
    if isinstance(v, bool) and bool not in types or not isinstance(v, types):
        bad(field, "type")
        return False
    return True


# ---------------------------------------------------------------------------
# Store: the fake's state, as named collections and values
# ---------------------------------------------------------------------------

class Store:
    """The fake's state: named collections (lists of dicts) and plain values,
    reached as attributes (store.luns, store.cluster).  `doc()` is what the
    --state file holds (plus "fc_node_names" and "sessions", added by the
    fake); `load(doc)` takes such a document back.  The key names are the
    state file's, so a fake's state file keeps its format."""

    def __init__(self, collections=(), values=None):
        object.__setattr__(self, "_keys", list(collections) + list(values or {}))
        object.__setattr__(self, "_seq", {})
        for c in collections:
            object.__setattr__(self, c, [])
        for k, v in (values or {}).items():
            object.__setattr__(self, k, v)

    def __setattr__(self, k, v):
        if k not in self._keys:
            raise AttributeError("store has no %r (declare it in the fake's `state`)" % k)
        object.__setattr__(self, k, v)

    def new_uuid(self):
        return str(uuidlib.uuid4())

    def next_id(self, coll):
        """A sequence number per collection (1, 2, …), kept in the state."""
        n = self._seq.get(coll, 0) + 1
        self._seq[coll] = n
        return n

    def find(self, coll, **match):
        for r in getattr(self, coll):
            if all(r.get(k) == v for k, v in match.items()):
                return r
        return None

    def select(self, coll, **match):
        return [r for r in getattr(self, coll) if all(r.get(k) == v for k, v in match.items())]

    def doc(self):
        d = {k: getattr(self, k) for k in self._keys}
        if self._seq:
            d["_seq"] = dict(self._seq)
        return d

    def load(self, doc):
        for k in self._keys:
            if k in doc:
                object.__setattr__(self, k, doc[k])
        object.__setattr__(self, "_seq", dict(doc.get("_seq", {})))


# ---------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------

def compile_path(pattern):
    """A path pattern with parameters ("/api/storage/luns/{uuid}",
    "/api/{ver:2\\.\\d+}/hosts") as a compiled regex with named groups; a
    parameter without a regex matches one path segment."""
    out, pos = "", 0
    for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::((?:[^{}]|\{[^{}]*\})+))?\}", pattern):
        out += re.escape(pattern[pos:m.start()])
        out += "(?P<%s>%s)" % (m.group(1), m.group(2) or "[^/]+")
        pos = m.end()
    out += re.escape(pattern[pos:])
    return re.compile(out)


class Router:
    """The route table of a fake: (method, path pattern, op name, handler
    method name).  resolve() gives (op, handler, params) for a request; a path
    that no route has is op "unknown"; a path some route has but not for this
    method is op "unknown" too, answered by the fake's not_allowed()."""

    def __init__(self, table):
        self.table = [(m, compile_path(p), op, h) for m, p, op, h in table]

    def resolve(self, method, path):
        path_known = False
        for m, rx, op, h in self.table:
            mt = rx.fullmatch(path)
            if not mt:
                continue
            if m == method:
                return op, h, mt.groupdict()
            path_known = True
        return "unknown", ("not_allowed" if path_known else "not_found"), {}


# ---------------------------------------------------------------------------
# Authentication mixins
# ---------------------------------------------------------------------------

class BasicAuth:
    """HTTP Basic on every request but the ops in `public_ops`, checked
    against --username/--password.  The "expire" fault makes the request fail
    as if the credentials had changed under the client (there is no session
    to expire).  The fake provides auth_failed(req) -> ApiError."""

    public_ops = ("unknown",)

    def authenticate(self, req, op):
        if op in self.public_ops:
            return
        user, pw = req.basic_auth()
        if req.expired or user != self.args.username or pw != self.args.password:
            raise self.auth_failed(req)
        req.user = user


class SessionAuth:
    """Session tokens.  A login handler calls session_answer(user, body) and
    returns what it gives; where the token goes out is `session_out`:
        ("header", NAME)   response header NAME
        ("json", FIELD)    FIELD of the JSON body (a dict)
        ("cookie", NAME)   Set-Cookie: NAME=token
    and where the client sends it back is `session_in`: ("header", NAME) or
    ("cookie", NAME).  Every op but `public_ops` needs a live session; the
    lifetime is --session-ttl.  Logging in again when a session expired is
    the client's job.  The fake provides session_failed(req) -> ApiError."""

    public_ops = ("unknown",)
    session_out = ("header", "x-auth-token")
    session_in = ("header", "x-auth-token")

    def session_token(self, req):
        kind, name = self.session_in
        if kind == "header":
            return req.headers.get(name)
        for part in (req.headers.get("Cookie") or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == name:
                return v
        return None

    def authenticate(self, req, op):
        if op in self.public_ops:
            return
        user = self.sessions.check(self.session_token(req))
        if user is None:
            raise self.session_failed(req)
        req.user = user

    def session_answer(self, user, body, status=200):
        """(status, body, headers) of a successful login for user."""
        tok = self.sessions.new(user)
        self.changed()
        kind, name = self.session_out
        if kind == "json":
            body = dict(body or {})
            body[name] = tok
            return status, body, {}
        if kind == "cookie":
            return status, body, {"Set-Cookie": "%s=%s; Path=/; Secure; HttpOnly" % (name, tok)}
        return status, body, {name: tok}

    def session_end(self, req):
        self.sessions.drop(self.session_token(req))
        self.changed()


# ---------------------------------------------------------------------------
# Pagers
# ---------------------------------------------------------------------------

def int_param(req, name, default, bad):
    v = req.q(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise bad(name)


class NextLinkPager:
    """Pages that carry the link to the next one in _links.next.href (ONTAP):
    `page_size_param` records per page (or self.default_page_size), the next
    page starts at the record whose `page_key` is in the `page_start_param`
    query parameter.  page_next_link(req, records, bad) -> (records, links)."""

    page_size_param = "max_records"
    page_start_param = "start.uuid"
    page_key = "uuid"
    default_page_size = 0

    def page_next_link(self, req, records, bad):
        start = req.q(self.page_start_param)
        if start:
            idx = next((i for i, r in enumerate(records) if r.get(self.page_key) == start), len(records))
            records = records[idx:]
        page = int_param(req, self.page_size_param, None, bad)
        if page is None:
            page = self.default_page_size or 0
        links = {"self": {"href": req.raw_path + ("?" + req.raw_query if req.raw_query else "")}}
        if page > 0 and len(records) > page:
            nxt = records[page]
            records = records[:page]
            q = [(k, v) for k, vs in req.query.items() if k != self.page_start_param
                 and not k.startswith(self.page_start_param.split(".")[0] + ".") for v in vs]
            q.append((self.page_start_param, nxt.get(self.page_key, "")))
            if self.page_size_param not in req.query:
                q.append((self.page_size_param, str(page)))
            links["next"] = {"href": req.raw_path + "?" + urllib.parse.urlencode(q)}
        return records, links


class ContinuationPager:
    """`limit` items per page; the answer's continuation_token (here: the
    offset of the next item) goes back as the `continuation_token` (or
    `offset`) query parameter (Pure 2.x, Dell PowerStore-like APIs).
    page_continuation(req, items, bad) -> (items, total, token or None)."""

    def page_continuation(self, req, items, bad):
        total = len(items)
        off = int_param(req, "continuation_token", None, bad)
        if off is None:
            off = int_param(req, "offset", 0, bad)
        limit = int_param(req, "limit", 0, bad)
        items = items[off:]
        if limit > 0 and len(items) > limit:
            return items[:limit], total, str(off + limit)
        return items, total, None


class RangePager:
    """`limit`/`offset` with HTTP 206 Partial Content and
    "Content-Range: first-last/total" when the answer is not the whole
    collection (PowerStore).  page_range(req, items, bad) -> (status, items,
    headers)."""

    def page_range(self, req, items, bad):
        total = len(items)
        off = int_param(req, "offset", 0, bad)
        limit = int_param(req, "limit", 0, bad)
        page = items[off:off + limit] if limit > 0 else items[off:]
        if off == 0 and len(page) == total:
            return 200, page, {}
        last = off + len(page) - 1
        rng = "%d-%d/%d" % (off, last, total) if page else "*/%d" % total
        return 206, page, {"Content-Range": rng}


class PagePager:
    """`page` (1-based) and `page_size` with the totals in
    metadata (InfiniBox-like): page_numbered(req, items, bad) ->
    (items, metadata)."""

    page_size_default = 50

    def page_numbered(self, req, items, bad):
        size = int_param(req, "page_size", self.page_size_default, bad)
        page = int_param(req, "page", 1, bad)
        if size <= 0 or page <= 0:
            raise bad("page")
        total = len(items)
        pages = max(1, (total + size - 1) // size)
        return items[(page - 1) * size:page * size], {
            "ready": True, "number_of_objects": total, "page_size": size, "pages_total": pages, "page": page}


# ---------------------------------------------------------------------------
# Asynchronous jobs
# ---------------------------------------------------------------------------

class Jobs:
    """Jobs of arrays that answer a change with a job to poll.  job_start(
    work, polls=1) runs work() at once (so the change is made and persisted
    with the job) and records its outcome; job_poll(job_id) then reports the
    job "running" for `polls` polls and then "done" (or "failed" with the
    ApiError's message when work raised).  The fake declares "jobs" in its
    state and shapes the job records its vendor answers."""

    def job_start(self, work, polls=1, **extra):
        job = {"id": self.store.next_id("jobs"), "state": "running", "polls_left": polls, "error": None}
        job.update(extra)
        try:
            job["result"] = work()
            job["outcome"] = "done"
        except ApiError as e:
            job["outcome"] = "failed"
            job["result"] = None
            job["error"] = {"status": e.status, "body": e.body}
        self.store.jobs.append(job)
        self.changed()
        return job

    def job_poll(self, job_id):
        job = next((j for j in self.store.jobs if str(j["id"]) == str(job_id)), None)
        if job is None:
            return None
        if job["state"] == "running":
            if job["polls_left"] > 0:
                job["polls_left"] -= 1
            else:
                job["state"] = job["outcome"]
            self.changed()
        return job


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def parse_args(description, extra=None, argv=None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--cert", required=True, help="server certificate (PEM)")
    ap.add_argument("--key", required=True, help="server private key (PEM)")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    ap.add_argument("--ready", help="file to write PORT=NNNN to once listening")
    ap.add_argument("--calls", help="JSON-lines call log")
    ap.add_argument("--faults", help="fault file, re-read on every request")
    ap.add_argument("--state", help="state file (JSON), loaded at start when it exists")
    ap.add_argument("--seed", help="seed file (JSON) used when there is no state yet")
    ap.add_argument("--fabric", help="fabric directory shared with the simulated ESXi")
    ap.add_argument("--root", help="ESXi root; volumes are files under ROOT/arrays/<vendor>/")
    ap.add_argument("--session-ttl", type=float, default=0, help="session lifetime in seconds (0 = none)")
    ap.add_argument("--response-spec", help="Swagger 2.0 spec every answer is checked against")
    ap.add_argument("--response-spec-log", help="JSON-lines log of the answers' spec violations "
                    "(default: stderr)")
    if extra:
        extra(ap)
    return ap.parse_args(argv)


class Request:
    def __init__(self, method, path, query, headers, raw_body):
        self.method = method
        self.path = path
        self.query = query            # {name: [values]}
        self.headers = headers
        self.raw_body = raw_body
        self.raw_path = path
        self.raw_query = ""
        self.body = None
        self.body_error = None
        self.expired = False
        self.user = None
        if raw_body:
            try:
                self.body = json.loads(raw_body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                self.body_error = str(e)

    def q(self, name, default=None):
        v = self.query.get(name)
        return v[-1] if v else default

    def basic_auth(self):
        h = self.headers.get("Authorization", "")
        if not h.lower().startswith("basic "):
            return None, None
        try:
            user, _, pw = base64.b64decode(h[6:].strip()).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, None
        return user, pw


def initiator_norm(i):
    """An initiator as /_sim/state shows it: a WWPN as 16 lower-case hex
    digits (from "fc.<wwnn>:<wwpn>" too), anything else lower-cased."""
    s = i.strip().lower()
    if s.startswith("fc.") and ":" in s:
        s = s.rsplit(":", 1)[1]
    return wwpn_hex(s) or s


# ---------------------------------------------------------------------------
# The fake
# ---------------------------------------------------------------------------

class ArrayFake:
    """Base class of a fake.  A fake declares:

      array, scsi_vendor, scsi_model   its name and the SCSI inquiry strings
      routes      [(method, path pattern, op, handler name)]; a handler is
                  handler(req, **path_params) -> (status, body[, headers])
      state       {"collections": [...], "values": {name: default}}: the keys
                  of its state file, reached as self.store.<key>
      error_body(status, message, code=None)   the vendor's error document
      not_found(req), not_allowed(req)         ApiErrors for an unknown path /
                  a known path with another method (default: 404 through
                  error_body)
      load_seed(seed)                          fill the store from a seed
      sim_volumes()  [{"key", "name", "id", "naa", "size"}]
      sim_groups()   [{"key", "name", "initiators": [...]}]
      sim_mappings() [(group key, volume key, lun or None)]
    and mixes in an authentication (BasicAuth, SessionAuth) and pagers.

    From the three sim_* views the base keeps the fabric in line (a mapped
    volume's file FABRIC/luns/<naa>.json lists the initiators of every group
    it is mapped to) and answers GET /_sim/state (no authentication, no call
    log entry, no faults):
      {"array": <name>, "volumes": [{"name", "id", "naa", "size"}],
       "groups": [{"name", "initiators"}], "mappings": [{"group", "volume", "lun"}],
       "sessions": <live sessions>}
    sorted by name; initiators as initiator_norm() gives them.

    The state is persisted to --state (atomically) after every change
    (changed()) and taken back at start; volume files are created for the
    volumes of a reloaded state."""

    array = "array"
    scsi_vendor = "SIMARRAY"
    scsi_model = "Virtual LUN"
    routes = []
    state = {"collections": [], "values": {}}
    # Ops of requests whose JSON body is not checked for being valid JSON.
    public_ops = ("unknown",)

    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.calls_lock = threading.Lock()
        self.sessions = Sessions(args.session_ttl)
        self.faults = Faults(args.faults)
        self.fabric = Fabric(args.fabric, args.root, self.array, self.scsi_vendor, self.scsi_model)
        self.router = Router(self.routes)
        self.response_spec = None
        if getattr(args, "response_spec", None):
            here = os.path.dirname(os.path.abspath(__file__))
            if here not in sys.path:
                sys.path.insert(0, here)
            import swagger
            self.response_spec = swagger.Spec(args.response_spec)
            if args.response_spec_log:
                open(args.response_spec_log, "a").close()
        self.store = self.new_store()
        st = None
        if args.state and os.path.exists(args.state) and os.path.getsize(args.state) > 0:
            with open(args.state) as f:
                st = json.load(f)
        if st is not None:
            self.store.load(st)
            self.fabric.node_names = st.get("fc_node_names", {})
            for v in self.sim_volumes():
                self.fabric.create_file(v["name"], v["size"])
        else:
            seed = {}
            if args.seed:
                with open(args.seed) as f:
                    seed = json.load(f)
            self.load_seed(seed)
            self.fabric.node_names = {k.lower(): v.lower() for k, v in seed.get("fc_node_names", {}).items()}
        self.changed()

    def new_store(self):
        return Store(self.state.get("collections", []),
                     json.loads(json.dumps(self.state.get("values", {}))))

    # -- to be provided by the vendor ------------------------------------
    def error_body(self, status, message, code=None):
        raise NotImplementedError

    def load_seed(self, seed):
        raise NotImplementedError

    def sim_volumes(self):
        return []

    def sim_groups(self):
        return []

    def sim_mappings(self):
        return []

    def not_found(self, req):
        return ApiError(404, self.error_body(404, "not found"))

    def not_allowed(self, req):
        return self.not_found(req)

    def authenticate(self, req, op):
        """Raise ApiError when the request is not authenticated."""

    def dispatch(self, req, op, handler, params):
        """Calls the handler; a fake overrides it to check path parameters
        common to its routes (an API version, say)."""
        return handler(req, **params)

    # -- derived ------------------------------------------------------------
    def fabric_wanted(self):
        vols = {v["key"]: v for v in self.sim_volumes()}
        groups = {g["key"]: g for g in self.sim_groups()}
        wanted = {}
        for gkey, vkey, _ in self.sim_mappings():
            v = vols[vkey]
            inits = wanted.setdefault(v["naa"], (v["name"], []))[1]
            inits.extend(groups[gkey]["initiators"])
        return wanted

    def sim_state(self):
        vols = self.sim_volumes()
        groups = self.sim_groups()
        vnames = {v["key"]: v["name"] for v in vols}
        gnames = {g["key"]: g["name"] for g in groups}
        return {
            "array": self.array,
            "volumes": sorted(({"name": v["name"], "id": v["id"], "naa": v["naa"], "size": v["size"]}
                               for v in vols), key=lambda v: (v["name"], str(v["id"]))),
            "groups": sorted(({"name": g["name"],
                               "initiators": sorted(set(initiator_norm(i) for i in g["initiators"]))}
                              for g in groups), key=lambda g: g["name"]),
            "mappings": sorted(({"group": gnames[gk], "volume": vnames[vk], "lun": lun}
                                for gk, vk, lun in self.sim_mappings()),
                               key=lambda m: (m["group"], m["volume"], -1 if m["lun"] is None else m["lun"])),
            "sessions": self.sessions.count(),
        }

    # -- common -----------------------------------------------------------
    def changed(self):
        """Persist the state and bring the fabric in line; call with the lock
        held after every mutation."""
        self.fabric.sync(self.fabric_wanted())
        if self.args.state:
            doc = self.store.doc()
            doc["fc_node_names"] = self.fabric.node_names
            doc["sessions"] = self.sessions.count()
            write_atomic(self.args.state, json.dumps(doc, indent=1, sort_keys=True) + "\n")

    def log_call(self, req, op, status, fault=None, user=None, t0=None):
        """One call-log line.  t0 (time.monotonic() when the request's
        headers were read) adds "service_s": the fake's own time for the
        request up to this line (body read, work, state file), so a bench can
        tell the simulator's cost from the client's."""
        if not self.args.calls:
            return
        q = {}
        for k, vs in req.query.items():
            vs = [redact(v, k) for v in vs]
            q[k] = vs[0] if len(vs) == 1 else vs
        if req.body is not None:
            body = redact(req.body)
        elif req.raw_body:
            body = req.raw_body.decode("utf-8", "replace")
        else:
            body = None
        rec = {"ts": round(time.time(), 6), "array": self.array, "op": op,
               "method": req.method, "path": req.path, "query": q, "body": body,
               "status": status}
        if user:
            rec["user"] = user
        if fault:
            rec["fault"] = fault
        if t0 is not None:
            rec["service_s"] = round(time.monotonic() - t0, 6)
        line = json.dumps(rec, sort_keys=True) + "\n"
        with self.calls_lock:
            with open(self.args.calls, "a") as f:
                f.write(line)

    def check_answer(self, req, op, status, data, headers, fault=None):
        """With --response-spec: check one answer against the spec and append
        its violations to --response-spec-log.  Never changes the answer."""
        if self.response_spec is None or status is None or fault == "malformed":
            return []
        try:
            ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), None) \
                if data else None
            found = self.response_spec.check(req.method, req.raw_path, status, data, ctype)
        except Exception as e:  # a bug of the checker: say so, as a violation
            found = [{"method": req.method, "path": req.raw_path, "status": status, "operation": None,
                      "pointer": "", "schema": None, "message": "checker failed: %r" % e}]
        if not found:
            return found
        lines = ""
        for v in found:
            rec = dict(v, ts=round(time.time(), 6), array=self.array, op=op)
            if fault:
                rec["fault"] = fault
            lines += json.dumps(rec, sort_keys=True) + "\n"
        with self.calls_lock:
            if self.args.response_spec_log:
                with open(self.args.response_spec_log, "a") as f:
                    f.write(lines)
            else:
                sys.stderr.write(lines)
                sys.stderr.flush()
        return found

    def handle(self, req):
        """Returns (status, body-bytes-or-None, headers, op, fault) or raises Dropped."""
        op, hname, params = self.router.resolve(req.method, req.path.rstrip("/"))
        if op == "unknown":
            def fn(r, kind=hname):
                raise getattr(self, kind)(r)
        else:
            handler = getattr(self, hname)
            fn = (lambda r: self.dispatch(r, op, handler, params))
        fault = None
        faults = self.faults.take(op) if op else []
        drop_after = False
        slow_after = 0.0
        for kind, rest in faults:
            if kind == "slow":
                try:
                    time.sleep(max(0.0, float(rest.split()[0]) / 1000.0))
                except (ValueError, IndexError):
                    pass
                fault = "slow"
            elif kind == "slow-after":
                try:
                    slow_after = max(0.0, float(rest.split()[0]) / 1000.0)
                except (ValueError, IndexError):
                    pass
                fault = "slow-after"
            elif kind == "expire":
                self.sessions.expire_all()
                req.expired = True
                fault = "expire"
        for kind, rest in faults:
            if kind == "drop":
                raise Dropped(op)
            if kind == "drop-after":
                drop_after = True
            if kind == "http":
                parts = rest.split(None, 1)
                try:
                    status = int(parts[0])
                except (ValueError, IndexError):
                    status = 500
                if len(parts) > 1:
                    body = parts[1].encode()
                else:
                    body = json.dumps(self.error_body(status, "injected fault")).encode()
                return status, body, {"Content-Type": "application/json"}, op, "http"
            if kind == "malformed":
                try:
                    status = int(rest.split()[0]) if rest.strip() else 200
                except ValueError:
                    status = 200
                return status, b'{"malformed": [1, 2', {"Content-Type": "application/json"}, op, "malformed"
        try:
            if req.body_error is not None and req.method in ("POST", "PATCH", "PUT"):
                raise ApiError(400, self.error_body(400, "invalid JSON in request body: %s" % req.body_error, "json"))
            self.authenticate(req, op)
            with self.lock:
                r = fn(req)
        except ApiError as e:
            r = (e.status, e.body, e.headers)
        status, body = r[0], r[1]
        headers = dict(r[2]) if len(r) > 2 and r[2] else {}
        if drop_after:
            raise Dropped(op)
        if slow_after > 0:
            # Outside the fake's lock: the array has acted and other requests go on.
            time.sleep(slow_after)
        if body is None:
            data = None
        else:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        return status, data, headers, op, fault

    def serve(self):
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "SimArray/1.0"
            sys_version = ""
            # An answer leaves in one write: headers and body collect in a
            # buffered wfile that _answer flushes.  With the default
            # unbuffered writer the headers and the body went out as two
            # small segments, and the second waited for the client's delayed
            # ACK (Nagle): about 40 ms per request that no array costs.
            wbufsize = 1 << 16

            def setup(self):
                super().setup()
                # No Nagle either: a small answer is sent at once.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, fmt, *a):
                sys.stderr.write("%s %s: %s\n" % (time.strftime("%H:%M:%S"), fake.array, fmt % a))

            def _answer(self, status, data, headers):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                if data and self.command != "HEAD":
                    self.wfile.write(data)
                self.wfile.flush()

            def _do(self):
                t0 = time.monotonic()
                u = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n > 0 else b""
                if u.path == "/_sim/state" and self.command == "GET":
                    with fake.lock:
                        doc = fake.sim_state()
                    self._answer(200, json.dumps(doc, sort_keys=True).encode() + b"\n",
                                 {"Content-Type": "application/json"})
                    return
                req = Request(self.command, urllib.parse.unquote(u.path), query, self.headers, raw)
                req.raw_path = u.path
                req.raw_query = u.query
                try:
                    status, data, headers, op, fault = fake.handle(req)
                except Dropped as d:
                    fake.log_call(req, d.args[0], None, fault="drop", t0=t0)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                except Exception as e:  # a bug in the fake: answer 500, say so
                    import traceback
                    traceback.print_exc()
                    status, op, fault = 500, "internal", None
                    data = json.dumps(fake.error_body(500, "simulator bug: %s" % e)).encode()
                    headers = {"Content-Type": "application/json"}
                fake.log_call(req, op, status, fault=fault, user=req.user, t0=t0)
                # Checked before it is sent, so a client that has the answer
                # finds its violations in the log already.
                fake.check_answer(req, op, status, data, headers, fault)
                self._answer(status, data, headers)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _do

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                e = sys.exc_info()[1]
                if isinstance(e, (ssl.SSLError, ConnectionError, socket.timeout, OSError)):
                    return  # a client that went away or failed the handshake
                super().handle_error(request, client_address)

        srv = Server(("127.0.0.1", self.args.port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.args.cert, self.args.key)
        # The handshake happens on the first read, in the request's thread.
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
        port = srv.server_address[1]
        if self.args.ready:
            write_atomic(self.args.ready, "PORT=%d\n" % port)
        sys.stderr.write("%s: listening on https://127.0.0.1:%d\n" % (self.array, port))
        sys.stderr.flush()
        try:
            srv.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass


# ---------------------------------------------------------------------------
# The registry of fakes
# ---------------------------------------------------------------------------

class World:
    """What the test world knows when it seeds the arrays (test/sim/world):
    the fabric directory, the VM disk's size and the vCenter facts
    (WORLD_VC_HOST_FC, _VVOL_ID, _RDM_NAA; empty when absent) and the
    array's target ports as the hosts' SCSI topology shows them
    (WORLD_VC_ARRAY_FC_WWPNS as 16 hex digits, _ARRAY_ISCSI_IQN)."""

    def __init__(self, fabric, size, fc="", vvol="", rdm="", array_fc=(), array_iqn=""):
        self.fabric, self.size, self.fc, self.vvol, self.rdm = fabric, int(size), fc, vvol, rdm
        self.array_fc, self.array_iqn = list(array_fc), array_iqn
        # The test matrix's VVols and raw LUNs: [(VVol id or NAA, bytes)].
        self.mx_vvols, self.mx_rdms = [], []

    def target_ports(self, env, foreign_fc, foreign_iqn):
        """The ports fake <env> lists, by WORLD_<env>_PORTS: "all" (default)
        the identities the hosts see, "fc" or "iscsi" only those of one kind,
        "foreign" the fake's own (foreign_fc, foreign_iqn) that no host sees.
        Returns (fc wwpns as 16 hex digits, iSCSI target names)."""
        mode = os.environ.get("WORLD_%s_PORTS" % env, "all")
        if mode == "foreign":
            return list(foreign_fc), [foreign_iqn]
        if mode not in ("all", "fc", "iscsi"):
            raise SystemExit("WORLD_%s_PORTS: unknown value %r" % (env, mode))
        fc = self.array_fc if mode in ("all", "fc") else []
        iqn = [self.array_iqn] if mode in ("all", "iscsi") and self.array_iqn else []
        return list(fc), iqn

    def fc_node_names(self):
        """{wwpn hex: wwnn hex} of every FC initiator the simulated hosts
        have (fabric/esxi-*.json and the vCenter's HOST_FC)."""
        import glob
        inits = [self.fc] if self.fc else []
        for f in glob.glob(os.path.join(self.fabric, "esxi-*.json")):
            try:
                with open(f) as fh:
                    inits += json.load(fh).get("initiators", [])
            except (OSError, ValueError):
                pass
        nodes = {}
        for i in inits:
            if i.lower().startswith("fc.") and ":" in i:
                wwnn, wwpn = i[3:].lower().split(":", 1)
                nodes[wwpn] = wwnn
        return nodes


class Descriptor:
    """The facts about one fake that start-arrays and test/sim/world need;
    a fake module sets FAKE = Descriptor(...).  fakes.py finds them.

      name        the module's name (<name>.py) and the directory of its files
      product     its --storage-vendor-product value
      env         the WORLD_<env>_* prefix of its variables
      order       start order (lower first)
      args        extra command-line arguments (credentials)
      env_facts   [(KEY, value)]: WORLD_<env>_KEY lines start-arrays exports
                  after HOSTNAME (and DIRECT when behind Prism)
      sessions    True when it has sessions (gets --session-ttl)
      prism_spec  path of its OpenAPI spec under shared/vendor-specs/, or None
      response_spec  path of a Swagger 2.0 spec under shared/vendor-specs/
                  that the fake checks its own answers against (start-arrays
                  gives it --response-spec and --response-spec-log
                  DIR/arrays/<name>/spec-violations.jsonl, exported as
                  WORLD_<env>_SPEC_LOG), or None.  For a spec Prism does not
                  check answers against (Prism 5.16 checks them for OpenAPI 3
                  only).
      prism_dir   directory (under DIR/arrays/) of its Prism's files
      default_seed  the seed when none is given
      default_storage  True for the array STORAGE_* of the world names
      world_seed  function(World) -> (seed, [(KEY, value)]): the world's
                  seed and its WORLD_<env>_KEY lines
      vendor_keys [(KEY, value)]: WORLD_KEY lines (no <env> prefix) for the
                  vendor's own environment keys that test/sim/populate
                  passes as KEY; "{port}" in a value is the port clients
                  use (a vendor whose port is a key of its own)"""

    def __init__(self, name, product, env, order=50, args=(), env_facts=(), sessions=False,
                 prism_spec=None, prism_dir=None, default_seed=None, default_storage=False,
                 world_seed=None, response_spec=None, vendor_keys=()):
        self.name, self.product, self.env, self.order = name, product, env, order
        self.args, self.env_facts, self.sessions = list(args), list(env_facts), sessions
        self.prism_spec, self.prism_dir = prism_spec, prism_dir or "prism-" + name
        self.response_spec = response_spec
        self.default_seed = default_seed if default_seed is not None else {}
        self.default_storage = default_storage
        self.world_seed = world_seed
        self.vendor_keys = list(vendor_keys)


def main(cls, description, extra=None):
    args = parse_args(description, extra)
    cls(args).serve()
