#!/usr/bin/env python3
"""A logging TCP proxy in front of a registry, for the image tests.

One request per upstream connection (it adds `Connection: close`), so every request it sees
is logged as one JSON line: method, path, the request headers as forwarded, the status and
the response headers. Options break transfers on purpose:

  --cut-after N    the first GET of a blob whose body is larger than 2*N bytes is cut after
                   N body bytes (the connection closes), once per blob
  --strip-range    the Range header is removed before forwarding (a server that ignores it)
  --throttle B     responses go out at about B bytes a second (to watch progress bars)
  --delay PATH_PART  the first request whose path holds PATH_PART waits 4 s before it is
                   forwarded (once)
  --cut-upload-after N  the first PATCH is cut after N bytes of its body (once): both
                   connections close, nothing is answered

usage: proxy.py UPSTREAM_PORT LOG PORT_FILE [--cut-after N] [--strip-range] [--throttle B]
"""
import argparse
import json
import os
import socket
import threading
import time

lock = threading.Lock()
cut_done = set()


def read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None, buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def parse_headers(lines):
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return headers


def pump(src, dst, throttle=0):
    try:
        while True:
            data = src.recv(16384 if throttle else 65536)
            if not data:
                break
            dst.sendall(data)
            if throttle:
                time.sleep(len(data) / throttle)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def handle(client, args):
    upstream = None
    try:
        first = client.recv(1)
        if not first or first == b"\x16":
            return  # a TLS handshake (husk probes https first): plain HTTP only here
        head, rest = read_head(client, first)
        if head is None:
            return
        lines = head.split("\r\n")
        method, path, version = lines[0].split(" ", 2)
        headers = parse_headers(lines[1:])
        record = {"method": method, "path": path,
                  "headers": {k.lower(): v for k, v in headers}}
        forwarded = [(k, v) for k, v in headers if k.lower() != "connection"
                     and not (args.strip_range and k.lower() == "range")]
        forwarded.append(("Connection", "close"))
        out = "\r\n".join([lines[0]] + [f"{k}: {v}" for k, v in forwarded]) + "\r\n\r\n"
        if args.delay and args.delay in path:
            with lock:
                wait = ("delay", args.delay) not in cut_done
                cut_done.add(("delay", args.delay))
            if wait:
                time.sleep(4)
        upstream = socket.create_connection(("127.0.0.1", args.upstream))
        cut_upload = False
        if args.cut_upload_after and method == "PATCH":
            with lock:
                if "PATCH" not in cut_done:
                    cut_done.add("PATCH")
                    cut_upload = True
        if cut_upload:
            body = rest
            while len(body) < args.cut_upload_after:
                data = client.recv(65536)
                if not data:
                    break
                body += data
            upstream.sendall(out.encode("latin-1") + body[:args.cut_upload_after])
            record["cut"] = True
            record["status"] = None
            with lock, open(args.log, "a") as log:
                log.write(json.dumps(record) + "\n")
            client.shutdown(socket.SHUT_RDWR)
            upstream.shutdown(socket.SHUT_RDWR)
            return
        upstream.sendall(out.encode("latin-1") + rest)
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()

        rhead, body = read_head(upstream, b"")
        if rhead is None:
            return
        rlines = rhead.split("\r\n")
        record["status"] = int(rlines[0].split(" ")[1])
        rheaders = {k.lower(): v for k, v in parse_headers(rlines[1:])}
        record["response"] = rheaders
        length = int(rheaders.get("content-length", "0") or 0)
        cut = False
        if (args.cut_after and method == "GET" and "/blobs/sha256:" in path
                and length > 2 * args.cut_after):
            with lock:
                if path not in cut_done:
                    cut_done.add(path)
                    cut = True
        record["cut"] = cut
        with lock, open(args.log, "a") as log:
            log.write(json.dumps(record) + "\n")
        client.sendall(rhead.encode("latin-1") + b"\r\n\r\n")
        if cut:
            sent = 0
            while sent < args.cut_after:
                if not body:
                    body = upstream.recv(65536)
                    if not body:
                        break
                n = min(len(body), args.cut_after - sent)
                client.sendall(body[:n])
                body = body[n:]
                sent += n
            client.shutdown(socket.SHUT_RDWR)
            return
        if body:
            client.sendall(body)
        pump(upstream, client, args.throttle)
    except OSError:
        pass
    finally:
        client.close()
        if upstream is not None:
            upstream.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("upstream", type=int)
    p.add_argument("log")
    p.add_argument("port_file")
    p.add_argument("--cut-after", type=int, default=0)
    p.add_argument("--strip-range", action="store_true")
    p.add_argument("--throttle", type=int, default=0)
    p.add_argument("--cut-upload-after", type=int, default=0)
    p.add_argument("--delay", default="")
    args = p.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, args), daemon=True).start()


if __name__ == "__main__":
    main()
