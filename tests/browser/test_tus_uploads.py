"""The files page's large uploads in Chromium: a file above the threshold goes over tus in chunks
(static/js/tus.js) while a small one still posts the form, and an upload cut off after its first
chunk resumes from the server's offset when the page is reloaded and the same file picked again.
Bytes are compared through the CDN."""

import os
import re
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from files.dashboard.tus import CHUNK_SIZE, TUS_THRESHOLD
from files.models import File, MultipartUpload
from projects.services import project_create
from tests.browser.pages import sign_in
from tests.factories import UserFactory

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
SIZE = 2 * CHUNK_SIZE + 123_456  # above the threshold: three chunks, the last one short
TUS_URL = re.compile(r"/files/tus/")


def _cdn_bytes(live_server, file: File) -> bytes:
    with urllib.request.urlopen(f"{live_server.url}/cdn/{file.uuid}/") as answer:
        return answer.read()


def _tus_requests(page) -> list[tuple[str, str | None]]:
    """(method, Upload-Offset) of every tus request the page sends from now on."""
    seen = []
    page.on(
        "request", lambda r: seen.append((r.method, r.headers.get("upload-offset"))) if TUS_URL.search(r.url) else None
    )
    return seen


def _wait(page, predicate, timeout: float = 30.0) -> bool:
    """Polls `predicate` while Playwright keeps serving the page's routes (a plain sleep would hold them)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(100)
    return True


def _files_page(page, live_server, name: str):
    user = UserFactory(email=f"{name.lower()}@example.com")
    project = project_create(owner=user, name=name)
    sign_in(page, user)
    page.goto(f"/projects/{project.pk}/files/")
    expect(page.locator("form[data-upload].js-upload")).to_have_count(1)
    return project


@pytest.mark.browser
def test_a_large_file_goes_over_tus_and_a_small_one_posts_the_form(page, live_server, tmp_path):
    assert SIZE > TUS_THRESHOLD
    project = _files_page(page, live_server, "Large")
    big, small = tmp_path / "survey-scan.bin", tmp_path / "notes.txt"
    big.write_bytes(data := os.urandom(SIZE))
    small.write_bytes(b"a small note\n")
    requests = _tus_requests(page)

    page.set_input_files("form[data-upload] input[type=file]", [str(big), str(small)])
    rows = page.locator("[data-upload-list] li")
    expect(rows.filter(has_text="survey-scan.bin")).to_have_class("done", timeout=60_000)
    expect(rows.filter(has_text="notes.txt")).to_have_class("done")
    expect(rows.filter(has_text="survey-scan.bin")).to_have_attribute("data-via", "tus")
    expect(rows.filter(has_text="notes.txt")).not_to_have_attribute("data-via", "tus")
    expect(rows.filter(has_text="survey-scan.bin").locator(".upload-status")).to_have_text("Uploaded")
    # The list shows both once they are in, as after the form's uploads.
    listed = page.locator("#file-table tbody tr[data-file]")
    expect(listed).to_have_count(2)
    expect(listed.filter(has_text="survey-scan.bin")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tus-upload.png"), full_page=True)

    assert requests == [("POST", None), ("PATCH", "0"), ("PATCH", str(CHUNK_SIZE)), ("PATCH", str(2 * CHUNK_SIZE))]
    large = File.objects.get(project=project, original_filename="survey-scan.bin")
    upload = MultipartUpload.objects.get(pk=large.uuid)  # the tus upload the file was made from
    assert (upload.received, upload.size, large.size, large.source) == (SIZE, SIZE, SIZE, "dashboard")
    note = File.objects.get(project=project, original_filename="notes.txt")
    assert not MultipartUpload.objects.filter(pk=note.uuid).exists()  # one form POST
    assert _cdn_bytes(live_server, large) == data
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('filedock-tus:'))") == []


@pytest.mark.browser
def test_an_upload_cut_after_its_first_chunk_resumes_after_a_reload(page, live_server, tmp_path):
    project = _files_page(page, live_server, "Resume")
    path = tmp_path / "field-recording.wav"
    path.write_bytes(data := os.urandom(SIZE))
    picker = "form[data-upload] input[type=file]"

    # The connection breaks after the first chunk: every later PATCH is cut off.
    def cut(route):
        if route.request.method == "PATCH" and route.request.headers.get("upload-offset") != "0":
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(TUS_URL, cut)
    first_round = _tus_requests(page)
    page.set_input_files(picker, str(path))
    assert _wait(page, lambda: MultipartUpload.objects.filter(project=project, received=CHUNK_SIZE).exists())
    # The page retries with backoff, asking where the upload stands before each new attempt.
    assert _wait(page, lambda: first_round.count(("PATCH", str(CHUNK_SIZE))) >= 2)
    assert first_round[:4] == [("POST", None), ("PATCH", "0"), ("PATCH", str(CHUNK_SIZE)), ("HEAD", None)]
    upload = MultipartUpload.objects.get(project=project)
    assert upload.received == CHUNK_SIZE and not File.objects.filter(project=project).exists()

    # The page is reloaded mid-upload; the same file picked again carries on from the server's offset.
    page.unroute(TUS_URL)
    page.reload()
    expect(page.locator("form[data-upload].js-upload")).to_have_count(1)
    kept = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('filedock-tus:'))")
    assert len(kept) == 1 and "field-recording.wav" in kept[0]
    second_round = _tus_requests(page)
    page.set_input_files(picker, str(path))
    expect(page.locator("[data-upload-list] li")).to_have_class("done", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "tus-resumed.png"), full_page=True)

    # No new upload, and only the bytes the server did not have were sent again.
    assert second_round == [("HEAD", None), ("PATCH", str(CHUNK_SIZE)), ("PATCH", str(2 * CHUNK_SIZE))]
    assert list(MultipartUpload.objects.filter(project=project).values_list("pk", flat=True)) == [upload.pk]
    file = File.objects.get(project=project)
    assert (file.uuid, file.size, file.original_filename) == (upload.pk, SIZE, "field-recording.wav")
    assert _cdn_bytes(live_server, file) == data
    expect(page.locator("#file-table tbody tr[data-file]")).to_have_count(1)
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('filedock-tus:'))") == []


@pytest.mark.browser
def test_a_refused_tus_upload_says_why_in_its_row(page, live_server, tmp_path):
    project = _files_page(page, live_server, "Refused")
    project.max_file_size = TUS_THRESHOLD + 1  # the page was rendered before: the server decides
    project.save()
    path = tmp_path / "too-big.bin"
    path.write_bytes(os.urandom(TUS_THRESHOLD + 2))
    requests = _tus_requests(page)
    page.set_input_files("form[data-upload] input[type=file]", str(path))
    row = page.locator("[data-upload-list] li")
    expect(row).to_have_class("failed")
    expect(row.locator(".upload-status")).to_have_text(
        "“too-big.bin” is 10.0\xa0MB: files larger than 10.0\xa0MB are not accepted (a limit set by this project)."
    )
    assert requests == [("POST", None)]  # refused at creation: no byte sent
    assert not MultipartUpload.objects.filter(project=project).exists()
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('filedock-tus:'))") == []
