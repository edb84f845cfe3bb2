"""The edge cache's side in Django: what it may keep is recorded, and purged when the file goes.

Requests carry RAW_URI, the request line's URI, as gunicorn passes it (the test client does not).

The purge endpoint here is a real local HTTP server standing in for nginx's purge location; the
whole stack with nginx itself is tests/production.
"""

import re

import pytest
from django.test import override_settings
from werkzeug import Response

from files.models import EdgeEntry
from files.services import file_delete
from files.storage.edge import EDGE_KEYS_PER_FILE, edge_sweep
from projects.services import delivery_secret_create, project_configure_delivery
from tests.factories import make_file
from tests.helpers import image_bytes

DATA = b"0123456789abcdefghijklmnopqrstuvwxyz"

PURGE = re.compile(r"^/purge/.*")


def get(client, path: str, **headers):
    return client.get(path, RAW_URI=path, **headers)


@pytest.fixture
def edge(httpserver):
    """An edge whose purge location answers 200 (purged) for every key; yields the keys purged."""
    purged: list[str] = []

    def answer(request):
        query = request.query_string.decode()
        purged.append(request.path.removeprefix("/purge") + (f"?{query}" if query else ""))
        return Response("purged", status=200)

    httpserver.expect_request(PURGE, method="GET").respond_with_handler(answer)
    with override_settings(FILEDOCK_EDGE_PURGE_URL=httpserver.url_for("/purge")):
        yield purged


def test_without_an_edge_nothing_is_recorded(client, team):
    file = make_file(team.project, data=DATA)
    assert get(client, f"/cdn/{file.uuid}/")["Cache-Control"].startswith("public")
    assert not EdgeEntry.objects.exists()


def test_public_answers_are_recorded_and_purged_when_the_file_is_deleted(
    client, team, edge, django_capture_on_commit_callbacks
):
    file = make_file(team.project, data=image_bytes(20, 20), name="a.jpg")
    paths = [
        f"/cdn/{file.uuid}/",
        f"/cdn/{file.uuid}/a.jpg",
        f"/cdn/{file.uuid}/-/resize/10x/",
        f"/cdn/{file.uuid}/?x=1",
    ]
    for path in paths:
        assert get(client, path)["Cache-Control"].startswith("public"), path
    assert set(EdgeEntry.objects.filter(file_id=file.uuid).values_list("key", flat=True)) == set(paths)

    with django_capture_on_commit_callbacks(execute=True):
        file_delete(file=file)
    assert sorted(edge) == sorted(paths)
    assert not EdgeEntry.objects.exists()


def test_urls_nginx_keys_differently_are_never_left_at_the_edge(client, team, edge):
    file = make_file(team.project, data=image_bytes(20, 20), name="a.jpg")
    escaped = get(client, f"/cdn/{file.uuid}/a%2Ejpg")  # nginx keys it as a.jpg
    assert escaped.status_code == 200 and escaped["Cache-Control"].startswith("private")
    assert not EdgeEntry.objects.exists()


def test_a_file_has_at_most_so_many_keys_at_the_edge(client, team, edge):
    file = make_file(team.project, data=DATA)
    for index in range(EDGE_KEYS_PER_FILE):
        assert get(client, f"/cdn/{file.uuid}/name{index}.txt")["Cache-Control"].startswith("public")
    assert get(client, f"/cdn/{file.uuid}/one-more.txt")["Cache-Control"].startswith("private")
    assert EdgeEntry.objects.count() == EDGE_KEYS_PER_FILE


def test_a_server_that_does_not_give_the_raw_uri_keeps_nothing_at_the_edge(client, team, edge):
    file = make_file(team.project, data=DATA)
    assert client.get(f"/cdn/{file.uuid}/")["Cache-Control"].startswith("private")
    assert not EdgeEntry.objects.exists()


def test_renderings_that_vary_by_accept_stay_off_the_edge(client, team, edge):
    file = make_file(team.project, data=image_bytes(20, 20), name="a.jpg")
    response = get(client, f"/cdn/{file.uuid}/-/format/auto/", HTTP_ACCEPT="image/webp")
    assert response["Vary"] == "Accept" and response["Cache-Control"].startswith("private")
    assert not EdgeEntry.objects.exists()


def test_a_failed_purge_is_kept_and_the_sweep_tries_again(client, team, httpserver, django_capture_on_commit_callbacks):
    file = make_file(team.project, data=DATA)
    failing = httpserver.expect_request(PURGE)
    failing.respond_with_data("down", status=502)
    with override_settings(FILEDOCK_EDGE_PURGE_URL=httpserver.url_for("/purge")):
        get(client, f"/cdn/{file.uuid}/")
        with django_capture_on_commit_callbacks(execute=True):
            file_delete(file=file)
        assert EdgeEntry.objects.count() == 1  # still owed to the edge
        assert edge_sweep() == 1
        httpserver.clear()
        httpserver.expect_request(PURGE).respond_with_data("", status=404)
        assert edge_sweep() == 0  # 404: the edge held nothing under the key, which is as good
    assert not EdgeEntry.objects.exists()


def test_turning_signed_urls_on_purges_what_the_edge_holds_unsigned(
    client, team, edge, django_capture_on_commit_callbacks
):
    file = make_file(team.project, data=DATA)
    get(client, f"/cdn/{file.uuid}/")
    delivery_secret_create(project=team.project)
    with django_capture_on_commit_callbacks(execute=True):
        project_configure_delivery(
            project=team.project,
            signed_delivery=True,
            auto_format=False,
            default_quality="normal",
            download_non_images=True,
        )
    assert edge == [f"/cdn/{file.uuid}/"]
    assert not EdgeEntry.objects.exists()


def test_other_delivery_changes_leave_what_the_edge_holds(client, team, edge, django_capture_on_commit_callbacks):
    file = make_file(team.project, data=DATA)
    get(client, f"/cdn/{file.uuid}/")
    with django_capture_on_commit_callbacks(execute=True):
        project_configure_delivery(
            project=team.project,
            signed_delivery=False,
            auto_format=True,
            default_quality="better",
            download_non_images=True,
        )
    assert edge == [] and EdgeEntry.objects.count() == 1
