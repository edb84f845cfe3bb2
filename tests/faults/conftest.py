"""Fixtures the fault tests share: a Redis of the test's own and a webhook receiver."""

import pytest
from pytest_httpserver import HTTPServer

from tests.faults.processes import RedisServer
from tests.projects.webhooks.receiver import Receiver


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop_quietly()


@pytest.fixture
def receiver():
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    handler = Receiver()
    server.expect_request("/hook", method="POST").respond_with_handler(handler)
    handler.url = server.url_for("/hook")
    yield handler
    server.clear()
    server.stop()
