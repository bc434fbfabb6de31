#!/usr/bin/env python3
# Drives a command under a real pseudo-terminal, as a person at a terminal would: the test harness for
# `outpost shell` (raw mode, window size and SIGWINCH, Ctrl-C passed through, the terminal restored).
# Usage: pty-driver.py '<steps JSON>' -- argv...   Steps, in order:
#   {"write": "text"}              type text (\u0003 is Ctrl-C)
#   {"expect": "regex", "timeout": s}   wait until the output so far matches
#   {"resize": [cols, rows]}       set the window size (the kernel sends SIGWINCH to the command)
#   {"sleep": s}
#   {"mode": "name"}               record whether the terminal is raw now (ECHO and ICANON off) as name
# Prints one JSON object: {"exit": code, "output": text, "modes": {name: raw?}, "restored": bool,
# "error": text?}. Every wait is bounded; the command is killed at the end if still running.
import fcntl, json, os, pty, re, select, signal, struct, sys, termios, time

steps = json.loads(sys.argv[1])
argv = sys.argv[sys.argv.index("--") + 1:]
cols, rows = 100, 30

pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(argv[0], argv)

fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
initial = termios.tcgetattr(fd)
out = b""
result = {"modes": {}}

def pump(seconds):
    global out
    r, _, _ = select.select([fd], [], [], seconds)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        out += data
    return True

try:
    for step in steps:
        if "write" in step:
            os.write(fd, step["write"].encode())
        elif "expect" in step:
            until = time.time() + step.get("timeout", 10)
            while not re.search(step["expect"], out.decode("utf-8", "replace")):
                if time.time() > until:
                    raise TimeoutError("no %r in the output" % step["expect"])
                if not pump(0.05):
                    raise EOFError("the command ended before %r" % step["expect"])
        elif "resize" in step:
            c, r = step["resize"]
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", r, c, 0, 0))
        elif "sleep" in step:
            until = time.time() + step["sleep"]
            while time.time() < until:
                pump(0.05)
        elif "mode" in step:
            lflag = termios.tcgetattr(fd)[3]
            result["modes"][step["mode"]] = not (lflag & termios.ECHO) and not (lflag & termios.ICANON)
    until = time.time() + 15
    status = None
    while status is None and time.time() < until:
        pump(0.05)
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
    # The terminal as the command left it, before anything else touches it.
    if status is not None:
        while pump(0.05):
            pass
    after = None
    try:
        after = termios.tcgetattr(fd)
    except termios.error:
        pass
    result["restored"] = after is not None and after[3] == initial[3] and after[0] == initial[0]
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        result["exit"] = None
    else:
        result["exit"] = os.waitstatus_to_exitcode(status)
except Exception as e:
    result["error"] = str(e)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except Exception:
        pass
result["output"] = out.decode("utf-8", "replace")
print(json.dumps(result))
