#!/usr/bin/env python3
"""Drive an interactive command under a real pty, as a person at a terminal would.

usage: pty-session.py ROWS COLS TRANSCRIPT -- COMMAND...

Reads steps from stdin, one a line:
  expect TEXT   wait (up to 30 s) until TEXT appears in the output after the previous match
  send TEXT     type TEXT followed by a carriage return (the Enter key)
Then waits for COMMAND to end and exits with its exit status (128+N for signal N). Everything
read from the pty goes to TRANSCRIPT, so a failing test can show it.
"""
import os
import pty
import select
import struct
import sys
import termios
import fcntl
import time


def main():
    rows, cols, transcript_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    command = sys.argv[sys.argv.index("--") + 1:]
    steps = [line.rstrip("\n") for line in sys.stdin if line.strip()]

    pid, master = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    # The window size the engine must carry to the container's pty.
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    seen = b""
    matched_upto = 0
    transcript = open(transcript_path, "wb")

    def read_some(timeout):
        nonlocal seen
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the other side closed
            return False
        if not data:
            return False
        seen += data
        transcript.write(data)
        transcript.flush()
        return True

    for step in steps:
        verb, _, text = step.partition(" ")
        if verb == "send":
            os.write(master, text.encode() + b"\r")
        elif verb == "expect":
            deadline = time.monotonic() + 30
            while True:
                at = seen.find(text.encode(), matched_upto)
                if at >= 0:
                    matched_upto = at + len(text)
                    break
                if time.monotonic() > deadline or not read_some(0.2):
                    if seen.find(text.encode(), matched_upto) >= 0:
                        continue
                    sys.stderr.write("pty-session: never saw %r; output was:\n%s\n"
                                     % (text, seen.decode(errors="replace")))
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    sys.exit(97)
        else:
            sys.stderr.write("pty-session: unknown step %r\n" % step)
            sys.exit(98)

    # Read until the pty closes, so the last output lands in the transcript, then reap.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and read_some(0.2):
        pass
    done = 0
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    if not done:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        sys.stderr.write("pty-session: command did not end\n")
        sys.exit(99)
    if os.WIFSIGNALED(status):
        sys.exit(128 + os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
