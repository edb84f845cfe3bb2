"""The files browser: listing, search, filters, keyset pages, upload, store/delete, metadata."""

import functools
import json
import operator
import uuid
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.forms.renderers import DjangoTemplates
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Plan
from files.dashboard.forms import FileFilterForm, UploadForm
from files.models import File
from files.services import file_delete
from tests.factories import make_file, make_plan
from tests.helpers import png_bytes

pytestmark = pytest.mark.django_db
JSON = {"accept": "application/json"}


def _rows(project, count: int, ties: int = 0) -> list[File]:
    """Bare rows (no bytes) one second apart, newest first; the last `ties` share one timestamp."""
    start = timezone.now() - timedelta(days=1)
    rows = [
        File(
            project=project,
            original_filename=f"bulk-{i:03d}.bin",
            size=i,
            storage_key=f"files/none/{i}",
            datetime_uploaded=start - timedelta(seconds=min(i, count - ties)),
            datetime_stored=start,
        )
        for i in range(count)
    ]
    File.objects.bulk_create(rows)
    return sorted(rows, key=lambda f: (f.datetime_uploaded, f.uuid), reverse=True)


def _list(client, project, **params):
    return client.get(reverse("files:list", args=[project.pk]), params)


def _names(response) -> list[str]:
    return [row.file.original_filename for row in response.context["page"].rows]


def _blobs(project) -> list[str]:
    try:
        return default_storage.listdir(f"files/{project.pk}")[1]
    except FileNotFoundError:
        return []


def _url(name: str, file: File) -> str:
    return reverse(f"files:{name}", args=[file.project_id, file.uuid])


def _post_upload(client, project, *files: SimpleUploadedFile, **kwargs):
    return client.post(reverse("files:upload", args=[project.pk]), {"files": list(files)}, **kwargs)


# Listing, search and filters


def test_viewer_sees_files_newest_first_with_urls_and_state(login, team):
    first = make_file(team.project, "first.txt")
    second = make_file(team.project, "second.png", data=png_bytes(4, 3))
    client = login(team.viewer)
    response = _list(client, team.project)
    assert _names(response) == ["second.png", "first.txt"]
    body = response.content.decode()
    assert f"http://testserver/cdn/{second.uuid}/-/preview/160x160/" in body
    assert f'data-copy="http://testserver/cdn/{first.uuid}/"' in body and f'data-copy="{first.uuid}"' in body
    assert "stored" in body
    assert "Drop files here" not in body and "Delete selected" not in body  # a viewer cannot change anything
    overview = client.get(reverse("projects:overview", args=[team.project.pk])).content.decode()
    assert reverse("files:list", args=[team.project.pk]) in overview  # the sidebar link


def test_temporary_file_shows_time_left(login, team, settings):
    settings.FILEDOCK_TEMPORARY_FILE_LIFETIME = 3 * 3600
    file = make_file(team.project, store=False, name="notes.txt")
    response = _list(login(team.member), team.project)
    assert response.context["page"].rows[0].expires_at == file.datetime_uploaded + timedelta(hours=3)
    assert "temporary" in response.content.decode() and "2\xa0hours left" in response.content.decode()


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("", {"kept", "temp"}),
        ("stored", {"kept"}),
        ("temporary", {"temp"}),
        ("removed", {"gone"}),
        ("all", {"kept", "temp", "gone"}),
    ],
)
def test_state_filter_hides_removed_by_default(login, team, state, expected):
    make_file(team.project, "kept")
    make_file(team.project, "temp", store=False)
    file_delete(file=make_file(team.project, "gone"))
    assert set(_names(_list(login(team.viewer), team.project, state=state))) == expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("images", {"photo.png"}),
        ("other", {"notes.txt", "data.json"}),
        ("text/", {"notes.txt"}),
        ("application/json", {"data.json"}),
        ("", {"photo.png", "notes.txt", "data.json"}),
        ("<script>", {"photo.png", "notes.txt", "data.json"}),  # not a MIME prefix: a form error, no filter
    ],
)
def test_type_filter(login, team, kind, expected):
    make_file(team.project, "photo.png", data=png_bytes(4, 3))
    make_file(team.project, "notes.txt")
    make_file(team.project, "data.json", data=b'{"a": 1}')
    response = _list(login(team.viewer), team.project, type=kind)
    assert set(_names(response)) == expected
    assert bool(response.context["filter_form"].errors) == (kind == "<script>")


