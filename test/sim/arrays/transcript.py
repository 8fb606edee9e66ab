#!/usr/bin/env python3
"""transcript.py OUTDIR: drives ontap.py and pure.py (started directly, no
Prism) through a fixed script of requests, good and bad, and writes to OUTDIR
a normalised transcript of what they answered:

  ontap.txt, pure.txt   one block per request: method, path, body sent,
                        status, headers that matter, body answered
  ontap-calls.jsonl, pure-calls.jsonl   their call logs
  ontap-state.json, pure-state.json     their final --state files
  fabric.txt            the FABRIC/luns files present after each vendor

Random values (UUIDs, session tokens, timestamps) are replaced by stable
placeholders in order of first appearance, so two runs of the same fakes give
identical files: `diff -r` two OUTDIRs to see whether a change of the fakes
changed anything on the wire.  Standard library only.
"""

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DROP_KEYS = {"ts", "service_s", "created", "create_time", "_as_of"}


class Norm:
    def __init__(self):
        self.map = {}

    def text(self, s):
        def sub(m):
            u = m.group(0)
            if u.startswith("5a1e") or u.startswith("7a3c"):
                return u  # fixed by the seeds
            if u not in self.map:
                self.map[u] = "<uuid-%d>" % (len(self.map) + 1)
            return self.map[u]
        return UUID_RE.sub(sub, s)

    def value(self, v, key=None):
        if isinstance(v, dict):
            return {k: ("<dropped>" if k in DROP_KEYS else self.value(x, k)) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, str):
            return self.text(v)
        return v


def certs(d):
    run = lambda *a: subprocess.run(a, cwd=d, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=transcript CA")
    run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext")


class Fake:
    def __init__(self, work, vendor, seed, extra):
        self.dir = os.path.join(work, vendor)
        os.makedirs(self.dir)
        with open(os.path.join(self.dir, "seed.json"), "w") as f:
            json.dump(seed, f)
        open(os.path.join(self.dir, "faults"), "w").close()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, vendor + ".py"), "--cert", os.path.join(work, "server.pem"),
             "--key", os.path.join(work, "server.key"), "--ready", os.path.join(self.dir, "ready"),
             "--calls", os.path.join(self.dir, "calls.jsonl"), "--faults", os.path.join(self.dir, "faults"),
             "--state", os.path.join(self.dir, "state.json"), "--seed", os.path.join(self.dir, "seed.json"),
             "--fabric", os.path.join(work, "fabric"), "--root", os.path.join(work, "root")] + extra,
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"))
        for _ in range(500):
            try:
                with open(os.path.join(self.dir, "ready")) as f:
                    self.port = int(f.read().split("=")[1])
                    break
            except (OSError, ValueError, IndexError):
                time.sleep(0.02)
        else:
            raise SystemExit("%s did not start" % vendor)
        self.ctx = ssl.create_default_context(cafile=os.path.join(work, "ca.pem"))

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Script:
    def __init__(self, fake, out, norm):
        self.fake, self.out, self.norm = fake, out, norm
        self.last = None

    def __call__(self, method, path, body=None, headers=None, raw=None, faults=None):
        if faults is not None:
            with open(os.path.join(self.fake.dir, "faults"), "w") as f:
                f.write(faults)
        h = dict(headers or {})
        data = None
        if raw is not None:
            data = raw.encode()
        elif body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPSConnection("127.0.0.1", self.fake.port, context=self.fake.ctx, timeout=10)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            status, rh, rb = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        except (ConnectionError, http.client.HTTPException) as e:
            status, rh, rb = "dropped (%s)" % type(e).__name__, {}, b""
        finally:
            c.close()
        try:
            answer = json.loads(rb) if rb else None
        except ValueError:
            answer = {"<not json>": rb.decode("utf-8", "replace")}
        self.last = answer
        keep = {k: v for k, v in rh.items() if k in ("content-type", "location", "content-range", "set-cookie")}
        if "x-auth-token" in rh:
            keep["x-auth-token"] = "<present>"
        n = self.norm
        self.out.write("%s %s\n  sent: %s\n  status: %s\n  headers: %s\n  answer: %s\n\n" % (
            method, n.text(path), json.dumps(n.value(body), sort_keys=True) if raw is None else raw,
            status, json.dumps(n.value(keep), sort_keys=True),
            json.dumps(n.value(answer), sort_keys=True)))
        return rh, answer


