"""REST v0.7 groups: list in both orderings, info, delete; other projects' groups are 404."""

from datetime import timedelta

import pytest

from files.models import File, Group
from files.uploads.groups import group_create
from tests.factories import make_file
from tests.helpers import ISO, T0, walk

# The files tests' fixtures, bound here so pytest finds them for this module too.


@pytest.fixture
def groups(team, elsewhere):
    a, b = make_file(team.project, store=False), make_file(team.project, store=True)
    made = []
    for i, at in enumerate([T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 + timedelta(seconds=1)]):
        group = group_create(project=team.project, refs=[str(a.uuid), f"{b.uuid}/-/resize/{i + 1}x/"])
        Group.objects.filter(pk=group.pk).update(datetime_created=at)
        made.append(Group.objects.get(pk=group.pk))
    theirs = make_file(elsewhere, store=False)
    group_create(project=elsewhere, refs=[str(theirs.uuid)])
    return sorted(made, key=lambda g: (g.datetime_created, g.id))


@pytest.mark.parametrize("ordering", ["datetime_created", "-datetime_created"])
def test_group_pages_in_both_orderings(api, groups, ordering):
    expected = [g.id for g in (groups if ordering == "datetime_created" else reversed(groups))]
    pages, _ = walk(api, f"groups/?limit=3&ordering={ordering}")
    assert pages == [expected[:3], expected[3:]]
    body = api("get", f"groups/?limit=3&ordering={ordering}").json()
    assert body["total"] == 4 and body["per_page"] == 3 and body["previous"] is None


def test_group_list_shape(api, groups):
    item = api("get", "groups/").json()["results"][0]
    assert item["id"] == groups[0].id and item["files_count"] == 2 and ISO.match(item["datetime_created"])
    assert item["url"] == f"http://testserver/api/groups/{groups[0].id}/"
    assert item["cdn_url"] == f"http://testserver/cdn/{groups[0].id}/"
    assert [f["default_effects"] for f in item["files"]] == ["", "resize/1x/"]


def test_group_info_and_delete_leaves_files(api, groups):
    group = groups[0]
    info = api("get", f"groups/{group.id}/").json()
    assert info["id"] == group.id and [f["uuid"] for f in info["files"]] == [i["uuid"] for i in group.items]
    response = api("delete", f"groups/{group.id}/")
    assert response.status_code == 204 and response.content == b""
    assert api("get", f"groups/{group.id}/").status_code == 404
    assert File.objects.filter(uuid__in=[i["uuid"] for i in group.items], datetime_removed__isnull=True).count() == 2


@pytest.mark.parametrize(
    "group_id", ["nope", "6c1f2b9e-0d4a-4c7e-9a51-3f0e8d2b7c44~2", "6c1f2b9e-0d4a-4c7e-9a51-3f0e8d2b7c44", "x~y"]
)
def test_unknown_group_is_404(api, group_id):
    for method in ("get", "delete"):
        response = api(method, f"groups/{group_id}/")
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_other_projects_group_is_404_and_kept(api, groups, elsewhere):
    theirs = Group.objects.get(project=elsewhere)
    assert api("get", f"groups/{theirs.id}/").status_code == 404
    assert api("delete", f"groups/{theirs.id}/").status_code == 404
    assert Group.objects.filter(pk=theirs.pk).exists()
    assert theirs.id not in {g["id"] for g in api("get", "groups/").json()["results"]}


def test_bad_group_list_parameters_are_400(api):
    for query, field in [("ordering=-datetime_uploaded", "ordering"), ("limit=0", "limit"), ("from=x", "from")]:
        response = api("get", f"groups/?{query}")
        assert response.status_code == 400 and field in response.json()
