import json
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from pyuploadcare import Uploadcare
from pyuploadcare.api.auth import UploadcareSimpleAuth

from projects.services import project_create
from tests.factories import UserFactory, make_key

JS_DIR = Path(__file__).parent / "js"


@pytest.fixture(scope="session")
def node():
    """Runs a script in js/ with a job on stdin and returns the JSON it prints."""
    if shutil.which("node") is None:
        pytest.fail("Node.js is needed for the JavaScript client tests")
    if not (JS_DIR / "node_modules" / "@uploadcare").is_dir():  # `make test` installs them first
        subprocess.run(["npm", "ci", "--prefix", str(JS_DIR), "--no-audit", "--no-fund"], check=True, timeout=300)

    def run(script: str, job: dict, timeout: float = 120) -> dict:
        done = subprocess.run(
            ["node", str(JS_DIR / script)],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            cwd=JS_DIR,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    return run


@pytest.fixture
def live_project(transactional_db):
    project = project_create(owner=UserFactory(), name="conformance")
    _, secret = make_key(project, label="conformance")
    return project, secret


@pytest.fixture
def make_client(live_server):
    """pyuploadcare, unmodified, pointed at the live test server's bases."""

    def make(public_key: str, secret_key: str | None, **options) -> Uploadcare:
        return Uploadcare(
            public_key=public_key,
            secret_key=secret_key,
            upload_base=f"{live_server.url}/upload/",
            api_base=f"{live_server.url}/api/",
            cdn_base=f"{live_server.url}/cdn/",
            **options,
        )

    return make


@pytest.fixture
def uploadcare(live_project, make_client) -> Uploadcare:
    project, secret = live_project
    return make_client(project.public_key, secret)


@pytest.fixture(params=["signed", "simple"])
def rest_client(request, live_project, make_client) -> Uploadcare:
    """pyuploadcare with each REST authentication scheme."""
    project, secret = live_project
    options = {"auth_class": UploadcareSimpleAuth} if request.param == "simple" else {}
    return make_client(project.public_key, secret, **options)


# --- The conformance table: client | call | result, printed at the end of the run. ---

SEVERITY = {"pass": 0, "xfail": 1, "fail": 2}


class ConformanceRecorder:
    """The outcome of each (client, call) over the run; the worst one wins (fail > xfail > pass)."""

    def __init__(self):
        self.outcomes: dict[tuple[str, str], str] = {}

    def add(self, client: str, call: str, outcome: str) -> None:
        if SEVERITY[outcome] >= SEVERITY[self.outcomes.get((client, call), "pass")]:
            self.outcomes[client, call] = outcome

    def rows(self) -> list[tuple[str, str, str]]:
        clients = list(dict.fromkeys(client for client, _ in self.outcomes))  # in order of appearance
        rows = [(client, call, outcome) for (client, call), outcome in self.outcomes.items()]
        return sorted(rows, key=lambda row: clients.index(row[0]))


class Conformance:
    """What a test uses: `with conformance.record("pyuploadcare (signed)", "file info"): ...` around
    an official client's call and the checks of its result.

    A failure inside the block is recorded and the test goes on, so the calls after it get their
    rows too; the test then fails with the first such failure. In a test marked xfail (a known
    server gap, named in the mark's reason) a failure is recorded as "xfail".
    """

    def __init__(self, recorder: ConformanceRecorder, expected_to_fail: bool):
        self.recorder, self.expected_to_fail = recorder, expected_to_fail
        self.failures: list[Exception] = []

    @contextmanager
    def record(self, client: str, call: str):
        try:
            yield
        except pytest.skip.Exception:
            raise
        except Exception as exc:
            self.recorder.add(client, call, "xfail" if self.expected_to_fail else "fail")
            self.failures.append(exc)
        else:
            self.recorder.add(client, call, "pass")


_recorder = pytest.StashKey[ConformanceRecorder]()


@pytest.fixture
def conformance(request) -> Conformance:
    recorder = request.config.stash.setdefault(_recorder, ConformanceRecorder())
    return Conformance(recorder, expected_to_fail=request.node.get_closest_marker("xfail") is not None)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "conformance(call, client='pyuploadcare'): the whole test checks one client call; its outcome "
        "goes into the table (with the auth scheme after the client when the test uses `rest_client`)",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Records the outcome of a test marked `conformance(call)`."""
    report = yield
    marker = item.get_closest_marker("conformance")
    if marker and (report.when == "call" or report.failed):
        client = marker.kwargs.get("client", "pyuploadcare")
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if "rest_client" in params:
            client = f"{client} ({params['rest_client']})"
        outcome = "xfail" if hasattr(report, "wasxfail") else "pass" if report.passed else "fail"
        if not report.skipped or outcome == "xfail":
            item.config.stash.setdefault(_recorder, ConformanceRecorder()).add(client, marker.args[0], outcome)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fails a test with the first failure its `conformance.record` blocks caught."""
    conformance = getattr(item, "funcargs", {}).get("conformance")
    failures = conformance.failures if isinstance(conformance, Conformance) else []
    try:
        result = yield
    except Exception:
        if failures:  # an error after a recorded failure is usually its consequence
            raise failures[0] from None
        raise
    if failures:
        raise failures[0]
    return result


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    rows = config.stash[_recorder].rows() if _recorder in config.stash else []
    if not rows:
        return
    header = ("client", "call", "result")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    terminalreporter.section("official clients against Filedock")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        terminalreporter.write_line(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if any(outcome == "xfail" for *_, outcome in rows):
        terminalreporter.write_line("xfail: fails as expected until the server change named in the test's xfail reason")
