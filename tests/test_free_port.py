"""The ports the tests' servers are started on: two test processes never pick the same one, and
nothing else takes one between its pick and its server's bind."""

import socket
import subprocess
import sys
from pathlib import Path

from bench.harness import ROOT

PICK = "from bench.harness import free_port; print(*(free_port() for _ in range(200)))"


def picks(worker: str) -> list[int]:
    env = {"PATH": "/usr/bin:/bin", "PYTEST_XDIST_WORKER": worker}
    done = subprocess.run([sys.executable, "-c", PICK], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return [int(port) for port in done.stdout.split()]


def test_two_test_processes_pick_from_blocks_of_their_own_below_the_ephemeral_range():
    first, second = picks("gw0"), picks("gw1")
    low, _high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())

    assert len(set(first)) == len(first) == 200  # never the same port twice in one process
    assert not set(first) & set(second)
    assert max(first + second) < low  # where a bind to port 0 or an outgoing connection never lands


def test_a_port_something_listens_on_is_skipped():
    # gw9's block: no test process of a two-process run uses it, so none of their servers holds
    # the port this test takes (with gw0's, the other process's servers sometimes did).
    taken = picks("gw9")[0]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", taken))
        listener.listen()
        env = {"PATH": "/usr/bin:/bin", "PYTEST_XDIST_WORKER": "gw9"}
        # The same block, every port of it asked for once: the taken one is never handed out.
        code = "from bench.harness import free_port; print(*(free_port() for _ in range(1000)))"
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    handed = [int(port) for port in done.stdout.split()]
    assert taken not in handed
    assert len(handed) == 1000  # the block wraps round to the free ports


def test_a_script_importing_the_harness_under_both_names_gets_distinct_ports():
    # bench scripts import `harness` from bench/ and modules they use import `bench.harness`: two
    # copies would each count from the same start and hand a port out twice.
    code = (
        "import sys; sys.path.insert(0, 'bench'); import harness, bench.harness as other;"
        "print(*(module.free_port() for _ in range(50) for module in (harness, other)))"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTEST_XDIST_WORKER": "gw0"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    ports = done.stdout.split()

    assert len(ports) == len(set(ports)) == 100
