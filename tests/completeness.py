"""Fails a run that would pass without a result for every test it was to run.

pytest-xdist can lose tests and still exit 0: on 2026-12-05 a two-process run printed "2744 passed"
for 2,775 scheduled tests, with no failure, no error and exit status 0 (one process had been sent
SIGINT). Nothing else tells such a run from a clean one, so the process that reports (the xdist
controller, or pytest alone) compares the tests it was to run with the tests that reported.
"""

import pytest


class Completeness:
    def __init__(self):
        self.expected: set[str] = set()
        self.reported: set[str] = set()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        self.expected.update(ids)  # after deselection, as each worker collected them

    def pytest_collection_finish(self, session):
        self.expected.update(item.nodeid for item in session.items)  # none on the xdist controller

    def pytest_runtest_logreport(self, report):
        if report.when == "teardown":  # a test's last report, whatever its setup and call did
            self.reported.add(report.nodeid)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        missing = sorted(self.expected - self.reported)
        if exitstatus != pytest.ExitCode.OK or not missing or session.config.option.collectonly:
            return
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(
            f"{len(missing)} of {len(self.expected)} tests never reported a result: the run fails", red=True
        )
        for nodeid in missing[:30]:
            reporter.write_line(f"  never ran: {nodeid}", red=True)


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # not an xdist worker: it runs only its share
        config.pluginmanager.register(Completeness(), "completeness")
