"""@uploadcare/upload-client and @uploadcare/rest-client, unmodified, against a live Filedock.

Small Node scripts in js/ make the calls and print each call's result as JSON; these tests check
that output against the database and the bytes the CDN serves.
"""

import os
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from files.info import iso
from files.models import File, Group, MultipartUpload
from files.services import file_upload
from files.uploads.groups import group_create
from projects.models import Webhook
from tests.helpers import ok, png_bytes

JS_DIR = Path(__file__).parent / "js"
UPLOAD_CLIENT = "@uploadcare/upload-client"


def cdn_bytes(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        assert response.status == 200
        return response.read()


def stored_bytes(uuid) -> bytes:
    with default_storage.open(File.objects.get(uuid=uuid).storage_key) as f:
        return f.read()


# --- @uploadcare/upload-client ---


@pytest.fixture
def upload_client(live_server, live_project, node):
    """Calls the upload client: upload_client(("id", "call", {args}), ..., settings={...})."""
    project, _ = live_project

    def run(*calls, settings=None) -> dict:
        return node(
            "upload_client.mjs",
            {
                "uploadBase": f"{live_server.url}/upload/",
                "cdnBase": f"{live_server.url}/cdn/",
                "publicKey": project.public_key,
                "settings": settings or {},
                "calls": [{"id": call_id, "call": call, "args": args} for call_id, call, args in calls],
            },
        )

    return run


@pytest.mark.parametrize(("store", "expected"), [(True, True), (False, False), ("auto", True)])
def test_upload_client_direct_upload(upload_client, conformance, live_server, tmp_path, store, expected):
    (tmp_path / "photo.png").write_bytes(png_bytes())
    with conformance.record(UPLOAD_CLIENT, "upload (direct)"):
        results = upload_client(
            (
                "upload",
                "upload",
                {
                    "path": str(tmp_path / "photo.png"),
                    "fileName": "photo.png",
                    "contentType": "image/png",
                    "store": store,
                },
            )
        )
        uploaded = ok(results, "upload")
        file = File.objects.get(uuid=uploaded["uuid"])
        assert uploaded["cdnUrl"] == f"{live_server.url}/cdn/{file.uuid}/"
        assert stored_bytes(file.uuid) == png_bytes() == cdn_bytes(uploaded["cdnUrl"])
        assert (file.original_filename, file.is_image, file.is_stored) == ("photo.png", True, expected)
        assert (uploaded["name"], uploaded["isImage"], uploaded["isStored"]) == ("photo.png", True, expected)
        assert not MultipartUpload.objects.exists()


def test_upload_client_multipart_upload(upload_client, conformance, tmp_path):
    data = os.urandom(11 * 1024 * 1024 + 17)
    (tmp_path / "big.bin").write_bytes(data)
    with conformance.record(UPLOAD_CLIENT, "upload (multipart)"):
        results = upload_client(
            ("upload", "upload", {"path": str(tmp_path / "big.bin"), "fileName": "big.bin", "store": True}),
            settings={"multipartMinFileSize": 10 * 1024 * 1024},
        )
        uploaded = ok(results, "upload")
        assert MultipartUpload.objects.get(uuid=uploaded["uuid"]).completed_at is not None
        assert stored_bytes(uploaded["uuid"]) == data == cdn_bytes(uploaded["cdnUrl"])
        file = File.objects.get(uuid=uploaded["uuid"])
        assert (file.original_filename, file.size, file.is_stored) == ("big.bin", len(data), True)


def test_upload_client_upload_from_url(upload_client, conformance, httpserver, celery_worker):
    httpserver.expect_request("/img/remote.png").respond_with_data(png_bytes(), content_type="image/png")
    with conformance.record(UPLOAD_CLIENT, "upload from URL"):
        results = upload_client(("fetch", "fromUrl", {"url": httpserver.url_for("/img/remote.png"), "store": True}))
        uploaded = ok(results, "fetch")
        assert stored_bytes(uploaded["uuid"]) == png_bytes() == cdn_bytes(uploaded["cdnUrl"])
        file = File.objects.get(uuid=uploaded["uuid"])
        assert (file.original_filename, file.is_stored, file.source) == ("remote.png", True, "from_url")


def test_upload_client_file_info(upload_client, conformance, live_project):
    project, _ = live_project
    file = file_upload(
        project=project,
        content=ContentFile(png_bytes()),
        filename="photo.png",
        store=False,
        metadata={"subsystem": "tests"},
    )
    with conformance.record(UPLOAD_CLIENT, "file info"):
        info = ok(upload_client(("info", "info", {"uuid": str(file.uuid)})), "info")
        assert info["uuid"] == info["fileId"] == str(file.uuid)
        assert (info["size"], info["mimeType"], info["originalFilename"]) == (file.size, "image/png", "photo.png")
        assert (info["isImage"], info["isStored"], info["isReady"]) == (True, False, True)
        assert info["metadata"] == {"subsystem": "tests"}
        assert (info["imageInfo"]["width"], info["imageInfo"]["height"]) == (
            file.image_info["width"],
            file.image_info["height"],
        )


def test_upload_client_group(upload_client, conformance, live_server, live_project):
    project, _ = live_project
    files = [
        file_upload(project=project, content=ContentFile(name.encode()), filename=name, store=True)
        for name in ("one.txt", "two.txt")
    ]
    uuids = [str(f.uuid) for f in files]
    results = upload_client(("group", "group", {"uuids": uuids}))
    group_id = (results["group"].get("result") or {}).get("uuid")
    with conformance.record(UPLOAD_CLIENT, "create group"):
        group = ok(results, "group")
        assert group_id.endswith("~2") and group["filesCount"] == 2
        assert [f["uuid"] for f in group["files"]] == uuids
        assert group["cdnUrl"] == f"{live_server.url}/cdn/{group_id}/"
        assert [item["uuid"] for item in Group.objects.get(id=group_id, project=project).items] == uuids
    with conformance.record(UPLOAD_CLIENT, "group info"):
        info = ok(upload_client(("info", "groupInfo", {"id": group_id})), "info")
        assert (info["id"], info["filesCount"]) == (group_id, 2)
        assert [f["uuid"] for f in info["files"]] == uuids


# --- @uploadcare/rest-client, with each authentication scheme ---


@pytest.fixture(params=["signed", "simple"])
def rest_client_js(request, live_server, live_project, node):
    """Calls the REST client: rest_client_js(("id", "function", {options}), ...).

    The client keeps only the origin of its apiBaseURL; Filedock answers the REST API at the root too.
    """
    project, secret = live_project

    def run(*calls) -> dict:
        return node(
            "rest_client.mjs",
            {
                "apiBase": f"{live_server.url}/",
                "publicKey": project.public_key,
                "secretKey": secret,
                "auth": request.param,
                "calls": [{"id": call_id, "call": call, "args": args} for call_id, call, args in calls],
            },
        )

    run.client = f"@uploadcare/rest-client ({request.param})"
    return run


def make_files(project, *names: str, stored=()) -> list[File]:
    """Files uploaded a minute apart within the last hour, in the order named."""
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    files = []
    for i, name in enumerate(names):
        content = png_bytes() if name.endswith(".png") else name.encode()
        file = file_upload(project=project, content=ContentFile(content), filename=name, store=name in stored)
        File.objects.filter(pk=file.pk).update(datetime_uploaded=start + timedelta(minutes=i))
        file.refresh_from_db()
        files.append(file)
    return files


def test_rest_client_file_info(rest_client_js, conformance, live_project):
    project, _ = live_project
    [file] = make_files(project, "photo.png")
    with conformance.record(rest_client_js.client, "file info"):
        info = ok(rest_client_js(("info", "fileInfo", {"uuid": str(file.uuid)})), "info")
        assert (info["uuid"], info["size"], info["mimeType"]) == (str(file.uuid), file.size, "image/png")
        assert (info["originalFilename"], info["isImage"], info["isReady"]) == ("photo.png", True, True)
        assert info["datetimeUploaded"] == iso(file.datetime_uploaded)
        assert info["datetimeStored"] is None and info["datetimeRemoved"] is None
        assert info["contentInfo"]["image"]["width"] == file.image_info["width"]
        assert cdn_bytes(info["originalFileUrl"]) == png_bytes()


def listed(page: dict) -> list[str]:
    return [f["uuid"] for f in page["results"]]


def test_rest_client_list_files(rest_client_js, conformance, live_project):
    project, _ = live_project
    files = make_files(project, "a.txt", "b.txt", "c.txt", "d.txt", "e.txt", stored={"b.txt", "d.txt"})
    File.objects.filter(pk=files[4].pk).update(datetime_removed=timezone.now())
    uuids = [str(f.uuid) for f in files]
    present = uuids[:4]
    results = rest_client_js(
        ("oldest", "listOfFiles", {"limit": 2}),
        ("newest", "listOfFiles", {"limit": 2, "ordering": "-datetime_uploaded"}),
        ("stored", "listOfFiles", {"stored": True}),
        ("unstored", "listOfFiles", {"stored": False}),
        ("removed", "listOfFiles", {"removed": True}),
        ("from", "listOfFiles", {"from": iso(files[2].datetime_uploaded)}),
        ("from_newest", "listOfFiles", {"from": iso(files[1].datetime_uploaded), "ordering": "-datetime_uploaded"}),
    )
    with conformance.record(rest_client_js.client, "list files (both orderings)"):
        oldest = ok(results, "oldest")
        assert listed(oldest) == present[:2] and oldest["next"] and oldest["previous"] is None
        assert (oldest["total"], oldest["perPage"]) == (4, 2)
        assert oldest["totals"] == {"removed": 1, "stored": 2, "unstored": 2}
        assert listed(ok(results, "newest")) == present[::-1][:2]
    with conformance.record(rest_client_js.client, "list files (filters)"):
        assert listed(ok(results, "stored")) == [uuids[1], uuids[3]]
        assert listed(ok(results, "unstored")) == [uuids[0], uuids[2]]
        assert listed(ok(results, "removed")) == [uuids[4]]
        assert listed(ok(results, "from")) == present[2:]
        assert listed(ok(results, "from_newest")) == [uuids[1], uuids[0]]


def test_rest_client_iterate_files(rest_client_js, conformance, live_project):
    project, _ = live_project
    uuids = [str(f.uuid) for f in make_files(project, "a.txt", "b.txt", "c.txt", "d.txt", "e.txt", stored={"c.txt"})]
    results = rest_client_js(
        ("oldest", "iterate", {"limit": 2}),
        ("newest", "iterate", {"limit": 2, "ordering": "-datetime_uploaded"}),
        ("unstored", "iterate", {"limit": 2, "stored": False}),
    )
    with conformance.record(rest_client_js.client, "iterate files (both orderings, filter)"):
        assert [listed(page) for page in ok(results, "oldest")] == [uuids[:2], uuids[2:4], uuids[4:]]
        assert [listed(page) for page in ok(results, "newest")] == [uuids[:2:-1], uuids[2:0:-1], uuids[:1]]
        assert [listed(page) for page in ok(results, "unstored")] == [uuids[:2], uuids[3:]]


def test_rest_client_store_and_delete(rest_client_js, conformance, live_project):
    project, _ = live_project
    file = make_files(project, "a.txt")[0]
    results = rest_client_js(
        ("store", "storeFile", {"uuid": str(file.uuid)}), ("delete", "deleteFile", {"uuid": str(file.uuid)})
    )
    with conformance.record(rest_client_js.client, "store"):
        stored = ok(results, "store")
        assert stored["uuid"] == str(file.uuid) and stored["datetimeStored"] and stored["datetimeRemoved"] is None
    with conformance.record(rest_client_js.client, "delete"):
        deleted = ok(results, "delete")
        assert deleted["uuid"] == str(file.uuid) and deleted["datetimeRemoved"]
        file.refresh_from_db()
        assert file.is_stored and file.is_removed


def test_rest_client_batch_store_and_delete(rest_client_js, conformance, live_project):
    project, _ = live_project
    uuids = [str(f.uuid) for f in make_files(project, "a.txt", "b.txt")]
    batch = [*uuids, "not-a-uuid"]
    results = rest_client_js(("store", "storeFiles", {"uuids": batch}), ("delete", "deleteFiles", {"uuids": batch}))
    for call, done in (("store", "datetimeStored"), ("delete", "datetimeRemoved")):
        with conformance.record(rest_client_js.client, f"batch {call} (with a bad UUID)"):
            answer = ok(results, call)
            assert answer["status"] == "ok" and list(answer["problems"]) == ["not-a-uuid"]
            assert [f["uuid"] for f in answer["result"]] == uuids and all(f[done] for f in answer["result"])
    assert all(f.is_stored and f.is_removed for f in File.objects.filter(uuid__in=uuids))


def test_rest_client_metadata(rest_client_js, conformance, live_project):
    project, _ = live_project
    file = make_files(project, "a.txt")[0]
    uuid = str(file.uuid)
    results = rest_client_js(
        ("set", "updateMetadata", {"uuid": uuid, "key": "sub-system.v2", "value": "tests & more"}),
        ("all", "getMetadata", {"uuid": uuid}),
        ("one", "getMetadataValue", {"uuid": uuid, "key": "sub-system.v2"}),
        ("delete", "deleteMetadata", {"uuid": uuid, "key": "sub-system.v2"}),
        ("after", "getMetadata", {"uuid": uuid}),
    )
    with conformance.record(rest_client_js.client, "metadata set"):
        assert ok(results, "set") == "tests & more"
    with conformance.record(rest_client_js.client, "metadata get"):
        assert ok(results, "all") == {"sub-system.v2": "tests & more"}
        assert ok(results, "one") == "tests & more"
    with conformance.record(rest_client_js.client, "metadata delete"):
        assert ok(results, "delete") is None and ok(results, "after") == {}
        file.refresh_from_db()
        assert file.metadata == {}


def test_rest_client_group_info_and_delete(rest_client_js, conformance, live_project):
    project, _ = live_project
    uuids = [str(f.uuid) for f in make_files(project, "a.txt", "b.txt")]
    group = group_create(project=project, refs=[uuids[0], f"{uuids[1]}/-/resize/10x/"])
    results = rest_client_js(("info", "groupInfo", {"uuid": group.id}), ("delete", "deleteGroup", {"uuid": group.id}))
    with conformance.record(rest_client_js.client, "group info"):
        info = ok(results, "info")
        assert (info["id"], info["filesCount"]) == (group.id, 2)
        assert [f["uuid"] for f in info["files"]] == uuids
        assert [f["defaultEffects"] for f in info["files"]] == ["", "resize/10x/"]
    with conformance.record(rest_client_js.client, "group delete"):
        assert ok(results, "delete") is None
        assert not Group.objects.filter(id=group.id).exists()


def test_rest_client_webhooks(rest_client_js, conformance, live_project):
    project, _ = live_project
    target = "https://hooks.example.com/filedock"
    results = rest_client_js(
        (
            "create",
            "createWebhook",
            {"targetUrl": target, "event": "file.uploaded", "isActive": True, "signingSecret": "s3cret"},
        ),
        ("list", "listOfWebhooks", {}),
    )
    created = results["create"].get("result") or {}
    with conformance.record(rest_client_js.client, "webhook create"):
        ok(results, "create")
        assert (created["targetUrl"], created["event"], created["isActive"]) == (target, "file.uploaded", True)
        webhook = Webhook.objects.get(pk=created["id"], project=project)
        assert (webhook.target_url, webhook.signing_secret) == (target, "s3cret")
    with conformance.record(rest_client_js.client, "webhook list"):
        assert [(w["id"], w["targetUrl"]) for w in ok(results, "list")] == [(created["id"], target)]
    results = rest_client_js(
        (
            "update",
            "updateWebhook",
            {"id": created.get("id"), "targetUrl": f"{target}/v2", "event": "file.stored", "isActive": False},
        ),
        ("delete", "deleteWebhook", {"targetUrl": f"{target}/v2"}),
    )
    with conformance.record(rest_client_js.client, "webhook update"):
        updated = ok(results, "update")
        assert (updated["id"], updated["targetUrl"], updated["event"]) == (created["id"], f"{target}/v2", "file.stored")
        assert updated["isActive"] is False
    with conformance.record(rest_client_js.client, "webhook delete (unsubscribe)"):
        assert ok(results, "delete") is None
        assert not Webhook.objects.filter(project=project).exists()


def test_rest_client_with_the_dashboard_api_base(live_server, live_project, node, conformance):
    """The API base the dashboard shows ({site}/api/), as a developer would paste it into apiBaseURL."""
    project, secret = live_project
    results = node(
        "rest_client.mjs",
        {
            "apiBase": f"{live_server.url}/api/",
            "publicKey": project.public_key,
            "secretKey": secret,
            "auth": "simple",
            "calls": [{"id": "list", "call": "listOfWebhooks", "args": {}}],
        },
    )
    with conformance.record("@uploadcare/rest-client (simple)", "any call with apiBaseURL {site}/api/"):
        assert ok(results, "list") == []


def test_rest_client_execute_addon_and_status(rest_client_js, conformance, live_project, clamd, celery_worker):
    from files.addons.runs import CLAMAV
    from tests.clamd import EICAR
    from tests.helpers import wait_until

    project, _ = live_project
    file = file_upload(project=project, content=ContentFile(EICAR, name="e.com"), filename="e.com", store=True)
    with conformance.record(rest_client_js.client, "execute add-on (ClamAV)"):
        run = {"addonName": CLAMAV, "target": str(file.uuid), "params": {"purge_infected": False}}
        started = ok(rest_client_js(("run", "executeAddon", run)), "run")
        assert wait_until(lambda: File.objects.get(pk=file.uuid).infected, timeout=30)
    with conformance.record(rest_client_js.client, "add-on execution status"):
        asked = {"addonName": CLAMAV, "requestId": started["requestId"]}
        assert ok(rest_client_js(("status", "addonExecutionStatus", asked)), "status") == {"status": "done"}
        refused = rest_client_js(("bad", "executeAddon", {"addonName": "remove_bg", "target": str(file.uuid)}))["bad"]
        assert not refused["ok"] and refused["error"]["status"] == 400


@pytest.mark.parametrize("page", ["overview", "integrate"])
def test_the_dashboards_upload_client_snippet_prints_a_url_that_answers(
    page, client, live_server, live_project, node, tmp_path
):
    """The snippet as the dashboard shows it: its publicKey, baseURL and baseCDN, run in Node with
    upload-client, and the cdnUrl it prints fetched from the live server."""
    import html
    import re

    project, _ = live_project
    owner = project.memberships.get().user
    client.force_login(owner)
    host = live_server.url.removeprefix("http://")
    body = html.unescape(
        client.get(
            f"/projects/{project.pk}/{'' if page == 'overview' else 'integrate/'}", HTTP_HOST=host
        ).content.decode()
    )
    snippet = body[body.index('from "@uploadcare/upload-client"') :]
    values = dict(re.findall(r'(publicKey|baseURL|baseCDN): "([^"]*)"', snippet))
    (tmp_path / "a.png").write_bytes(png_bytes())
    job = {
        "uploadBase": values["baseURL"],
        "cdnBase": values["baseCDN"],
        "publicKey": values["publicKey"],
        "calls": [{"id": "up", "call": "upload", "args": {"path": str(tmp_path / "a.png"), "store": True}}],
    }
    uploaded = ok(node("upload_client.mjs", job), "up")
    assert cdn_bytes(uploaded["cdnUrl"]) == png_bytes()
