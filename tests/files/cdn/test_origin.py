"""The CDN on an origin of its own (a full-URL CDN_BASE): files at the root of the CDN's host,
the dashboard's old /cdn/ links redirected there, and nothing uploaded served on the dashboard's."""

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings

from files.info import cdn_url
from files.services import file_upload
from files.uploads.groups import group_create

CDN = "http://cdn.testserver"


@pytest.fixture
def own_origin():
    with override_settings(CDN_BASE=f"{CDN}/", CDN_ORIGIN=CDN, ALLOWED_HOSTS=["testserver", "cdn.testserver"]):
        yield


@pytest.fixture
def stored(team):
    return file_upload(project=team.project, content=ContentFile(b"hello", name="a.txt"), filename="a.txt", store=True)


def test_files_and_groups_are_served_at_the_root_of_the_cdn_host(client, own_origin, stored, team):
    assert cdn_url(stored) == f"{CDN}/{stored.uuid}/"
    response = client.get(f"/{stored.uuid}/", HTTP_HOST="cdn.testserver")
    assert (response.status_code, b"".join(response.streaming_content)) == (200, b"hello")
    group = group_create(project=team.project, refs=[str(stored.uuid)])
    assert client.get(f"/{group.id}/nth/0/", HTTP_HOST="cdn.testserver").status_code == 200


def test_old_cdn_links_on_the_dashboard_origin_redirect_to_the_cdn(client, own_origin, stored):
    response = client.get(f"/cdn/{stored.uuid}/-/preview/100x100/?x=1")
    assert response.status_code == 301
    assert response["Location"] == f"{CDN}/{stored.uuid}/-/preview/100x100/?x=1"


def test_the_dashboard_origin_serves_no_file_and_the_cdn_host_no_dashboard(client, own_origin, stored, team):
    assert client.get(f"/{stored.uuid}/").status_code == 404
    client.force_login(team.owner)
    assert client.get(f"/projects/{team.project.pk}/", HTTP_HOST="cdn.testserver").status_code == 404
    assert client.get(f"/projects/{team.project.pk}/").status_code == 200
    assert client.get("/healthz", HTTP_HOST="cdn.testserver").status_code == 200


def test_with_a_path_base_the_cdn_shares_the_dashboards_origin(client, stored):
    response = client.get(f"/cdn/{stored.uuid}/")
    assert (response.status_code, b"".join(response.streaming_content)) == (200, b"hello")


def test_on_this_machine_every_loopback_name_reaches_the_cdn_and_anything_else_there_is_a_plain_404(
    client, stored, settings
):
    settings.CDN_BASE, settings.CDN_ORIGIN = "http://127.0.0.1:8001/", "http://127.0.0.1:8001"
    settings.CDN_LOOPBACK_ALIASES = True  # as config.settings.local sets it for make run
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
    for host in ("127.0.0.1:8001", "localhost:8001", "[::1]:8001"):
        assert client.get(f"/{stored.uuid}/", HTTP_HOST=host).status_code == 200, host
    missing = client.get("/accounts/login/", HTTP_HOST="localhost:8001")
    assert missing.status_code == 404 and missing.content == b"Not found.\n"
    assert client.get("/accounts/login/", HTTP_HOST="localhost:8000").status_code == 200  # the dashboard
