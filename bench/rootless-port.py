#!/usr/bin/env python3
"""Published-port path, host -> container: connect+1 byte latency and TCP throughput for the
ports of already running containers (rootful bridge, rootless pasta, rootless slirp4netns),
measured in alternated rounds. The same Python server runs in each container's network
namespace (nsenter -n, as root). Called by bench/rootless --ports.
usage: rootless-port.py NAME:PID:LAT_PORT:TP_PORT ... [--rounds N]
"""
import socket, statistics, subprocess, sys, time

SERVER = r'''
import socket, threading
def lat():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 80)); s.listen(512)
    while True:
        c, _ = s.accept(); c.sendall(b"x"); c.close()
def sink():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 81)); s.listen(8)
    while True:
        c, _ = s.accept()
        while c.recv(1 << 20): pass
        c.sendall(b"k"); c.close()
threading.Thread(target=sink, daemon=True).start()
lat()
'''


def measure(lat_port, tp_port, connects=100, megabytes=128):
    times = []
    for _ in range(connects):
        t = time.perf_counter()
        c = socket.create_connection(("127.0.0.1", lat_port), timeout=10)
        c.recv(1)
        c.close()
        times.append((time.perf_counter() - t) * 1e6)
    buf = b"\0" * (1 << 20)
    c = socket.create_connection(("127.0.0.1", tp_port), timeout=30)
    t = time.perf_counter()
    for _ in range(megabytes):
        c.sendall(buf)
    c.shutdown(socket.SHUT_WR)
    c.recv(1)  # the server has read everything
    c.close()
    return statistics.median(times), megabytes * 8 / (time.perf_counter() - t)


def main():
    args = sys.argv[1:]
    rounds = 3
    if "--rounds" in args:
        i = args.index("--rounds")
        rounds = int(args[i + 1])
        del args[i:i + 2]
    sides = [a.split(":") for a in args]
    procs = []
    try:
        for _, pid, _, _ in sides:
            procs.append(subprocess.Popen(["nsenter", "-t", pid, "-n", "python3", "-c", SERVER]))
        time.sleep(1.5)
        res = {name: [] for name, *_ in sides}
        for r in range(rounds):
            order = sides if r % 2 == 0 else list(reversed(sides))
            for name, _, lat, tp in order:
                res[name].append(measure(int(lat), int(tp)))
        base = None
        for name, *_ in sides:
            lat = statistics.median(x[0] for x in res[name])
            tp = statistics.median(x[1] for x in res[name])
            base = base or (lat, tp)
            print(f"  {name:22} connect+1 byte {lat:8.1f} us   throughput {tp:7.0f} Mbit/s"
                  f"   (vs first: latency x{lat / base[0]:.2f}, throughput x{tp / base[1]:.2f})")
    finally:
        for p in procs:
            p.kill()
            p.wait()


main()
