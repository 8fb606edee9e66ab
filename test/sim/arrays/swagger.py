#!/usr/bin/env python3
"""A small checker of answers against a Swagger 2.0 spec, for the simulated
arrays (test/sim/arrays/).

Prism checks the requests our clients send against a vendor's Swagger 2.0
spec, but not the answers the fakes give.  This module does that part:

    spec = swagger.Spec("shared/vendor-specs/ontap/spec_ontap_populator.json")
    for v in spec.check("GET", "/api/cluster", 200, body_bytes):
        ...   # {"method", "path", "status", "operation", "pointer",
              #  "schema", "message"}

check() finds the operation for (method, path) through the spec's path
templates ("/api/storage/luns/{uuid}"; a literal segment beats a template),
takes the response for the status (else "default"), resolves "$ref"s
(JSON pointers into the document, with a cycle guard) and checks the body
with these keywords:

    type        string, integer (no fraction, never a boolean), number,
                boolean, array, object (a list of types is allowed)
    required, properties, additionalProperties (false: no other property;
                a schema: every other property follows it)
    enum        (a boolean never equals a number)
    items, allOf
    minLength, maxLength, minimum, maximum, minItems, maxItems
    format      uuid and date-time (RFC 3339) only

readOnly, discriminator, example, description and x- extensions are
ignored.  An answer whose status the operation does not list (and there is
no "default") is a violation; so is a body that is not JSON, an empty one
where the spec describes a body, and a body where the response has no
schema (Swagger 2.0: "If this field does not exist, it means no content is
returned as part of the response").  When the Content-Type of a body is
given it must be one of the operation's (else the document's) "produces".
A request that matches no operation of the spec is not checked
(unchecked() says why).

Command line (exit 1 when something was found):
    swagger.py SPEC METHOD PATH STATUS [BODY-FILE|-] [CONTENT-TYPE]
prints one JSON line per violation.

Standard library only.
"""

import json
import re
import sys

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DATE_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def escape_pointer(key):
    return str(key).replace("~", "~0").replace("/", "~1")


def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def is_type(v, t):
    if t == "string":
        return isinstance(v, str)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    if t == "null":
        return v is None
    return True  # "file" and unknown types: nothing to check


