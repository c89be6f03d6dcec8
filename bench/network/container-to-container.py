#!/usr/bin/env python3
"""Container -> container on one network: connect latency and TCP throughput, husk vs podman.

Two network namespaces attached to one husk network, and two podman containers on one
podman bridge network; the same Python server in one and the same client in the other
(nsenter into each container's namespace), rounds alternated between the two engines.
Prints medians per side and husk/podman ratios. Root only; names hkc* / 10.213.97-98.x.
usage: bench/network/container-to-container.py HUSK_BINARY BUSYBOX_ROOTFS [ROUNDS]
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

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

CLIENT = r'''
import json, socket, statistics, sys, time
ip = sys.argv[1]
times = []
for _ in range(200):
    t = time.perf_counter()
    c = socket.create_connection((ip, 80)); c.recv(1); c.close()
    times.append((time.perf_counter() - t) * 1e6)
buf = b"\0" * (1 << 20)
c = socket.create_connection((ip, 81))
t = time.perf_counter()
for _ in range(256):
    c.sendall(buf)
c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
print(json.dumps([statistics.median(times), 256 * 8 / (time.perf_counter() - t)]))
'''


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def main():
    husk, rootfs = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    w = tempfile.mkdtemp(prefix="hkc.")
    procs, res = [], {"husk": [], "podman": []}
    H = [husk, "--root", w + "/husk", "--runroot", w + "/run"]
    conf = w + "/containers.conf"
    open(conf, "w").write('[containers]\ndefault_ulimits = ["nofile=20000:20000", '
                          '"nproc=32768:32768"]\n[network]\nnetwork_config_dir = "%s/net"\n' % w)
    env = dict(os.environ, CONTAINERS_CONF=conf)
    P = ["podman", "--root", w + "/proot", "--runroot", w + "/prun",
         "--cgroup-manager", "cgroupfs", "--runtime", "runc"]
    try:
        sh(*H, "network", "create", "--subnet", "10.213.97.0/24", "hkcnet")
        husk_ip = {}
        for name in ("srv", "cli"):
            sh("ip", "netns", "add", "hkc-" + name)
            a = json.loads(sh(*H, "network", "attach", "hkcnet", "--id", "hkc" + name,
                              "--netns", "/run/netns/hkc-" + name))
            husk_ip[name] = a["ip"]
        procs.append(subprocess.Popen(["ip", "netns", "exec", "hkc-srv", "python3", "-c", SERVER]))
        shutil.copytree(rootfs, w + "/rootfs", symlinks=True)
        sh(*P, "network", "create", "--subnet", "10.213.98.0/24", "hkcnet", env=env)
        pids = {}
        for name in ("srv", "cli"):
            sh(*P, "run", "-d", "--name", "hkc-" + name, "--network", "hkcnet", "--rootfs",
               w + "/rootfs", "/bin/sleep", "1000", env=env)
            pids[name] = sh(*P, "inspect", "hkc-" + name, "--format", "{{.State.Pid}}",
                            env=env).strip()
        pod_ip = sh(*P, "inspect", "hkc-srv", "--format",
                    '{{(index .NetworkSettings.Networks "hkcnet").IPAddress}}', env=env).strip()
        procs.append(subprocess.Popen(["nsenter", "-t", pids["srv"], "-n", "python3", "-c",
                                       SERVER]))
        time.sleep(1.5)
        # Same MTU on both sides, or the comparison says nothing.
        for label, cmd in (("husk", ["ip", "netns", "exec", "hkc-srv"]),
                           ("podman", ["nsenter", "-t", pids["srv"], "-n"])):
            mtu = sh(*cmd, "ip", "-o", "link", "show", "eth0").split(" mtu ")[1].split()[0]
            print(f"{label:7} eth0 mtu {mtu}")
        for _ in range(rounds):
            res["husk"].append(json.loads(sh("ip", "netns", "exec", "hkc-cli", "python3", "-c",
                                             CLIENT, husk_ip["srv"])))
            res["podman"].append(json.loads(sh("nsenter", "-t", pids["cli"], "-n", "python3",
                                               "-c", CLIENT, pod_ip)))
        out = {}
        for k, v in res.items():
            out[k] = (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v))
            print(f"{k:7} connect+1 byte median {out[k][0]:8.1f} us   throughput "
                  f"{out[k][1]:8.0f} Mbit/s")
        print(f"ratio husk/podman: latency {out['husk'][0] / out['podman'][0]:.2f}, "
              f"throughput {out['husk'][1] / out['podman'][1]:.2f}  ({rounds} alternated rounds)")
    finally:
        for p in procs:
            p.kill(); p.wait()
        for name in ("srv", "cli"):
            subprocess.run([*P, "rm", "-f", "-t", "0", "hkc-" + name], env=env,
                           capture_output=True)
        subprocess.run([*P, "network", "rm", "-f", "hkcnet"], env=env, capture_output=True)
        for name in ("srv", "cli"):
            subprocess.run([*H, "network", "detach", "--id", "hkc" + name], capture_output=True)
            subprocess.run(["ip", "netns", "del", "hkc-" + name], capture_output=True)
        subprocess.run([*H, "network", "rm", "hkcnet"], capture_output=True)
        subprocess.run(["umount", "-R", w + "/proot/overlay"], capture_output=True)
        shutil.rmtree(w, ignore_errors=True)


main()
