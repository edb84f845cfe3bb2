import pytest
from pyuploadcare import Uploadcare
from pyuploadcare.api.auth import UploadcareSimpleAuth

from projects.services import project_create, secret_key_create
from tests.factories import UserFactory


@pytest.fixture
def live_project(transactional_db):
    project = project_create(owner=UserFactory(), name="conformance")
    _, secret = secret_key_create(project=project, label="conformance")
    return project, secret


@pytest.fixture
def make_client(live_server):
    """pyuploadcare, unmodified, pointed at the live test server's bases."""

    def make(public_key: str, secret_key: str | None, **options) -> Uploadcare:
        return Uploadcare(
            public_key=public_key, secret_key=secret_key, upload_base=f"{live_server.url}/upload/",
            api_base=f"{live_server.url}/api/", cdn_base=f"{live_server.url}/cdn/", **options,
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