def test_search_by_name_substring_and_by_exact_uuid(login, team):
    beach = make_file(team.project, "Holiday-Beach.jpg", data=b"x")
    make_file(team.project, "invoice.pdf", data=b"y")
    client = login(team.viewer)
    assert _names(_list(client, team.project, q="beach")) == ["Holiday-Beach.jpg"]
    assert _names(_list(client, team.project, q=str(beach.uuid))) == ["Holiday-Beach.jpg"]
    assert _names(_list(client, team.project, q=str(beach.uuid).upper())) == ["Holiday-Beach.jpg"]
    assert _names(_list(client, team.project, q=str(uuid.uuid4()))) == []


def test_search_never_shows_another_projects_file(login, team):
    foreign = make_file(team.outsider.memberships.get().project, "secret.txt")
    client = login(team.owner)
    assert _names(_list(client, team.project, q=str(foreign.uuid))) == []
    assert _names(_list(client, team.project, q="secret")) == []


# Keyset pagination


def test_pages_walk_forward_and_back_in_order(login, team):
    expected = [f.original_filename for f in _rows(team.project, 125, ties=30)]  # ties across the second page break
    client = login(team.viewer)
    pages, response = [], _list(client, team.project)
    while True:
        pages.append(_names(response))
        if (cursor := response.context["page"].next) is None:
            break
        assert f"after={cursor}" in response.content.decode()
        response = _list(client, team.project, after=cursor)
    assert [len(p) for p in pages] == [50, 50, 25]
    assert functools.reduce(operator.iadd, pages, []) == expected

    back = []
    while (cursor := response.context["page"].previous) is not None:
        response = _list(client, team.project, before=cursor)
        back.insert(0, _names(response))
    assert back == pages[:-1]


def test_pages_keep_search_and_filters(login, team):
    _rows(team.project, 60)
    for i in range(3):
        make_file(team.project, f"other-{i}.txt")
    client = login(team.viewer)
    first = _list(client, team.project, q="bulk-", state="stored")
    assert len(_names(first)) == 50
    second = _list(client, team.project, q="bulk-", state="stored", after=first.context["page"].next)
    assert _names(second) == [f"bulk-{i:03d}.bin" for i in range(50, 60)]
    assert second.context["page"].next is None


def test_filter_and_upload_widgets_match_djangos_own_widget_templates(login, team):
    """The page renders its forms through Django's Jinja2 widget templates (files/dashboard/forms.py):
    the same elements, choices and chosen values as the Django template renderer would write."""
    client = login(team.member)
    response = _list(client, team.project, q="cat <b>", state="removed", type="images", tag="red")
    html = " ".join(response.content.decode().split())
    context = response.context
    for form, names in ((context["filter_form"], ("q", "state", "type", "tag")), (context["upload_form"], ("files",))):
        form.renderer = DjangoTemplates()
        for name in names:
            assert " ".join(str(form[name]).split()) in html
    assert 'value="cat &lt;b&gt;"' in html
    assert '<option value="removed" selected>' in html and '<option value="images" selected>' in html


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"q": """cat <b>"it's" & co""", "state": "removed", "type": "images", "tag": "red"},
        {"type": "application/x-<odd>", "state": "nonsense"},  # a MIME prefix from the URL joins the choices
    ],
)
def test_the_pages_widgets_are_written_as_djangos_widget_templates_write_them(team, data):
    """files.dashboard.forms.PageWidgets writes text inputs and selects in Python: byte for byte
    what Django's template renderer writes, attributes, entities and whitespace included."""
    python, templates = FileFilterForm(data), FileFilterForm(data, renderer=DjangoTemplates())
    for name in ("q", "state", "type", "tag"):
        assert str(python[name]) == str(templates[name])
    upload = UploadForm(project=team.project)
    assert str(upload["files"]) == str(UploadForm(project=team.project, renderer=DjangoTemplates())["files"])


def test_list_query_uses_no_offset_and_no_count(login, team):
    _rows(team.project, 120)
    client = login(team.viewer)
    cursor = _list(client, team.project).context["page"].next
    for params in ({}, {"after": cursor}, {"before": cursor}, {"q": "bulk", "state": "all", "after": cursor}):
        with CaptureQueriesContext(connection) as queries:
            assert _list(client, team.project, **params).status_code == 200
        sql = [q["sql"].upper() for q in queries]
        assert not any("OFFSET" in s or "COUNT(" in s for s in sql), sql
        assert any('FROM "FILES_FILE"' in s and "LIMIT 51" in s for s in sql)


