#!/usr/bin/env python3
"""Time `perfgate check` against `ruff check` on the same directory, alternating runs.

    cargo build --release
    python3 scripts/vs-ruff.py DIR [ROUNDS] [PAUSE]

PERFGATE names another perfgate binary to time (default target/release/perfgate), such as
the one scripts/pgo-build.sh leaves at target/pgo/perfgate.

Each round runs every command once, in turn, so that a machine whose speed drifts (a
shared VM) slows them alike; medians and best runs are printed. PAUSE (seconds, default 0)
is slept before each run: a check is usually one run on a machine that was doing something
else, and on a virtual machine that returns free memory to its host, a run a second after
the last one pays for fresh memory as runs back to back do not. ruff is found on PATH, and
a pyenv shim is resolved to the binary it runs: a shim is a shell script that adds tens of
milliseconds to every run.
"""

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ruff_binary():
    path = shutil.which("ruff")
    if path is None:
        sys.exit("ruff is not on PATH (pip install ruff)")
    if "/shims/" in path and shutil.which("pyenv"):
        real = subprocess.run(
            ["pyenv", "which", "ruff"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if real:
            return real
    return path


def run(cmd):
    """Wall time, user CPU and system CPU of one run, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    target = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    perfgate = os.environ.get("PERFGATE") or os.path.join(ROOT, "target", "release", "perfgate")
    if not os.path.exists(perfgate):
        sys.exit(f"{perfgate} does not exist: build perfgate first (cargo build --release)")
    ruff = ruff_binary()
    commands = {
        "perfgate check": [perfgate, "check", target, "--fail-on", "never", "--format", "json", "--quiet"],
        "ruff --select ASYNC": [ruff, "check", "--select", "ASYNC", "--no-cache", "-q", "--exit-zero", target],
        "ruff --select ASYNC,PERF,S": [ruff, "check", "--select", "ASYNC,PERF,S", "--no-cache", "-q", "--exit-zero", target],
    }
    for cmd in commands.values():  # warm the page cache and the binaries
        run(cmd)
    times = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            time.sleep(pause)
            times[name].append(run(cmd))
    # System time is printed apart: on a virtual machine it is mostly the kernel zeroing
    # fresh pages, and it is what varies most from one hour to the next.
    print(f"{target}: {rounds} alternating rounds, {pause} s apart, in ms; ruff is {ruff}")
    for name, samples in times.items():
        wall, user, system = ([x * 1e3 for x in column] for column in zip(*samples))
        print(
            f"  {name:28} wall median {statistics.median(wall):7.1f} best {min(wall):7.1f}"
            f"   user {statistics.median(user):7.1f}   system {statistics.median(system):6.1f}"
        )


if __name__ == "__main__":
    main()