def ontap(work, outdir):
    svm = "5a1e0001-0000-4000-8000-00000000a001"
    seed = {"svms": [{"name": "svm1", "uuid": svm}, {"name": "svm2"}],
            "luns": [{"name": "/vol/trident_pvc_1/lun0", "size": 8388608, "serial": "SimPvc1Lun00",
                      "uuid": "5a1e0002-0000-4000-8000-00000000b001"},
                     {"name": "/vol/trident_pvc_2/lun0", "size": 1048576,
                      "uuid": "5a1e0002-0000-4000-8000-00000000b002"}],
            "igroups": [{"name": "seeded", "protocol": "iscsi", "initiators": ["iqn.1998-01.com.vmware:seed"]}],
            "lun_maps": [{"lun": "/vol/trident_pvc_2/lun0", "igroup": "seeded"}],
            "fc_node_names": {"21000024ff3ab500": "20000024ff3ab500"}}
    f = Fake(work, "ontap", seed, ["--username", "admin", "--password", "pw"])
    norm = Norm()
    out = open(os.path.join(outdir, "ontap.txt"), "w")
    s = Script(f, out, norm)
    import base64
    A = {"Authorization": "Basic " + base64.b64encode(b"admin:pw").decode()}
    B = {"Authorization": "Basic " + base64.b64encode(b"admin:bad").decode()}
    lun1 = "5a1e0002-0000-4000-8000-00000000b001"
    s("GET", "/api/cluster", headers=B)
    s("GET", "/api/cluster")
    s("GET", "/api/cluster", headers=A)
    s("GET", "/api/cluster?fields=version", headers=A)
    s("GET", "/api/svm/svms?name=*&fields=", headers=A)
    s("GET", "/api/svm/svms?fields=*", headers=A)
    s("GET", "/api/svm/svms/" + svm, headers=A)
    s("GET", "/api/svm/svms/nope", headers=A)
    s("GET", "/api/storage/luns", headers=A)
    s("GET", "/api/storage/luns?svm.uuid=%s&name=/vol/trident_pvc_1/lun0&fields=lun_maps.igroup.name,space.size,"
      "serial_number,status.mapped" % svm, headers=A)
    s("GET", "/api/storage/luns?name=!/vol/trident_pvc_1/*&fields=**", headers=A)
    s("GET", "/api/storage/luns?name=/vol/x|/vol/trident_pvc_2/lun0", headers=A)
    s("GET", "/api/storage/luns/" + lun1, headers=A)
    s("GET", "/api/storage/luns/nope", headers=A)
    s("GET", "/api/storage/luns?max_records=x", headers=A)
    s("POST", "/api/storage/luns", {"name": "/vol/new/lun0", "space": {"size": 4096}, "svm": {"name": "svm1"}},
      headers=A)
    s("POST", "/api/storage/luns?return_records=true", {"name": "/vol/new2/lun0", "space": {"size": 4096},
                                                        "svm": {"name": "svm1"}, "os_type": "linux"}, headers=A)
    new2 = s.last["records"][0]["uuid"]
    s("POST", "/api/storage/luns", {"name": "/vol/new/lun0", "space": {"size": 4096}, "svm": {"name": "svm1"}},
      headers=A)
    s("POST", "/api/storage/luns", {"name": "bad", "space": {"size": 4096}, "svm": {"name": "svm1"}}, headers=A)
    s("POST", "/api/storage/luns", {"name": "/vol/a/b", "svm": {"name": "svm1"}}, headers=A)
    s("POST", "/api/storage/luns", {"name": "/vol/a/b", "space": {"size": 1}}, headers=A)
    s("POST", "/api/storage/luns", {"space": {"size": 1}, "svm": {"name": "svm1"}}, headers=A)
    s("POST", "/api/storage/luns", {"name": "/vol/a/b", "space": {"size": 1}, "svm": {"name": "nosvm"}}, headers=A)
    s("POST", "/api/storage/luns", raw="{not json", headers=A)
    s("DELETE", "/api/storage/luns/" + new2, headers=A)
    s("DELETE", "/api/storage/luns/" + new2, headers=A)
    ig = "/api/protocols/san/igroups"
    body = {"name": "xcopy-1", "protocol": "mixed", "os_type": "vmware", "svm": {"uuid": svm}}
    s("POST", ig + "?return_records=true", body, headers=A)
    igu = s.last["records"][0]["uuid"]
    s("POST", ig + "?return_records=true", body, headers=A)
    s("POST", ig, {"name": "bad name!", "os_type": "vmware", "svm": {"uuid": svm}}, headers=A)
    s("POST", ig, {"name": "p", "protocol": "nvme", "os_type": "vmware", "svm": {"uuid": svm}}, headers=A)
    s("POST", ig, {"name": "p", "svm": {"uuid": svm}}, headers=A)
    s("POST", ig, {"name": "p", "os_type": "vmware"}, headers=A)
    s("POST", ig, {"os_type": "vmware", "svm": {"uuid": svm}}, headers=A)
    s("POST", ig, {"name": "withinit", "protocol": "fcp", "os_type": "vmware", "svm": {"name": "svm1"},
                   "initiators": [{"name": "21:00:00:24:FF:3A:B5:00"}]}, headers=A)
    s("POST", ig, {"name": "withinit2", "protocol": "fcp", "os_type": "vmware", "svm": {"name": "svm1"},
                   "initiators": [{"name": "iqn.1998-01.com.vmware:x"}]}, headers=A)
    s("GET", ig + "/" + igu, headers=A)
    s("GET", ig + "/" + igu + "?fields=initiators", headers=A)
    s("GET", ig + "/nope", headers=A)
    s("POST", ig + "/" + igu + "/initiators", {"name": "iqn.1998-01.com.vmware:esx-0"}, headers=A)
    s("POST", ig + "/" + igu + "/initiators", {"name": "iqn.1998-01.com.vmware:esx-0"}, headers=A)
    s("POST", ig + "/" + igu + "/initiators?return_records=true",
      {"records": [{"name": "21:00:00:24:FF:3A:B5:00"}, {"name": "eui.0123"}]}, headers=A)
    s("POST", ig + "/" + igu + "/initiators", {"name": "not-an-initiator"}, headers=A)
    s("POST", ig + "/" + igu + "/initiators", {}, headers=A)
    s("GET", ig + "/" + igu + "/initiators", headers=A)
    s("DELETE", ig + "/" + igu + "/initiators/eui.0123", headers=A)
    s("DELETE", ig + "/" + igu + "/initiators/eui.0123", headers=A)
    s("GET", ig + "?svm.uuid=%s&name=xcopy-1&fields=initiators.name" % svm, headers=A)
    s("GET", ig + "?fields=&max_records=1", headers=A)
    nxt = s.last["_links"]["next"]["href"]
    s("GET", nxt, headers=A)
    nxt = s.last["_links"].get("next", {}).get("href")
    if nxt:
        s("GET", nxt, headers=A)
    lm = "/api/protocols/san/lun-maps"
    s("POST", lm + "?return_records=true", {"igroup": {"name": "xcopy-1"}, "lun": {"name": "/vol/trident_pvc_1/lun0",
                                            "uuid": lun1}, "svm": {"uuid": svm}}, headers=A)
    s("POST", lm, {"igroup": {"name": "xcopy-1"}, "lun": {"name": "/vol/trident_pvc_1/lun0"},
                   "svm": {"uuid": svm}}, headers=A)
    s("POST", lm, {"igroup": {"name": "nope"}, "lun": {"name": "/vol/trident_pvc_1/lun0"}}, headers=A)
    s("POST", lm, {"igroup": {"name": "xcopy-1"}, "lun": {"name": "/vol/none/lun0"}}, headers=A)
    s("POST", lm, {"igroup": {"name": "xcopy-1"}}, headers=A)
    s("POST", lm, {"lun": {"name": "/vol/none/lun0"}}, headers=A)
    s("POST", lm, {"igroup": {"name": "seeded"}, "lun": {"name": "/vol/new/lun0"}, "logical_unit_number": 0},
      headers=A)
    s("POST", lm, {"igroup": {"name": "seeded"}, "lun": {"name": "/vol/new/lun0"}, "logical_unit_number": 7},
      headers=A)
    s("GET", lm + "?lun.name=/vol/trident*", headers=A)  # not /vol/new: its random UUID orders the list
    s("GET", lm + "?lun.name=/vol/trident_pvc_1/lun0&igroup.name=xcopy-1&fields=svm,lun,igroup,"
      "logical_unit_number", headers=A)
    s("GET", lm + "?lun.name=/vol/trident_pvc_1/lun0&igroup.name=*&fields=", headers=A)
    s("GET", lm + "/%s/%s" % (lun1, igu), headers=A)
    s("GET", lm + "/%s/nope" % lun1, headers=A)
    s("GET", "/api/storage/luns?fields=lun_maps,status", headers=A)
    s("DELETE", "/api/storage/luns/" + lun1, headers=A)
    s("DELETE", ig + "/" + igu, headers=A)
    s("DELETE", lm + "/%s/%s" % (lun1, igu), headers=A)
    s("DELETE", lm + "/%s/%s" % (lun1, igu), headers=A)
    s("GET", "/api/network/ip/interfaces?fields=ip.address,svm.name", headers=A)
    s("GET", "/api/network/ip/interfaces?services=data_iscsi", headers=A)
    s("GET", "/api/nothing", headers=A)
    s("PATCH", "/api/cluster", {"x": 1}, headers=A)
    s("PUT", "/api/storage/luns", {"x": 1}, headers=A)
    s("GET", "/api/cluster/", headers=A)
    s("GET", "/api/cluster", headers=A, faults="cluster_get http 503 once\n")
    s("GET", "/api/cluster", headers=A, faults='* http 500 {"error":{"message":"custom","code":"13"}} once\n')
    s("GET", "/api/cluster", headers=A, faults="cluster_get drop once\n")
    s("GET", "/api/svm/svms", headers=A, faults="svm_list malformed once\n")
    s("GET", "/api/cluster", headers=A, faults="* expire once\n")
    s("GET", "/api/cluster", headers=A, faults="")
    s("POST", lm, {"igroup": {"name": "xcopy-1"}, "lun": {"name": "/vol/trident_pvc_1/lun0"}}, headers=A,
      faults="lun_map_create drop-after once\n")
    s("DELETE", ig + "/" + igu, headers=A, faults="")
    s("DELETE", ig + "/" + igu + "?allow_delete_while_mapped=true", headers=A)
    s("GET", ig, headers=A)
    f.stop()
    return f, norm


