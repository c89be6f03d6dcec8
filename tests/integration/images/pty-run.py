#!/usr/bin/env python3
"""Runs a command with its stdin and stderr on a pty (a terminal of COLS columns) and its
stdout on a pipe, as `husk pull | cat` at a terminal would be.

usage: pty-run.py COLS TERMINAL_FILE STDOUT_FILE -- COMMAND...

Everything the command wrote to the terminal goes to TERMINAL_FILE (raw bytes, escapes
included); exits with the command's status.
"""
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios


def main():
    cols, term_path, out_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    command = sys.argv[sys.argv.index("--") + 1:]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    with open(out_path, "wb") as out:
        child = subprocess.Popen(command, stdin=slave, stdout=out, stderr=slave,
                                 env=dict(os.environ, TERM="xterm"))
    os.close(slave)
    data = b""
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            data += chunk
        elif child.poll() is not None:
            break
    status = child.wait()
    with open(term_path, "wb") as f:
        f.write(data)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