@pytest.mark.parametrize("params", [{}, {"view": "grid"}, {"q": "bulk", "state": "all", "type": "other"}])
@pytest.mark.parametrize(("quotas", "queries"), [(False, 4), (True, 6)])
def test_a_page_of_files_takes_the_same_few_queries_however_many_rows(
    login, team, settings, params, quotas, queries, django_assert_max_num_queries
):
    """The user, the project with the membership, one page of rows, the switcher's projects (the
    session comes from the cache), and with quotas on the owner's plan for the upload limit (the
    owner, the plan): nothing per row."""
    settings.FILEDOCK_QUOTAS_ENFORCED = quotas
    # The owner has no subscription, so the plan is the default one: made here, not left to the
    # data migration's row, which a transactional test elsewhere may have flushed (then finding no
    # default takes a second query, for the first public plan).
    Plan.objects.update(is_default=False)
    make_plan("starter", is_default=True)
    _rows(team.project, 120)
    client = login(team.member)
    _list(client, team.project)  # the first view of a minute also records the session's activity
    with django_assert_max_num_queries(queries):
        response = _list(client, team.project, **params)
    assert response.status_code == 200 and len(response.context["page"].rows) == 50


def test_bad_cursor_shows_the_first_page(login, team):
    make_file(team.project, "a.txt")
    response = _list(login(team.viewer), team.project, after="nonsense")
    assert response.status_code == 200 and _names(response) == ["a.txt"]


# Store and delete


