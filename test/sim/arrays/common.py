"""Shared scaffolding for the simulated storage arrays (test/sim/arrays/).

Each array fake (ontap.py, pure.py) is our own model of a vendor's REST API,
written from the vendor's public documentation and the traffic notes in
shared/spec/vendors-a.md.  This module gives them what every fake needs:

  * HTTPS on 127.0.0.1 with the certificate and key named on the command line;
    port 0 picks a free port, which is written as "PORT=NNNN" to --ready FILE;
  * a JSON-lines call log (--calls FILE): one line per request with the
    operation name, method, path, query, body (secrets replaced by "***") and
    the status answered;
  * fault injection from --faults FILE, re-read on every request; a line is
        <op-name|*> <kind> [args] [once]
    with kinds
        http <status> [json body]   answer that status (vendor error body if none)
        drop                        close the connection without answering
        drop-after                  do the operation, then close without answering
        slow <ms>                   wait, then answer normally
        malformed                   answer 200 with a body that is not JSON
        expire                      invalidate every session, then go on normally
    A fault marked "once" is removed from the file when it fires.  Lines
    starting with '#' and blank lines are ignored;
  * state in --state FILE (JSON, rewritten atomically after every change);
  * sessions with a lifetime (--session-ttl SECONDS, 0 = no expiry);
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

    KINDS = {"http", "drop", "drop-after", "slow", "malformed", "expire"}

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
                found.append((kind, rest))
                if once:
                    changed = True
                else:
                    keep.append(line)
            if changed:
                write_atomic(self.path, "".join(l + "\n" for l in keep))
            return found


def parse_args(description, extra=None):
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
    if extra:
        extra(ap)
    return ap.parse_args()


class Request:
    def __init__(self, method, path, query, headers, raw_body):
        self.method = method
        self.path = path
        self.query = query            # {name: [values]}
        self.headers = headers
        self.raw_body = raw_body
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


class ArrayFake:
    """Base class of a fake: subclasses set `array`, implement route(),
    error_body(), load_seed(), state_doc(), fabric_wanted()."""

    array = "array"
    scsi_vendor = "SIMARRAY"
    scsi_model = "Virtual LUN"

    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.calls_lock = threading.Lock()
        self.sessions = Sessions(args.session_ttl)
        self.faults = Faults(args.faults)
        self.fabric = Fabric(args.fabric, args.root, self.array, self.scsi_vendor, self.scsi_model)
        st = None
        if args.state and os.path.exists(args.state) and os.path.getsize(args.state) > 0:
            with open(args.state) as f:
                st = json.load(f)
        if st is not None:
            self.load_state(st)
        else:
            seed = {}
            if args.seed:
                with open(args.seed) as f:
                    seed = json.load(f)
            self.load_seed(seed)
        self.changed()

    # -- to be provided by the vendor ------------------------------------
    def route(self, req):
        """(op_name, handler) for a request; handler(req) -> (status, body[, headers])."""
        raise NotImplementedError

    def error_body(self, status, message, code=None):
        raise NotImplementedError

    def load_seed(self, seed):
        raise NotImplementedError

    def load_state(self, st):
        raise NotImplementedError

    def state_doc(self):
        raise NotImplementedError

    def fabric_wanted(self):
        raise NotImplementedError

    def authenticate(self, req, op):
        """Raise ApiError when the request is not authenticated."""

    # -- common -----------------------------------------------------------
    def changed(self):
        """Persist the state and bring the fabric in line; call with the lock
        held after every mutation."""
        self.fabric.sync(self.fabric_wanted())
        if self.args.state:
            doc = self.state_doc()
            doc["sessions"] = self.sessions.count()
            write_atomic(self.args.state, json.dumps(doc, indent=1, sort_keys=True) + "\n")

    def log_call(self, req, op, status, fault=None, user=None):
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
        line = json.dumps(rec, sort_keys=True) + "\n"
        with self.calls_lock:
            with open(self.args.calls, "a") as f:
                f.write(line)

    def handle(self, req):
        """Returns (status, body-bytes-or-None, headers, op, fault) or raises Dropped."""
        op, fn = self.route(req)
        fault = None
        faults = self.faults.take(op) if op else []
        drop_after = False
        for kind, rest in faults:
            if kind == "slow":
                try:
                    time.sleep(max(0.0, float(rest.split()[0]) / 1000.0))
                except (ValueError, IndexError):
                    pass
                fault = "slow"
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
                return 200, b'{"malformed": [1, 2', {"Content-Type": "application/json"}, op, "malformed"
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

            def log_message(self, fmt, *a):
                sys.stderr.write("%s %s: %s\n" % (time.strftime("%H:%M:%S"), fake.array, fmt % a))

            def _do(self):
                u = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n > 0 else b""
                req = Request(self.command, urllib.parse.unquote(u.path), query, self.headers, raw)
                req.raw_path = u.path
                req.raw_query = u.query
                try:
                    status, data, headers, op, fault = fake.handle(req)
                except Dropped as d:
                    fake.log_call(req, d.args[0], None, fault="drop")
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
                fake.log_call(req, op, status, fault=fault, user=req.user)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                if data and self.command != "HEAD":
                    self.wfile.write(data)

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


def main(cls, description, extra=None):
    args = parse_args(description, extra)
    cls(args).serve()
