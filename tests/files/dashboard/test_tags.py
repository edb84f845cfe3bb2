"""Tags in the files browser: set on the file detail page, shown there, and a filter on the list."""

import pytest
from django.urls import reverse

from files.models import Event
from files.tags import file_tags, file_tags_replace
from tests.factories import make_file

pytestmark = pytest.mark.django_db


def _set(client, project, file, tags: str):
    return client.post(reverse("files:tags_set", args=[project.pk, file.uuid]), {"tags": tags})


def test_member_sets_tags_and_the_detail_page_shows_them(login, team):
    project = team.project
    file = make_file(project, "a.txt", data=b"x")
    client = login(team.member)
    response = _set(client, project, file, "Cat, animal  cute,cat")
    assert response.status_code == 302
    assert file_tags(file) == ["cat", "animal", "cute"]
    assert Event.objects.filter(type=Event.Type.FILE_INFO_UPDATED, file_uuid=file.uuid).count() == 1
    page = client.get(reverse("files:detail", args=[project.pk, file.uuid])).content.decode()
    assert 'value="cat, animal, cute"' in page and "?tag=animal" in page
    _set(client, project, file, "")
    assert file_tags(file) == []


def test_bad_tags_are_an_error_and_change_nothing(login, team):
    file = make_file(team.project, "a.txt", data=b"x")
    file_tags_replace(file=file, tags=["kept"])
    client = login(team.member)
    response = _set(client, team.project, file, "ok, not/ok")
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "is not valid" in page
    assert file_tags(file) == ["kept"]


@pytest.mark.parametrize(("persona", "status"), [("viewer", 403), ("outsider", 404)])
def test_viewers_and_outsiders_cannot_set_tags(login, team, persona, status):
    file = make_file(team.project, "a.txt", data=b"x")
    assert _set(login(team.user(persona)), team.project, file, "x").status_code == status
    assert file_tags(file) == []


def test_the_list_filters_by_tag(login, team):
    project = team.project
    tagged, other = make_file(project, "tagged.txt", data=b"x"), make_file(project, "other.txt", data=b"x")
    file_tags_replace(file=tagged, tags=["invoice"])
    file_tags_replace(file=other, tags=["receipt"])
    client = login(team.viewer)
    response = client.get(reverse("files:list", args=[project.pk]), {"tag": " Invoice "})
    assert [row.file.original_filename for row in response.context["page"].rows] == ["tagged.txt"]
    response = client.get(reverse("files:list", args=[project.pk]), {"tag": "bad tag"})
    assert len(response.context["page"].rows) == 2 and response.context["filter_form"].errors
