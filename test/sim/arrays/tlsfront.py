#!/usr/bin/env python3
"""TLS front for the simulated world: accepts HTTPS on 127.0.0.1 with our
test CA's server certificate and passes the decrypted bytes to a plain-HTTP
upstream on 127.0.0.1 (Prism, which serves plain HTTP only).  This lets the
populator talk HTTPS with TLS verification on, as it does to a real array:

    client --HTTPS--> tlsfront --HTTP--> prism proxy --HTTPS--> pure.py

Usage: tlsfront.py --cert C --key K --upstream PORT [--port 0] [--ready FILE]
Standard library only.
"""

import argparse
import select
import socket
import ssl
import sys
import threading

sys.dont_write_bytecode = True  # keep the source tree clean
import common  # noqa: E402


def pipe(client, upstream_port):
    try:
        client.do_handshake()
    except (ssl.SSLError, OSError):
        client.close()
        return
    try:
        up = socket.create_connection(("127.0.0.1", upstream_port), timeout=10)
    except OSError as e:
        sys.stderr.write("tlsfront: upstream 127.0.0.1:%d: %s\n" % (upstream_port, e))
        client.close()
        return
    up.settimeout(None)
    client.settimeout(None)
    # Bytes are passed on as they come, so no Nagle wait on either side.
    for s in (client, up):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    socks = [client, up]
    try:
        while True:
            # Data already decrypted inside the TLS object is not visible to
            # select(); drain it first.
            ready = [client] if client.pending() else []
            if not ready:
                ready, _, _ = select.select(socks, [], [], 300)
                if not ready:
                    break
            done = False
            for s in ready:
                other = up if s is client else client
                try:
                    data = s.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                except (ssl.SSLError, OSError):
                    done = True
                    break
                if not data:
                    done = True
                    break
                other.sendall(data)
            if done:
                break
    except OSError:
        pass
    finally:
        for s in socks:
            try:
                s.close()
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--upstream", type=int, required=True, help="plain-HTTP port on 127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready")
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(a.cert, a.key)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(64)
    port = ls.getsockname()[1]
    if a.ready:
        common.write_atomic(a.ready, "PORT=%d\n" % port)
    sys.stderr.write("tlsfront: https://127.0.0.1:%d -> http://127.0.0.1:%d\n" % (port, a.upstream))
    sys.stderr.flush()
    while True:
        try:
            c, _ = ls.accept()
        except KeyboardInterrupt:
            break
        except OSError:
            continue
        c.settimeout(30)
        tc = ctx.wrap_socket(c, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=pipe, args=(tc, a.upstream), daemon=True).start()


if __name__ == "__main__":
    main()