def pure(work, outdir):
    seed = {"array": {"name": "sim-fa", "id": "7a3c0000-0000-4000-8000-000000000001"},
            "volumes": [{"name": "vvol-src-1", "size": 4194304, "serial": "0123456789ABCDEF01234567",
                         "id": "7a3c2e10-5d1b-4f0e-9c61-0d5e2a9b1f02",
                         "tags": [{"namespace": "vasa-integration.purestorage.com", "key": "PURE_VVOL_ID",
                                   "value": "rfc4122.1111"}, {"key": "plain", "value": "v"}]},
                        {"name": "px_1a2b3c4d-pvc-1", "size": 1048576, "id": "7a3c2e10-5d1b-4f0e-9c61-0d5e2a9b1f01"}],
            "hosts": [{"name": "esx01", "iqns": ["iqn.1998-01.com.vmware:esx-0"], "wwns": ["21:00:00:24:FF:3A:B5:00"],
                       "personality": "esxi"}, {"name": "empty"}],
            "connections": [{"host": "empty", "volume": "vvol-src-1", "lun": 3}],
            "fc_node_names": {"21000024ff3ab500": "20000024ff3ab500"}}
    f = Fake(work, "pure", seed, ["--username", "pureuser", "--password", "pw", "--api-token", "tok-1"])
    norm = Norm()
    out = open(os.path.join(outdir, "pure.txt"), "w")
    s = Script(f, out, norm)
    V = "px_1a2b3c4d-pvc-1"
    s("GET", "/api/api_version")
    s("POST", "/api/1.19/auth/apitoken", {"username": "pureuser", "password": "pw"})
    s("POST", "/api/1.19/auth/apitoken", {"username": "pureuser", "password": "bad"})
    s("POST", "/api/2.56/login", headers={"api-token": "wrong"})
    s("POST", "/api/2.56/login", {"username": "pureuser", "password": "bad"})
    s("POST", "/api/2.56/login", {"username": "pureuser", "password": "pw"})
    rh, _ = s("POST", "/api/2.56/login", headers={"api-token": "tok-1"})
    A = {"x-auth-token": rh["x-auth-token"]}
    s("GET", "/api/2.56/hosts")
    s("GET", "/api/2.56/hosts", headers={"x-auth-token": "nope"})
    s("GET", "/api/2.56/hosts", headers=A)
    s("GET", "/api/2.56/hosts?filter=is_local", headers=A)
    s("GET", "/api/2.56/hosts?filter=iqns%3D%27iqn.1998-01.com.vmware%3Aesx-0%27", headers=A)
    s("GET", "/api/2.56/hosts?filter=not(name%3D%27e*%27)", headers=A)
    s("GET", "/api/2.56/hosts?filter=name%3D", headers=A)
    s("GET", "/api/2.56/hosts?names=esx01,empty", headers=A)
    s("GET", "/api/2.56/hosts?names=nope", headers=A)
    s("GET", "/api/2.56/hosts?limit=1", headers=A)
    s("GET", "/api/2.56/hosts?limit=1&continuation_token=1", headers=A)
    s("GET", "/api/2.56/hosts?limit=x", headers=A)
    s("POST", "/api/2.56/hosts?names=esx02", {"iqns": ["iqn.1998-01.com.vmware:esx-1"], "personality": "esxi"},
      headers=A)
    s("POST", "/api/2.56/hosts?names=esx02", {"iqns": []}, headers=A)
    s("POST", "/api/2.56/hosts?names=bad%20name", {}, headers=A)
    s("POST", "/api/2.56/hosts?names=esx03", {"iqns": ["iqn.1998-01.com.vmware:esx-1"]}, headers=A)
    s("POST", "/api/2.56/hosts?names=esx03", {"iqns": ["bad"]}, headers=A)
    s("POST", "/api/2.56/hosts?names=esx03", {"wwns": ["zz"]}, headers=A)
    s("POST", "/api/2.56/hosts", {"names": ["esx04"], "wwns": ["21:00:00:24:ff:3a:b5:10"]}, headers=A)
    s("POST", "/api/2.56/hosts", {}, headers=A)
    s("PATCH", "/api/2.56/hosts?names=esx02", {"add_wwns": ["21:00:00:24:ff:3a:b5:11"]}, headers=A)
    s("PATCH", "/api/2.56/hosts?names=esx02", {"remove_iqns": ["iqn.1998-01.com.vmware:esx-1"],
                                                "add_iqns": ["iqn.1998-01.com.vmware:esx-2"]}, headers=A)
    s("PATCH", "/api/2.56/hosts?names=esx04", {"name": "esx04b", "personality": "esxi"}, headers=A)
    s("PATCH", "/api/2.56/hosts?names=nope", {}, headers=A)
    s("PATCH", "/api/2.56/hosts?names=esx02", {"name": "esx01"}, headers=A)
    s("DELETE", "/api/2.56/hosts?names=esx04b", headers=A)
    s("DELETE", "/api/2.56/hosts?names=empty", headers=A)
    s("DELETE", "/api/2.56/hosts?names=nope", headers=A)
    s("GET", "/api/2.56/volumes", headers=A)
    s("GET", "/api/2.56/volumes?names=" + V, headers=A)
    s("GET", "/api/2.56/volumes?ids=7a3c2e10-5d1b-4f0e-9c61-0d5e2a9b1f02", headers=A)
    s("GET", "/api/2.56/volumes?ids=x&names=y", headers=A)
    s("GET", "/api/2.56/volumes?ids=no-such-id", headers=A)
    s("GET", "/api/2.56/volumes?filter=serial%3D%270123456789ABCDEF01234567%27", headers=A)
    s("GET", "/api/2.56/volumes?destroyed=false&filter=provisioned%3E2000000", headers=A)
    s("GET", "/api/2.56/volumes/tags?resource_destroyed=false&namespaces=vasa-integration.purestorage.com"
      "&filter=key%3D%27PURE_VVOL_ID%27%20AND%20value%3D%27rfc4122.1111%27", headers=A)
    s("GET", "/api/2.56/volumes/tags", headers=A)
    s("GET", "/api/2.56/volumes/tags?resource_names=" + V, headers=A)
    s("POST", "/api/2.56/volumes?names=newvol", {"provisioned": 2097152}, headers=A)
    s("POST", "/api/2.56/volumes?names=newvol", {"provisioned": 2097152}, headers=A)
    s("POST", "/api/2.56/volumes?names=odd", {"provisioned": 1000}, headers=A)
    s("POST", "/api/2.56/volumes?names=bad%20name", {"provisioned": 1024}, headers=A)
    s("POST", "/api/2.56/volumes", {"names": "tagged", "provisioned": 1024,
                                    "tags": [{"namespace": "n", "key": "k", "value": "v"}]}, headers=A)
    s("POST", "/api/2.56/volumes?names=" + V, {"source": {"name": "vvol-src-1"}}, headers=A)
    s("POST", "/api/2.56/volumes?names=%s&overwrite=true" % V, {"source": {"name": "vvol-src-1"}}, headers=A)
    s("POST", "/api/2.56/volumes?names=copy2", {"source": {"id": "7a3c2e10-5d1b-4f0e-9c61-0d5e2a9b1f02"}},
      headers=A)
    s("POST", "/api/2.56/volumes?names=copy3", {"source": {"name": "nope"}}, headers=A)
    s("POST", "/api/2.56/volumes?names=copy3&overwrite=true", {"source": {"name": "copy3"}}, headers=A)
    s("POST", "/api/2.56/volumes?names=copy2&overwrite=true", {"source": {"name": "copy2"}}, headers=A)
    s("POST", "/api/2.56/volumes?names=copy4", {"source": {}}, headers=A)
    s("PATCH", "/api/2.56/volumes?names=newvol", {"provisioned": 4194304}, headers=A)
    s("PATCH", "/api/2.56/volumes?names=newvol", {"provisioned": -1}, headers=A)
    s("PATCH", "/api/2.56/volumes?names=newvol", {"name": "renamed"}, headers=A)
    s("PATCH", "/api/2.56/volumes?names=nope", {}, headers=A)
    s("DELETE", "/api/2.56/volumes?names=newvol", headers=A)
    s("PATCH", "/api/2.56/volumes?names=newvol", {"destroyed": True}, headers=A)
    s("GET", "/api/2.56/volumes?destroyed=true", headers=A)
    s("DELETE", "/api/2.56/volumes?names=newvol", headers=A)
    s("DELETE", "/api/2.56/volumes?names=newvol", headers=A)
    s("DELETE", "/api/2.56/volumes", headers=A)
    s("POST", "/api/2.56/connections", {"host_names": "esx01", "volume_names": V}, headers=A)
    s("POST", "/api/2.56/connections?host_names=esx01&volume_names=" + V, headers=A)
    s("POST", "/api/2.56/connections?host_names=esx02&volume_names=" + V, {"lun": 9}, headers=A)
    s("POST", "/api/2.56/connections?host_names=esx02&volume_names=copy2", {"lun": 9}, headers=A)
    s("POST", "/api/2.56/connections?host_names=esx02&volume_names=copy2", {"lun": 0}, headers=A)
    s("POST", "/api/2.56/connections?host_names=nope&volume_names=copy2", headers=A)
    s("POST", "/api/2.56/connections?host_names=esx02&volume_names=nope", headers=A)
    s("POST", "/api/2.56/connections?host_names=esx02", headers=A)
    s("POST", "/api/2.56/connections?host_names=esx02&volume_ids=7a3c2e10-5d1b-4f0e-9c61-0d5e2a9b1f02", headers=A)
    s("GET", "/api/2.56/connections", headers=A)
    s("GET", "/api/2.56/connections?volume_names=" + V, headers=A)
    s("GET", "/api/2.56/connections?host_names=nope", headers=A)
    s("PATCH", "/api/2.56/volumes?names=" + V, {"destroyed": True}, headers=A)
    s("DELETE", "/api/2.56/hosts?names=esx01", headers=A)
    s("DELETE", "/api/2.56/connections?host_names=esx01&volume_names=" + V, headers=A)
    s("DELETE", "/api/2.56/connections?host_names=esx01&volume_names=" + V, headers=A)
    s("DELETE", "/api/2.56/connections?host_names=esx02&volume_names=" + V, headers=A)
    s("DELETE", "/api/2.56/connections?host_names=nope&volume_names=" + V, headers=A)
    s("GET", "/api/2.56/arrays", headers=A)
    s("GET", "/api/2.56/controllers", headers=A)
    s("GET", "/api/2.56/controllers?names=CT1", headers=A)
    s("GET", "/api/2.99/arrays", headers=A)
    s("GET", "/api/1.19/arrays", headers=A)
    s("GET", "/api/2.56/nothing", headers=A)
    s("GET", "/api/2.56/arrays/", headers=A)
    s("PUT", "/api/2.56/arrays", {}, headers=A)
    s("POST", "/api/2.56/volumes?names=j", raw="{bad", headers=A)
    s("GET", "/api/2.56/hosts", headers=A, faults="hosts_get expire once\n")
    s("GET", "/api/2.56/volumes", headers=A, faults="")
    rh, _ = s("POST", "/api/2.56/login", headers={"api-token": "tok-1"})
    A = {"x-auth-token": rh["x-auth-token"]}
    s("POST", "/api/2.56/connections?host_names=esx01&volume_names=" + V, headers=A,
      faults="connections_post http 500 once\n")
    s("POST", "/api/2.56/login", headers={"api-token": "tok-1"}, faults="login drop once\n")
    s("GET", "/api/2.56/arrays", headers=A, faults="arrays_get malformed once\n")
    s("GET", "/api/2.56/arrays", headers=A, faults="* http 418 {\"x\":1}\n")
    s("POST", "/api/2.56/logout", headers=A, faults="")
    s("GET", "/api/2.56/arrays", headers=A)
    f.stop()
    return f, norm


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: transcript.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="transcript.")
    try:
        certs(work)
        os.makedirs(os.path.join(work, "fabric", "luns"))
        os.makedirs(os.path.join(work, "root"))
        fab = open(os.path.join(outdir, "fabric.txt"), "w")
        for vendor, fn in (("ontap", ontap), ("pure", pure)):
            f, norm = fn(work, outdir)
            for name in ("calls.jsonl", "state.json"):
                p = os.path.join(f.dir, name)
                with open(p) as fh:
                    text = fh.read()
                if name == "calls.jsonl":
                    recs = [norm.value(json.loads(l)) for l in text.splitlines() if l.strip()]
                    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in recs)
                else:
                    text = json.dumps(norm.value(json.loads(text)), indent=1, sort_keys=True) + "\n"
                with open(os.path.join(outdir, "%s-%s" % (vendor, name)), "w") as fh:
                    fh.write(text)
            fab.write("# after %s\n" % vendor)
            luns = os.path.join(work, "fabric", "luns")
            for n in sorted(os.listdir(luns)):
                with open(os.path.join(luns, n)) as fh:
                    fab.write("%s %s" % (n, norm.text(fh.read())))
            files = []
            for dp, _, fs in os.walk(os.path.join(work, "root")):
                for n in fs:
                    p = os.path.join(dp, n)
                    files.append("%s %d" % (os.path.relpath(p, work), os.path.getsize(p)))
            fab.write("".join("file %s\n" % x for x in sorted(files)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