def test_member_stores_a_file_and_returns_to_the_same_listing_only(login, team):
    file = make_file(team.project, store=False, name="notes.txt")
    back = reverse("files:list", args=[team.project.pk]) + "?state=temporary"
    client = login(team.member)
    assert client.post(_url("store", file), {"next": back})["Location"] == back
    file.refresh_from_db()
    assert file.is_stored
    response = client.post(_url("store", file), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("files:list", args=[team.project.pk])


def test_member_deletes_a_file(login, team, django_capture_on_commit_callbacks):
    file = make_file(team.project, name="notes.txt")
    client = login(team.member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("delete", file), follow=True)
    assert "Deleted “notes.txt”." in response.content.decode()
    file.refresh_from_db()
    assert file.is_removed and _blobs(team.project) == []
    assert _names(_list(client, team.project)) == []


def test_storing_a_removed_file_says_so(login, team):
    file = file_delete(file=make_file(team.project, store=False, name="notes.txt"))
    response = login(team.member).post(_url("store", file), follow=True)
    assert "was removed and cannot be stored" in response.content.decode()
    file.refresh_from_db()
    assert not file.is_stored


def test_bulk_store_and_delete_touch_only_this_projects_files(login, team):
    files = [make_file(team.project, f"f{i}.txt", store=False) for i in range(3)]
    foreign = make_file(team.outsider.memberships.get().project, store=False, name="notes.txt")
    client = login(team.member)
    bulk = reverse("files:bulk", args=[team.project.pk])

    client.post(bulk, {"action": "store", "uuid": [files[0].uuid, files[1].uuid, foreign.uuid]})
    assert [File.objects.get(pk=f.pk).is_stored for f in files] == [True, True, False]
    data = {"action": "delete", "uuid": [files[1].uuid, files[2].uuid, foreign.uuid]}
    response = client.post(bulk, data, follow=True)
    assert "Deleted 2 files." in response.content.decode()
    assert [File.objects.get(pk=f.pk).is_removed for f in files] == [False, True, True]
    foreign.refresh_from_db()
    assert not foreign.is_stored and not foreign.is_removed


@pytest.mark.parametrize(
    "data",
    [
        {"action": "delete"},
        {"action": "delete", "uuid": "not-a-uuid"},
        {"action": "x", "uuid": str(uuid.uuid4())},
    ],
)
def test_bulk_with_bad_input_changes_nothing(login, team, data):
    file = make_file(team.project, name="notes.txt")
    response = login(team.member).post(reverse("files:bulk", args=[team.project.pk]), data, follow=True)
    assert "message error" in response.content.decode()
    file.refresh_from_db()
    assert not file.is_removed


@pytest.mark.parametrize("name", ["store", "delete", "metadata_set", "metadata_delete", "bulk", "upload"])
def test_viewer_cannot_change_files(login, team, name):
    file = make_file(team.project, store=False, name="notes.txt")
    file.metadata = {"k": "v"}
    file.save()
    url = reverse(f"files:{name}", args=[team.project.pk]) if name in ("bulk", "upload") else _url(name, file)
    data = {"key": "k", "value": "new", "action": "delete", "uuid": file.uuid, "files": SimpleUploadedFile("x", b"x")}
    assert login(team.viewer).post(url, data).status_code == 403
    file.refresh_from_db()
    assert not file.is_stored and not file.is_removed and file.metadata == {"k": "v"}
    assert File.objects.count() == 1


def test_outsider_cannot_reach_a_foreign_file_through_own_project(login, team):
    file = make_file(team.project, name="notes.txt")
    own = team.outsider.memberships.get().project
    client = login(team.outsider)
    assert client.get(reverse("files:detail", args=[own.pk, file.uuid])).status_code == 404
    assert client.post(reverse("files:delete", args=[own.pk, file.uuid])).status_code == 404
    assert client.get(_url("detail", file)).status_code == 404
    file.refresh_from_db()
    assert not file.is_removed


# Detail and metadata


def test_detail_shows_rest_info_preview_and_copyable_urls(login, team):
    file = make_file(team.project, "photo.png", data=png_bytes(8, 6))
    response = login(team.viewer).get(_url("detail", file))
    body = response.content.decode()
    assert response.context["info"]["uuid"] == str(file.uuid)
    info = json.loads(response.context["info_json"])
    assert info["original_file_url"] == f"http://testserver/cdn/{file.uuid}/photo.png"
    assert f"http://testserver/cdn/{file.uuid}/-/preview/640x640/" in body
    assert f'data-copy="http://testserver/cdn/{file.uuid}/"' in body
    assert "8 × 6 px" in body and file.storage_key in body
    assert "Save key" not in body  # viewers see metadata but cannot edit it


def test_member_adds_updates_and_deletes_metadata(login, team):
    file = make_file(team.project, name="notes.txt")
    client = login(team.member)
    assert client.post(_url("metadata_set", file), {"key": "owner:id", "value": "42"}).status_code == 302
    client.post(_url("metadata_set", file), {"key": "owner:id", "value": "43"})
    client.post(_url("metadata_set", file), {"key": "kind", "value": "avatar"})
    file.refresh_from_db()
    assert file.metadata == {"owner:id": "43", "kind": "avatar"}
    assert "avatar" in client.get(_url("detail", file)).content.decode()

    client.post(_url("metadata_delete", file), {"key": "owner:id"})
    file.refresh_from_db()
    assert file.metadata == {"kind": "avatar"}
    assert file.project.events.filter(type="file.info_updated").count() == 4


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("", "v"),
        ("has space", "v"),
        ("k" * 65, "v"),
        ("ключ", "v"),
        ("a/b", "v"),
        ("ok", ""),
        ("ok", "v" * 513),
    ],
)
def test_bad_metadata_is_a_form_error_and_changes_nothing(login, team, key, value):
    file = make_file(team.project, name="notes.txt")
    response = login(team.member).post(_url("metadata_set", file), {"key": key, "value": value}, follow=True)
    assert response.redirect_chain == [(_url("detail", file), 302)]  # a reload does not post again
    assert response.context["metadata_form"].errors
    file.refresh_from_db()
    assert file.metadata == {}


def test_metadata_key_limit_is_shown_as_a_form_error(login, team):
    file = make_file(team.project, name="notes.txt")
    file.metadata = {f"k{i}": "v" for i in range(50)}
    file.save()
    response = login(team.member).post(_url("metadata_set", file), {"key": "one-more", "value": "v"}, follow=True)
    assert response.redirect_chain == [(_url("detail", file), 302)]
    assert "can not have more than 50 metadata keys" in response.content.decode()
    assert 'value="one-more"' in response.content.decode()  # the form as it was sent


# Uploads from the dashboard


def test_dashboard_upload_stores_every_file(login, team):
    client = login(team.member)
    files = [SimpleUploadedFile("a.txt", b"alpha"), SimpleUploadedFile("b.png", png_bytes(4, 3))]
    assert "Uploaded 2 files." in _post_upload(client, team.project, *files, follow=True).content.decode()
    uploaded = {f.original_filename: f for f in File.objects.filter(project=team.project)}
    assert set(uploaded) == {"a.txt", "b.png"} and len(_blobs(team.project)) == 2
    assert uploaded["b.png"].is_image and all(f.is_stored for f in uploaded.values())
    assert {f.source for f in uploaded.values()} == {"dashboard"}  # what the REST file info's `source` says

    response = _post_upload(client, team.project, SimpleUploadedFile("c.txt", b"c"), headers=JSON)
    file = File.objects.get(project=team.project, original_filename="c.txt")
    assert response.json() == {"files": [{"uuid": str(file.uuid), "name": "c.txt"}]}


