#!/usr/bin/env python3
# onterminal.py ANSWER... -- COMMAND...: runs COMMAND on a new pseudo-terminal
# (its controlling terminal) and types each ANSWER after each prompt
# ending in ": ".  Prints what COMMAND wrote to the terminal and exits
# with its exit status.  Used to test the password prompts.
import os
import pty
import sys

sep = sys.argv.index("--")
answers = sys.argv[1:sep]
command = sys.argv[sep + 1:]

pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)

seen = b""
pending = b""
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    seen += data
    pending += data
    # A prompt is complete when the output so far ends in ": ".
    if answers and pending.rstrip().endswith(b":"):
        os.write(fd, answers.pop(0).encode() + b"\n")
        pending = b""
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace").replace("\r", ""))
sys.exit(os.waitstatus_to_exitcode(status))
