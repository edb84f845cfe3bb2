"""Document and video conversion through the official clients unmodified (pyuploadcare's
convert_document / convert_video and its convert APIs; @uploadcare/rest-client's convert,
conversionJobStatus and conversionInfo), with a real Celery worker running LibreOffice, poppler
and ffmpeg on files made in the test.

Where the clients disagree: pyuploadcare reads a document's converted groups inside `format`
(`format.converted_groups`, required), rest-client's types at the top (`convertedGroups`); the
answer carries both.
"""

import urllib.request

import pytest
from pyuploadcare.exceptions import InvalidRequestError
from pyuploadcare.transformations.document import DocumentFormat, DocumentTransformation
from pyuploadcare.transformations.video import Quality, ResizeMode, VideoFormat, VideoTransformation

from files.models import Conversion, File
from tests.files.conversions.samples import mp4, odt, pdf
from tests.helpers import wait_until

DONE = ("finished", "failed", "cancelled")


def file_of(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path.open("rb")  # pyuploadcare sends real files (it asks for their size by fileno)


def cdn_bytes(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        assert response.status == 200
        return response.read()


def finished(status_of, token: int, timeout: float = 60):
    """Polls a job's status through the client until it is done; returns the last status."""
    answers = []
    assert wait_until(lambda: answers.append(status_of(token)) or answers[-1].status in DONE, timeout), answers[-1:]
    return answers[-1]


def test_pyuploadcare_converts_an_odt_to_pdf_and_polls_its_status(uploadcare, celery_worker, tmp_path, conformance):
    with file_of(tmp_path, "letter.odt", odt("Dear Filedock,", "please convert me.")) as handle:
        source = uploadcare.upload(handle, store=True)
    api = uploadcare.document_convert_api
    with conformance.record("pyuploadcare", "document_convert_api.convert + status"):
        path = DocumentTransformation().format(DocumentFormat.pdf).path(source.uuid)
        response = api.convert([path], store=True)
        assert not response.problems
        [info] = response.result
        assert info.original_source == path and isinstance(info.token, int)
        status = finished(api.status, info.token)
        assert (status.status, status.error, status.result.uuid) == ("finished", None, info.uuid)
    with conformance.record("pyuploadcare", "converted document's file info"):
        result = uploadcare.file(str(info.uuid))
        assert result.info["mime_type"] == "application/pdf" and result.info["original_filename"] == "letter.pdf"
        assert result.is_stored
        assert cdn_bytes(result.cdn_url).startswith(b"%PDF")
    with conformance.record("pyuploadcare", "document_convert_api.retrieve"):
        formats = api.retrieve(source.uuid)
        assert formats.error is None and formats.format.name == "odt"
        assert {"pdf", "docx", "png", "jpg"} <= {f.name for f in formats.format.conversion_formats}


def test_pyuploadcare_file_convert_document_pdf_page_to_png(uploadcare, celery_worker, tmp_path, conformance):
    with file_of(tmp_path, "three.pdf", pdf(3)) as handle:
        source = uploadcare.upload(handle, store=True)
    with conformance.record("pyuploadcare", "File.convert_document (page to png)"):
        converted = source.convert_document(DocumentTransformation().format(DocumentFormat.png).page(2))
        conversion = Conversion.objects.get(result_uuid=converted.uuid)
        assert wait_until(lambda: Conversion.objects.get(pk=conversion.pk).status in DONE, 60)
        converted.update_info()
        assert converted.info["mime_type"] == "image/png" and converted.info["is_image"]
        assert converted.info["content_info"]["image"]["width"] > 500


def test_pyuploadcare_save_in_group_makes_a_group_of_pages(uploadcare, celery_worker, tmp_path, conformance):
    with file_of(tmp_path, "three.pdf", pdf(3)) as handle:
        source = uploadcare.upload(handle, store=True)
    with conformance.record("pyuploadcare", "File.convert_document(save_in_group) + get_converted_document_group"):
        converted = source.convert(DocumentTransformation().format(DocumentFormat.jpg), save_in_group=True)
        conversion = Conversion.objects.get(result_uuid=converted.uuid)
        assert wait_until(lambda: Conversion.objects.get(pk=conversion.pk).status in DONE, 60)
        group = source.get_converted_document_group(DocumentFormat.jpg)
        assert group.id.endswith("~3")
        assert [file.info["mime_type"] for file in group] == ["image/jpeg"] * 3
        assert File.objects.get(pk=converted.uuid).mime_type == "application/zip"  # every page, zipped


def test_pyuploadcare_converts_an_mp4_to_a_sized_webm_with_thumbnails(uploadcare, celery_worker, tmp_path, conformance):
    with file_of(tmp_path, "clip.mp4", mp4(seconds=2)) as handle:
        source = uploadcare.upload(handle, store=True)
    transformation = (
        VideoTransformation()
        .format(VideoFormat.webm)
        .size(width=160, height=120, resize_mode=ResizeMode.scale_crop)
        .quality(Quality.lighter)
        .thumbs(2)
    )
    with conformance.record("pyuploadcare", "File.convert_video + video_convert_api.status"):
        converted = source.convert_video(transformation, store=True)
        assert converted.thumbnails_group_uuid.endswith("~2")
        token = Conversion.objects.get(result_uuid=converted.uuid).pk
        status = finished(uploadcare.video_convert_api.status, token)
        assert status.status == "finished", status.error
        assert str(status.result.uuid) == str(converted.uuid)
        assert status.result.thumbnails_group_uuid == converted.thumbnails_group_uuid
    with conformance.record("pyuploadcare", "converted video's file info and thumbnails group"):
        converted.update_info()
        assert converted.info["mime_type"] == "video/webm" and converted.info["original_filename"] == "clip.webm"
        thumbs = uploadcare.file_group(converted.thumbnails_group_uuid)
        sizes = {(f.info["content_info"]["image"]["width"], f.info["content_info"]["image"]["height"]) for f in thumbs}
        assert sizes == {(160, 120)}


def test_pyuploadcare_bad_paths_come_back_as_problems(uploadcare, live_project, tmp_path, conformance):
    with file_of(tmp_path, "letter.odt", odt("hi")) as handle:
        source = uploadcare.upload(handle, store=True)
    good = f"{source.uuid}/document/-/format/pdf/"
    bad = [f"{source.uuid}/document/-/format/mp4/", f"{source.uuid}/video/-/format/webm/", "nonsense/document/"]
    with conformance.record("pyuploadcare", "document_convert_api.convert (problems)"):
        response = uploadcare.document_convert_api.convert([good, *bad])
        assert [info.original_source for info in response.result] == [good]
        assert set(response.problems) == set(bad)
        assert response.problems[bad[0]] == "A odt document does not convert to mp4."
    with conformance.record("pyuploadcare", "video_convert_api.convert (problems)"):
        response = uploadcare.video_convert_api.convert([f"{source.uuid}/video/-/format/webm/"])
        assert response.result == [] and "Not a video" in response.problems[f"{source.uuid}/video/-/format/webm/"]
    with conformance.record("pyuploadcare", "a conversion's result before it is made (file info)"):
        waiting = source.convert_document(DocumentTransformation().format(DocumentFormat.pdf))  # no worker here
        info = uploadcare.file(str(waiting.uuid)).info
        assert (str(info["uuid"]), info["is_ready"], info["size"], info["mime_type"]) == (
            str(waiting.uuid),
            False,
            0,
            "",
        )
    with (
        conformance.record("pyuploadcare", "File.convert_document raises for a problem"),
        pytest.raises(InvalidRequestError, match="does not convert to xlsx"),
    ):
        source.convert_document(DocumentTransformation().format(DocumentFormat.xlsx))


@pytest.fixture(params=["signed", "simple"])
def rest_client_js(request, live_server, live_project, node):
    """Calls @uploadcare/rest-client: rest_client_js(("id", "function", {options}), ...)."""
    project, secret = live_project

    def run(*calls) -> dict:
        job = {
            "apiBase": f"{live_server.url}/",
            "publicKey": project.public_key,
            "secretKey": secret,
            "auth": request.param,
            "calls": [{"id": call_id, "call": call, "args": args} for call_id, call, args in calls],
        }
        return node("rest_client.mjs", job)

    run.client = f"@uploadcare/rest-client ({request.param})"
    return run


def ok(results: dict, call_id: str):
    outcome = results[call_id]
    assert outcome["ok"], f"{call_id}: {outcome['error']}"
    return outcome["result"]


def test_rest_client_convert_status_and_info(rest_client_js, live_project, celery_worker, conformance):
    from django.core.files.base import ContentFile

    from files.services import file_upload

    project, _ = live_project
    document = file_upload(project=project, content=ContentFile(odt("hi"), name="a.odt"), filename="a.odt", store=True)
    video = file_upload(
        project=project, content=ContentFile(mp4(seconds=1), name="v.mp4"), filename="v.mp4", store=True
    )
    doc_path, video_path = f"{document.uuid}/document/-/format/docx/", f"{video.uuid}/video/-/format/ogg/-/thumbs~1/"
    bad_path = f"{document.uuid}/document/-/format/png/-/page/0/"
    with conformance.record(rest_client_js.client, "convert"):
        results = rest_client_js(
            (
                "doc",
                "convert",
                {"type": "document", "paths": [doc_path, bad_path], "store": True, "saveInGroup": False},
            ),
            ("video", "convert", {"type": "video", "paths": [video_path], "store": False}),
        )
        converted = ok(results, "doc")
        assert [r["originalSource"] for r in converted["result"]] == [doc_path]
        assert converted["problems"] == {bad_path: "-/page/0/: a page is a number from 1."}
        [clip] = ok(results, "video")["result"]
        assert clip["thumbnailsGroupUuid"].endswith("~1")
    with conformance.record(rest_client_js.client, "conversionJobStatus"):
        token = converted["result"][0]["token"]

        def statuses():
            return rest_client_js(
                ("doc", "conversionJobStatus", {"type": "document", "token": token}),
                ("video", "conversionJobStatus", {"type": "video", "token": clip["token"]}),
            )

        answers = []
        assert wait_until(
            lambda: answers.append(statuses()) or {ok(answers[-1], k)["status"] for k in ("doc", "video")} <= set(DONE),
            90,
        )
        assert ok(answers[-1], "doc") == {
            "status": "finished",
            "error": None,
            "result": {"uuid": converted["result"][0]["uuid"]},
        }
        assert ok(answers[-1], "video")["result"]["thumbnailsGroupUuid"] == clip["thumbnailsGroupUuid"]
        assert File.objects.get(pk=clip["uuid"]).mime_type == "video/ogg"
        assert not File.objects.get(pk=clip["uuid"]).is_stored
    with conformance.record(rest_client_js.client, "conversionInfo"):
        info = ok(rest_client_js(("info", "conversionInfo", {"uuid": str(document.uuid)})), "info")
        assert info["error"] is None and info["format"]["name"] == "odt" and info["convertedGroups"] == {}
        assert {"name": "pdf"} in info["format"]["conversionFormats"]