def test_dashboard_upload_follows_autostore_and_ignores_signed_uploads(login, team):
    team.project.autostore_enabled = False
    team.project.require_signed_uploads = True
    team.project.save()
    assert _post_upload(login(team.member), team.project, SimpleUploadedFile("a.txt", b"a")).status_code == 302
    assert not File.objects.get(project=team.project).is_stored


def test_dashboard_upload_without_files_is_a_form_error(login, team):
    response = login(team.member).post(reverse("files:upload", args=[team.project.pk]), {}, follow=True)
    assert response.redirect_chain == [(reverse("files:list", args=[team.project.pk]), 302)]
    assert "Choose at least one file." in response.content.decode()


def test_dashboard_upload_refuses_a_file_over_the_project_limit(login, team):
    team.project.max_file_size = 10
    team.project.save()
    client = login(team.member)
    small, big = SimpleUploadedFile("small.txt", b"ok"), SimpleUploadedFile("big.txt", b"x" * 11)
    response = _post_upload(client, team.project, small, big, follow=True)
    refusal = "“big.txt” is 11\xa0bytes: files larger than 10\xa0bytes are not accepted (a limit set by this project)."
    assert response.redirect_chain == [(reverse("files:list", args=[team.project.pk]), 302)]
    assert refusal in response.content.decode()

    response = _post_upload(client, team.project, SimpleUploadedFile("big.txt", b"x" * 11), headers=JSON)
    assert response.status_code == 400 and response.json() == {"error": refusal}
    assert not File.objects.filter(project=team.project).exists() and _blobs(team.project) == []


def test_dashboard_upload_refuses_a_forbidden_type_and_stores_nothing_of_the_batch(login, team):
    team.project.allowed_mime_types = "image/*"
    team.project.save()
    client = login(team.member)
    batch = [SimpleUploadedFile("ok.png", png_bytes(4, 3)), SimpleUploadedFile("no.txt", b"t")]
    response = _post_upload(client, team.project, *batch, follow=True)
    assert response.redirect_chain == [(reverse("files:list", args=[team.project.pk]), 302)]
    body = response.content.decode()
    assert "Uploading of these file types is not allowed." in body and 'accept="image/*"' in body

    response = _post_upload(client, team.project, SimpleUploadedFile("no.txt", b"text"), headers=JSON)
    assert response.status_code == 400 and "not allowed" in response.json()["error"]
    assert not File.objects.filter(project=team.project).exists() and not team.project.events.exists()
    assert _blobs(team.project) == []


# Name search at scale (issue #7, P2): ILIKE on PostgreSQL, served by the trigram index


def test_search_finds_substrings_in_any_case_and_takes_wildcards_literally(login, team):
    for name in ("Quarterly-REPORT-2024.pdf", "report_final.txt", "100%_done.txt", "1000-done.txt", "photo.jpg"):
        make_file(team.project, name)
    client = login(team.viewer)
    assert sorted(_names(_list(client, team.project, q="rEpOrT"))) == ["Quarterly-REPORT-2024.pdf", "report_final.txt"]
    assert _names(_list(client, team.project, q="t_f")) == ["report_final.txt"]
    assert _names(_list(client, team.project, q="100%_")) == ["100%_done.txt"]
    assert _names(_list(client, team.project, q="%")) == ["100%_done.txt"]
    assert _names(_list(client, team.project, q="zebra")) == []


def test_name_search_can_be_served_by_the_trigram_index(login, team):
    _rows(team.project, 30)
    client = login(team.viewer)
    with CaptureQueriesContext(connection) as queries:
        assert _names(_list(client, team.project, q="LK-02")) == [f"bulk-{i:03d}.bin" for i in range(20, 30)]
    page_sql = next(q["sql"] for q in queries if 'FROM "files_file"' in q["sql"] and "LIMIT 51" in q["sql"])
    assert '"files_file"."original_filename" ILIKE' in page_sql
    with connection.cursor() as cursor:
        # The same condition alone, with scans forbidden (30 rows are cheaper to scan than to look up).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("""EXPLAIN SELECT uuid FROM files_file WHERE original_filename ILIKE '%%LK-02%%'""")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "file_name_trgm" in plan, plan
