#!/usr/bin/env python3
# A --console-socket listener (what containerd's shim or podman's conmon are): receives the
# pty master, optionally types INPUT into it, and writes the pty's name and everything the
# container printed to OUT.  Usage: console-receiver.py SOCKET OUT [INPUT]
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
typed = sys.argv[3].encode() if len(sys.argv) > 3 else b""
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
server.settimeout(30)
conn, _ = server.accept()
name, fds, _, _ = socket.recv_fds(conn, 1024, 1)
master = fds[0]
if typed:
    os.write(master, typed)
data = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:  # EIO: every slave fd closed (the process exited)
        break
    if not chunk:
        break
    data += chunk
with open(out, "wb") as f:
    f.write(name + b"\n" + data)
