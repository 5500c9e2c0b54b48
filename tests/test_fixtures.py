"""The test session's own servers: none outlives the run that started it."""

import os
import signal
import subprocess
import sys
import time

from tests.conftest import tied_to_this_process

PARENT = """
import subprocess, sys, time
from tests.conftest import tied_to_this_process
sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
print(subprocess.Popen(tied_to_this_process(sleeper)).pid, flush=True)
time.sleep(120)
"""
"""A stand-in for a test session: starts a tied server (a sleeper), then waits."""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, only not yet reaped
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_server_dies_with_a_test_run_killed_by_sigkill() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)


def test_the_tied_command_runs_with_its_arguments() -> None:
    run = subprocess.run(
        tied_to_this_process([sys.executable, "-c", "import sys; print(sys.argv[1:])", "a b", "c"]),
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "['a b', 'c']"
