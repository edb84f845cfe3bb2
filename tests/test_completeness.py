"""A run in which a test never reports a result fails (tests/completeness.py), with one process or two."""

import subprocess
import sys

import pytest

from bench.harness import ROOT

TESTS = """
def test_one():
    assert True

def test_two():
    assert True
"""
# A conftest that runs test_two silently: no report, as when an xdist process loses it.
SWALLOWS_ONE = """
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    return True if item.name == "test_two" else None
"""


def run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "pytest", "-p", "tests.completeness", "-p", "no:django", "-p", "no:randomly"]
    return subprocess.run([*argv, *args, str(tmp_path)], cwd=tmp_path, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("processes", [[], ["-n", "2"]], ids=["one process", "two processes"])
def test_a_test_that_never_reports_fails_the_run(tmp_path, processes):
    (tmp_path / "test_pair.py").write_text(TESTS)
    (tmp_path / "conftest.py").write_text(SWALLOWS_ONE)

    done = run(tmp_path, *processes)

    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout
    assert "1 of 2 tests never reported a result" in done.stdout
    assert "never ran: test_pair.py::test_two" in done.stdout


@pytest.mark.parametrize("processes", [[], ["-n", "2"]], ids=["one process", "two processes"])
def test_a_run_where_every_test_reports_passes(tmp_path, processes):
    (tmp_path / "test_pair.py").write_text(TESTS)

    done = run(tmp_path, *processes)

    assert done.returncode == pytest.ExitCode.OK, done.stdout
    assert "never" not in done.stdout


def test_a_deselected_test_is_not_missing(tmp_path):
    (tmp_path / "test_pair.py").write_text(TESTS)

    assert run(tmp_path, "-k", "one").returncode == pytest.ExitCode.OK