def same_value(a, b):
    """JSON equality: a boolean never equals a number (True == 1 in Python)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    return a == b


class SpecError(Exception):
    """The spec itself is unusable (not Swagger 2.0, a $ref that leads nowhere)."""


class Spec:
    def __init__(self, source):
        """source: a file name or an already loaded document."""
        if isinstance(source, dict):
            doc = source
            self.name = "<spec>"
        else:
            with open(source, encoding="utf-8") as f:
                doc = json.load(f)
            self.name = source
        if str(doc.get("swagger", "")) != "2.0":
            raise SpecError("%s is not a Swagger 2.0 document (swagger: %r)" % (self.name, doc.get("swagger")))
        self.doc = doc
        base = (doc.get("basePath") or "").rstrip("/")
        self.templates = []  # (literal segments, regex, template, path item)
        for tmpl, item in (doc.get("paths") or {}).items():
            if tmpl.startswith("x-") or not isinstance(item, dict):
                continue
            full = base + tmpl
            rx, literal = "", 0
            for seg in full.strip("/").split("/"):
                if re.fullmatch(r"\{[^{}/]+\}", seg):
                    rx += "/[^/]+"
                else:
                    literal += 1
                    parts = re.split(r"(\{[^{}/]+\})", seg)
                    rx += "/" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
            self.templates.append((literal, re.compile(rx or "/"), tmpl, item))
        # A path with more literal segments wins ("/a/b" over "/a/{x}").
        self.templates.sort(key=lambda t: -t[0])

    # -- lookups ------------------------------------------------------------
    def operation(self, method, path):
        """(template, operation object) for the request, or (template, None)
        when the path is known but not the method, or (None, None)."""
        path = "/" + path.split("?", 1)[0].strip("/") if path.strip("/") else "/"
        known = None
        for _, rx, tmpl, item in self.templates:
            if rx.fullmatch(path):
                op = item.get(method.lower())
                if isinstance(op, dict):
                    return tmpl, op
                known = known or tmpl
        return known, None

    def resolve(self, schema, where):
        """(schema, location) with every $ref followed; raises SpecError on a
        cycle of references or a reference that leads nowhere."""
        seen = set()
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            if ref in seen:
                raise SpecError("$ref cycle at %s (%s)" % (where, ref))
            seen.add(ref)
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise SpecError("only local $refs are supported: %r at %s" % (ref, where))
            node = self.doc
            for part in ref[1:].split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                else:
                    raise SpecError("$ref %s at %s leads nowhere" % (ref, where))
            schema, where = node, ref
        return schema, where

    def response(self, op, status):
        """(response object, key) for the status: the exact code, else a
        range like "2XX", else "default"; (None, None) when none applies."""
        responses = op.get("responses") or {}
        for key in (str(status), "%dXX" % (int(status) // 100), "%dxx" % (int(status) // 100), "default"):
            if key in responses:
                return responses[key], key
        return None, None

    # -- checking -----------------------------------------------------------
    def unchecked(self, method, path):
        """Why an answer to this request cannot be checked, or None."""
        tmpl, op = self.operation(method, path)
        if op is None:
            return "%s %s is not an operation of the spec" % (method.upper(), path)
        return None

    def check(self, method, path, status, body, content_type=None):
        """The violations of one answer, as a list of dicts.  body: bytes,
        str or an already decoded JSON value (None: no body); content_type:
        the answer's Content-Type header, when it is to be checked."""
        tmpl, op = self.operation(method, path)
        if op is None:
            return []
        base = {"method": method.upper(), "path": path, "status": status, "operation": tmpl}

        def v(pointer, message, schema=None):
            d = dict(base)
            d.update({"pointer": pointer, "schema": schema, "message": message})
            return d

        resp, key = self.response(op, status)
        if resp is None:
            return [v("", "status %s is not documented for %s %s (%s) and there is no default" % (
                status, method.upper(), tmpl, ", ".join(sorted(op.get("responses") or {}))))]
        where = "#/paths/%s/%s/responses/%s" % (escape_pointer(tmpl), method.lower(), key)
        try:
            resp, where = self.resolve(resp, where)
        except SpecError as e:
            return [v("", str(e), where)]
        schema = resp.get("schema") if isinstance(resp, dict) else None
        if isinstance(body, (bytes, bytearray)):
            body = body.decode("utf-8", "replace")
        empty = body is None or (isinstance(body, str) and body == "")
        if schema is None:
            if empty:
                return []
            return [v("", "the spec documents no body for status %s, got %s" % (
                key, _short(body) if not isinstance(body, str) else "%d characters: %s" % (
                    len(body), _short(body))), where)]
        where += "/schema"
        if empty or (isinstance(body, str) and not body.strip()):
            return [v("", "empty body; the spec describes one for status %s" % key, where)]
        found = []
        if content_type is not None:
            produces = op.get("produces", self.doc.get("produces")) or []
            mt = content_type.split(";")[0].strip().lower()
            if produces and mt not in [p.lower() for p in produces]:
                found.append(v("", "Content-Type %r is not one of %s" % (content_type, produces),
                               "#/paths/%s/%s/produces" % (escape_pointer(tmpl), method.lower())
                               if "produces" in op else "#/produces"))
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError as e:
                return found + [v("", "body is not JSON: %s" % e, where)]
        return found + [v(p, m, s) for p, m, s in self.validate(schema, body, "", where)]

    def validate(self, schema, value, pointer, where, active=None):
        """Yields (pointer, message, schema location) for every violation of
        schema by value.  active guards against a schema that includes
        itself (allOf / $ref loops) at the same place of the value."""
        active = active or frozenset()
        try:
            schema, where = self.resolve(schema, where)
        except SpecError as e:
            yield pointer, str(e), where
            return
        if not isinstance(schema, dict):
            return
        key = (where, pointer)
        if key in active:
            return
        active = active | {key}

        for i, sub in enumerate(schema.get("allOf") or []):
            yield from self.validate(sub, value, pointer, "%s/allOf/%d" % (where, i), active)

        t = schema.get("type")
        if t is not None:
            types = t if isinstance(t, list) else [t]
            if not any(is_type(value, x) for x in types):
                yield pointer, "expected %s, got %s %s" % (
                    " or ".join(map(str, types)), type_name(value), _short(value)), where + "/type"
                return

        if "enum" in schema and isinstance(schema["enum"], list):
            if not any(same_value(value, e) for e in schema["enum"]):
                yield pointer, "%s is not one of %s" % (_short(value), _short(schema["enum"], 120)), where + "/enum"

        if isinstance(value, str):
            n = len(value)
            if isinstance(schema.get("minLength"), int) and n < schema["minLength"]:
                yield pointer, "string of length %d is shorter than minLength %d" % (n, schema["minLength"]), \
                    where + "/minLength"
            if isinstance(schema.get("maxLength"), int) and n > schema["maxLength"]:
                yield pointer, "string of length %d is longer than maxLength %d" % (n, schema["maxLength"]), \
                    where + "/maxLength"
            fmt = schema.get("format")
            if fmt == "uuid" and not UUID_RE.fullmatch(value):
                yield pointer, "%s is not a uuid" % _short(value), where + "/format"
            elif fmt == "date-time" and not DATE_TIME_RE.fullmatch(value):
                yield pointer, "%s is not an RFC 3339 date-time" % _short(value), where + "/format"

        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lo, hi = schema.get("minimum"), schema.get("maximum")
            if isinstance(lo, (int, float)) and not isinstance(lo, bool):
                if value < lo or (schema.get("exclusiveMinimum") is True and value == lo):
                    yield pointer, "%s is below the minimum %s" % (value, lo), where + "/minimum"
            if isinstance(hi, (int, float)) and not isinstance(hi, bool):
                if value > hi or (schema.get("exclusiveMaximum") is True and value == hi):
                    yield pointer, "%s is above the maximum %s" % (value, hi), where + "/maximum"

        if isinstance(value, list):
            n = len(value)
            if isinstance(schema.get("minItems"), int) and n < schema["minItems"]:
                yield pointer, "%d items, fewer than minItems %d" % (n, schema["minItems"]), where + "/minItems"
            if isinstance(schema.get("maxItems"), int) and n > schema["maxItems"]:
                yield pointer, "%d items, more than maxItems %d" % (n, schema["maxItems"]), where + "/maxItems"
            items = schema.get("items")
            if isinstance(items, dict):
                for i, e in enumerate(value):
                    yield from self.validate(items, e, "%s/%d" % (pointer, i), where + "/items", active)
            elif isinstance(items, list):  # tuple form
                for i, (sub, e) in enumerate(zip(items, value)):
                    yield from self.validate(sub, e, "%s/%d" % (pointer, i), "%s/items/%d" % (where, i), active)

        if isinstance(value, dict):
            props = schema.get("properties") or {}
            for name in schema.get("required") or []:
                if name not in value:
                    yield pointer, "required property %r is missing" % name, where + "/required"
            extra = schema.get("additionalProperties", True)
            for name, e in value.items():
                p = "%s/%s" % (pointer, escape_pointer(name))
                if name in props:
                    yield from self.validate(props[name], e, p, "%s/properties/%s" % (where, escape_pointer(name)),
                                             active)
                elif extra is False:
                    yield p, "property %r is not allowed (additionalProperties: false)" % name, \
                        where + "/additionalProperties"
                elif isinstance(extra, dict):
                    yield from self.validate(extra, e, p, where + "/additionalProperties", active)


def _short(v, limit=60):
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= limit else s[:limit - 3] + "..."


def main(argv):
    if len(argv) not in (4, 5, 6):
        raise SystemExit(__doc__.split("Command line", 1)[1].split("Standard library", 1)[0].strip())
    spec = Spec(argv[0])
    method, path, status = argv[1], argv[2], int(argv[3])
    if len(argv) >= 5:
        f = sys.stdin.buffer if argv[4] == "-" else open(argv[4], "rb")
        body = f.read()
    else:
        body = None
    ctype = argv[5] if len(argv) == 6 else None
    why = spec.unchecked(method, path)
    if why:
        sys.stderr.write("swagger.py: not checked: %s\n" % why)
    found = spec.check(method, path, status, body, ctype)
    for v in found:
        print(json.dumps(v, sort_keys=True))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
