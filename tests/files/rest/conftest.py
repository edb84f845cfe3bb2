"""Fixtures of the REST API's tests."""

import json

import pytest

from tests.helpers import ACCEPT


@pytest.fixture
def api(client, team):
    """The Django test client, authenticated as the team's project with the Simple scheme."""
    project = team.project
    auth = f"Uploadcare.Simple {project.public_key}:{project.secret_keys.get().secret}"

    def call(method, path, data=None, content_type="application/json", **extra):
        """`data` is sent as JSON, or as is when it is bytes."""
        body = data if isinstance(data, bytes) or data is None else json.dumps(data)
        kwargs = {"data": body, "content_type": content_type} if data is not None else {}
        url = path if path.startswith("http") else f"/api/{path}"
        return getattr(client, method)(url, HTTP_AUTHORIZATION=auth, HTTP_ACCEPT=ACCEPT, **kwargs, **extra)

    return call


@pytest.fixture
def elsewhere(team):
    return team.outsider.memberships.get().project
