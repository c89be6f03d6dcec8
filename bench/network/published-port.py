#!/usr/bin/env python3
"""Host -> published port: connect latency and TCP throughput, husk vs podman, alternated.

Each side runs the same Python server inside its container's network namespace (nsenter):
port 80 answers one byte per connection (latency), port 81 swallows a stream (throughput).
Prints medians per side and husk/podman ratios. Root only; names hkb* / 10.213.95-96.x.
usage: bench/network/published-port.py HUSK_BINARY BUSYBOX_ROOTFS [ROUNDS]
"""
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, time

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
        c.close()
threading.Thread(target=sink, daemon=True).start()
lat()
'''

def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout

def measure(port_lat, port_tp, connects=200, megabytes=256):
    times = []
    for _ in range(connects):
        t = time.perf_counter()
        c = socket.create_connection(("127.0.0.1", port_lat))
        c.recv(1); c.close()
        times.append((time.perf_counter() - t) * 1e6)
    buf = b"\0" * (1 << 20)
    c = socket.create_connection(("127.0.0.1", port_tp))
    t = time.perf_counter()
    for _ in range(megabytes):
        c.sendall(buf)
    c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
    mbps = megabytes * 8 / (time.perf_counter() - t)
    return statistics.median(times), mbps

def main():
    husk, rootfs = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    w = tempfile.mkdtemp(prefix="hkb.")
    procs, res = [], {"husk": [], "podman": []}
    H = [husk, "--root", w + "/husk", "--runroot", w + "/run"]
    conf = w + "/containers.conf"
    open(conf, "w").write('[containers]\ndefault_ulimits = ["nofile=20000:20000", '
                          '"nproc=32768:32768"]\n[network]\nnetwork_config_dir = "%s/net"\n' % w)
    env = dict(os.environ, CONTAINERS_CONF=conf)
    P = ["podman", "--root", w + "/proot", "--runroot", w + "/prun",
         "--cgroup-manager", "cgroupfs", "--runtime", "runc"]
    try:
        # husk: a plain namespace attached to a husk network.
        sh("ip", "netns", "add", "hkb-husk")
        sh(*H, "network", "create", "--subnet", "10.213.95.0/24", "hkbnet")
        sh(*H, "network", "attach", "hkbnet", "--id", "hkb", "--netns", "/run/netns/hkb-husk",
           "-p", "127.0.0.1:18400:80", "-p", "127.0.0.1:18401:81")
        procs.append(subprocess.Popen(["ip", "netns", "exec", "hkb-husk", "python3", "-c", SERVER]))
        # podman: its bridge (CNI here), the same server in the container's namespace.
        shutil.copytree(rootfs, w + "/rootfs", symlinks=True)
        sh(*P, "network", "create", "--subnet", "10.213.96.0/24", "hkbnet", env=env)
        sh(*P, "run", "-d", "--name", "hkb-pod", "--network", "hkbnet", "-p",
           "127.0.0.1:18410:80", "-p", "127.0.0.1:18411:81", "--rootfs", w + "/rootfs",
           "/bin/sleep", "1000", env=env)
        pid = sh(*P, "inspect", "hkb-pod", "--format", "{{.State.Pid}}", env=env).strip()
        procs.append(subprocess.Popen(["nsenter", "-t", pid, "-n", "python3", "-c", SERVER]))
        time.sleep(1.5)
        for _ in range(rounds):
            res["husk"].append(measure(18400, 18401))
            res["podman"].append(measure(18410, 18411))
        out = {}
        for k, v in res.items():
            out[k] = (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
            print(f"{k:7} connect+1 byte median {out[k][0]:8.1f} us   throughput {out[k][1]:8.0f} Mbit/s")
        print(f"ratio husk/podman: latency {out['husk'][0] / out['podman'][0]:.2f}, "
              f"throughput {out['husk'][1] / out['podman'][1]:.2f}  ({rounds} alternated rounds)")
    finally:
        for p in procs:
            p.kill(); p.wait()
        subprocess.run([*P, "rm", "-f", "-t", "0", "hkb-pod"], env=env, capture_output=True)
        subprocess.run([*P, "network", "rm", "-f", "hkbnet"], env=env, capture_output=True)
        subprocess.run([*H, "network", "detach", "--id", "hkb"], capture_output=True)
        subprocess.run([*H, "network", "rm", "hkbnet"], capture_output=True)
        subprocess.run(["ip", "netns", "del", "hkb-husk"], capture_output=True)
        subprocess.run(["umount", "-R", w + "/proot/overlay"], capture_output=True)
        shutil.rmtree(w, ignore_errors=True)

main()
