"""pyuploadcare 6.3, unmodified, against Filedock's REST API with both auth schemes."""

import pytest
from pyuploadcare.exceptions import AuthenticationError

from projects.models import SecretKey
from projects.services import secret_key_revoke


def test_project_info(rest_client, live_project):
    project, _ = live_project
    info = rest_client.get_project_info()
    assert info.name == "conformance" and info.pub_key == project.public_key and info.autostore_enabled
    assert len(info.collaborators) == 1


def test_wrong_secret_is_an_authentication_error(live_project, make_client):
    project, _ = live_project
    with pytest.raises(AuthenticationError):
        make_client(project.public_key, "not-the-secret").get_project_info()


def test_revoked_key_fails_on_the_next_request(rest_client, live_project):
    project, secret = live_project
    rest_client.get_project_info()
    secret_key_revoke(key=SecretKey.objects.get(project=project, label="conformance"))
    with pytest.raises(AuthenticationError):
        rest_client.get_project_info()
