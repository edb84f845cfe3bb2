"""The files list as CSV: every file the list's filters select, streamed, for whoever sees the list."""

import csv
import io

from django.urls import reverse

from files.services import file_delete
from tests.factories import make_file


def exported(client, project, **query) -> list[dict]:
    response = client.get(reverse("files:export_csv", args=[project.pk]), query)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.streaming
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_viewer_exports_the_filtered_files(client, team):
    stored = make_file(team.project, "=cmd.txt")
    temporary = make_file(team.project, "b.txt", store=False, data=b"hi")
    file_delete(file=make_file(team.project, "gone.txt"))
    make_file(team.outsider.memberships.get().project, "theirs.txt")
    client.force_login(team.viewer)

    rows = exported(client, team.project)
    assert [row["uuid"] for row in rows] == [str(temporary.uuid), str(stored.uuid)]  # newest first, no removed
    assert rows[1] == {
        "name": "'=cmd.txt",
        "uuid": str(stored.uuid),
        "size": "5",
        "type": stored.mime_type,
        "state": "stored",
        "cdn_url": f"http://testserver/cdn/{stored.uuid}/",  # as the list page links it
    }
    assert rows[0]["state"] == "temporary"
    assert [row["uuid"] for row in exported(client, team.project, state="stored", after="x")] == [str(stored.uuid)]
    assert [row["name"] for row in exported(client, team.project, state="removed")] == ["gone.txt"]


def test_list_page_links_the_export_with_its_filters(client, team):
    client.force_login(team.viewer)
    page = client.get(reverse("files:list", args=[team.project.pk]), {"state": "stored"}).content.decode()
    assert reverse("files:export_csv", args=[team.project.pk]) + "?state=stored" in page


def test_outsider_cannot_export(client, team):
    client.force_login(team.outsider)
    assert client.get(reverse("files:export_csv", args=[team.project.pk])).status_code == 404
