"""Conversions as jobs, run in the test process as a worker would run them (files.conversions.jobs):
real LibreOffice, poppler and ffmpeg on files made in the test."""

import io
import subprocess
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from billing.models import UsageDay
from files import services
from files.conversions import jobs
from files.conversions.paths import PathProblem, parse
from files.models import Conversion, Event, File, Group
from projects.services import project_create
from tests.factories import UserFactory, make_file
from tests.files.conversions.samples import mp4, odt, pdf

Status = Conversion.Status


@pytest.fixture
def project(db):
    return project_create(owner=UserFactory(), name="conversions")


def run(conversion: Conversion) -> Conversion:
    assert jobs.conversion_run(token=conversion.pk) in ("finished", "failed", "pending")
    conversion.refresh_from_db()
    return conversion


def read(file: File) -> bytes:
    with services.storage_for(file).open(file.storage_key, "rb") as stored:
        return stored.read()


def probe(data: bytes, entries: str) -> str:
    return subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", entries, "-of", "csv=p=0", "-"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout.decode()


def test_odt_becomes_a_pdf_file_of_the_project_with_its_upload_event(project, django_capture_on_commit_callbacks):
    source = make_file(project, name="letter.odt", data=odt("Dear Filedock,", "convert me."))
    with django_capture_on_commit_callbacks(execute=True):
        created = jobs.conversions_create(
            project=project, kind="document", paths=[f"{source.uuid}/document/-/format/pdf/"]
        )
    assert created.problems == {}
    conversion = run(created.conversions[0])
    assert conversion.status == Status.FINISHED and conversion.error == ""
    result = File.objects.get(pk=conversion.result_uuid)
    assert result.project == project and result.mime_type == "application/pdf" and result.source == "conversion"
    assert result.original_filename == "letter.pdf" and read(result).startswith(b"%PDF")
    event = Event.objects.get(file_uuid=result.uuid, type=Event.Type.FILE_UPLOADED)
    assert event.initiator["detail"]["source_file_uuid"] == str(source.uuid)
    assert UsageDay.objects.get(project=project).conversions == 1


def test_pdf_page_becomes_a_png_of_that_page(project):
    source = make_file(project, name="three.pdf", data=pdf(3))
    created = jobs.conversions_create(
        project=project, kind="document", paths=[f"{source.uuid}/document/-/format/png/-/page/2/"]
    )
    conversion = run(created.conversions[0])
    assert conversion.status == Status.FINISHED, conversion.error
    result = File.objects.get(pk=conversion.result_uuid)
    assert result.mime_type == "image/png" and result.image_info["width"] > 500


def test_multipage_pdf_to_jpg_is_a_zip_of_pages_and_with_save_in_group_a_group_too(project):
    source = make_file(project, name="three.pdf", data=pdf(3))
    created = jobs.conversions_create(
        project=project, kind="document", paths=[f"{source.uuid}/document/-/format/jpg/"], save_in_group="1"
    )
    conversion = run(created.conversions[0])
    assert conversion.status == Status.FINISHED, conversion.error
    archive = zipfile.ZipFile(io.BytesIO(read(File.objects.get(pk=conversion.result_uuid))))
    assert archive.namelist() == ["page-1.jpg", "page-2.jpg", "page-3.jpg"]
    group = Group.objects.get(pk=conversion.thumbnails_group_id)
    assert group.id.endswith("~3") and group.project == project
    pages = File.objects.filter(pk__in=[item["uuid"] for item in group.items])
    assert {page.mime_type for page in pages} == {"image/jpeg"}
    assert jobs.document_info(source)["format"]["converted_groups"] == {"jpg": group.id}


def test_page_past_the_end_fails_with_a_clear_error(project):
    source = make_file(project, name="two.pdf", data=pdf(2))
    created = jobs.conversions_create(
        project=project, kind="document", paths=[f"{source.uuid}/document/-/format/png/-/page/5/"]
    )
    conversion = run(created.conversions[0])
    assert conversion.status == Status.FAILED
    assert conversion.error == "The document has 2 pages; there is no page 5."


def test_broken_document_fails_with_a_clear_error(project):
    source = make_file(project, name="broken.docx", data=b"PK\x03\x04 this is not really a docx" * 20)
    created = jobs.conversions_create(project=project, kind="document", paths=[f"{source.uuid}/document/-/format/pdf/"])
    conversion = run(created.conversions[0])
    assert conversion.status == Status.FAILED
    assert "could not convert" in conversion.error
    assert not File.objects.filter(pk=conversion.result_uuid).exists()


def test_time_limit_kills_the_tool_and_fails_the_job(project, settings):
    settings.FILEDOCK_CONVERSION_TIME_LIMIT = 0.5
    source = make_file(project, name="long.mp4", data=mp4(seconds=30, size="640x480"))
    created = jobs.conversions_create(project=project, kind="video", paths=[f"{source.uuid}/video/-/format/webm/"])
    conversion = run(created.conversions[0])
    assert conversion.status == Status.FAILED
    assert "did not finish within the conversion time limit" in conversion.error


def test_mp4_becomes_a_sized_webm_with_thumbnails_in_the_group_given_out(project):
    source = make_file(project, name="clip.mp4", data=mp4(seconds=2))
    path = f"{source.uuid}/video/-/format/webm/-/size/160x160/add_padding/-/quality/lighter/-/thumbs~3/"
    created = jobs.conversions_create(project=project, kind="video", paths=[path])
    given = created.conversions[0].thumbnails_group_id
    assert given.endswith("~3")
    conversion = run(created.conversions[0])
    assert conversion.status == Status.FINISHED, conversion.error
    result = File.objects.get(pk=conversion.result_uuid)
    assert result.mime_type == "video/webm" and result.original_filename == "clip.webm"
    assert probe(read(result), "stream=codec_name,width,height").split() == ["vp9,160,160", "opus"]
    group = Group.objects.get(pk=given)
    thumbs = [File.objects.get(pk=item["uuid"]) for item in group.items]
    assert [thumb.mime_type for thumb in thumbs] == ["image/jpeg"] * 3
    assert {(thumb.image_info["width"], thumb.image_info["height"]) for thumb in thumbs} == {(160, 160)}


def test_cut_takes_the_part_asked_for(project):
    source = make_file(project, name="clip.mp4", data=mp4(seconds=4))
    created = jobs.conversions_create(project=project, kind="video", paths=[f"{source.uuid}/video/-/cut/0:01/1.5/"])
    conversion = run(created.conversions[0])
    assert conversion.status == Status.FINISHED, conversion.error
    length = float(probe(read(File.objects.get(pk=conversion.result_uuid)), "format=duration"))
    assert 1.3 < length < 1.8


def test_bad_paths_are_problems_and_good_ones_jobs(project):
    document = make_file(project, name="letter.odt", data=odt("hi"))
    image = make_file(project, data=b"plain text is a document")
    other = make_file(project_create(owner=UserFactory(), name="other"), name="x.odt", data=odt("x"))
    paths = [
        f"{document.uuid}/document/-/format/pdf/",
        f"{document.uuid}/document/-/format/mp3/",
        f"{document.uuid}/document/-/format/pdf/-/page/1/",
        f"{other.uuid}/document/-/format/pdf/",
        f"{uuid.uuid4()}/document/",
        "not-a-path",
        f"{image.uuid}/document/-/format/docx/",
    ]
    created = jobs.conversions_create(project=project, kind="document", paths=paths)
    assert [c.path for c in created.conversions] == [paths[0], paths[6]]
    assert created.problems == {
        paths[1]: "A odt document does not convert to mp3.",
        paths[2]: "-/page/ is for image formats (jpg, enhanced.jpg, png), not pdf.",
        paths[3]: "File not found in the project.",
        paths[4]: "File not found in the project.",
        paths[5]: "Bad path 'not-a-path': it starts with the file's UUID, then /document/.",
    }


def test_video_paths_parse_as_pyuploadcare_writes_them():
    file_id = str(uuid.uuid4())
    parsed = parse(f"{file_id}/video/-/format/ogg/-/size/640x/-/quality/best/-/cut/1:02.5/end/-/thumbs~10/", "video")
    assert parsed.params == {
        "format": "ogg",
        "quality": "best",
        "thumbs": 10,
        "size": {"width": 640, "height": None, "mode": "preserve_ratio"},
        "cut": {"start": 62.5, "length": None},
    }
    with pytest.raises(PathProblem, match="from 1 to 50"):
        parse(f"{file_id}/video/-/thumbs~51/", "video")
    with pytest.raises(PathProblem, match="needs both sides"):
        parse(f"{file_id}/video/-/size/640x/scale_crop/", "video")


def test_a_second_message_for_a_running_or_finished_job_does_nothing(project):
    source = make_file(project, name="letter.odt", data=odt("once"))
    conversion = jobs.conversions_create(
        project=project, kind="document", paths=[f"{source.uuid}/document/"]
    ).conversions[0]
    assert jobs.JOBS.take(conversion.pk)  # another worker holds it
    assert jobs.conversion_run(token=conversion.pk) == "not-due"
    Conversion.objects.filter(pk=conversion.pk).update(status=Status.PENDING, next_attempt_at=timezone.now())
    assert jobs.conversion_run(token=conversion.pk) == "finished"
    assert jobs.conversion_run(token=conversion.pk) == "not-due"
    assert File.objects.filter(source="conversion").count() == 1


def test_a_job_whose_result_was_written_by_a_dead_attempt_finishes_without_converting_again(project):
    source = make_file(project, name="letter.odt", data=odt("once"))
    conversion = jobs.conversions_create(
        project=project, kind="document", paths=[f"{source.uuid}/document/"]
    ).conversions[0]
    services.file_upload(
        project=project, content=ContentFile(b"%PDF-1.4 already", name="x.pdf"), filename="x.pdf", store=True,
        file_uuid=conversion.result_uuid,
    )  # fmt: skip
    Conversion.objects.filter(pk=conversion.pk).update(status=Status.PROCESSING, attempts=1)  # lease over already
    assert jobs.conversion_run(token=conversion.pk) == "finished"
    assert File.objects.filter(source="conversion").count() == 0  # the one there was kept, none added


def test_sweep_resends_lost_and_abandoned_jobs(project, broker_queue):
    source = make_file(project, name="letter.odt", data=odt("lost"))
    old = timezone.now() - timedelta(minutes=5)
    lost = jobs.conversions_create(project=project, kind="document", paths=[f"{source.uuid}/document/"]).conversions[0]
    Conversion.objects.filter(pk=lost.pk).update(next_attempt_at=old, created_at=old)
    abandoned = jobs.conversions_create(
        project=project, kind="document", paths=[f"{source.uuid}/document/-/format/docx/"]
    ).conversions[0]
    Conversion.objects.filter(pk=abandoned.pk).update(status=Status.PROCESSING, attempts=1, next_attempt_at=old)
    jobs.conversions_create(project=project, kind="document", paths=[f"{source.uuid}/document/-/format/txt/"])  # new
    broker_queue.redis.delete(broker_queue.name)
    assert jobs.conversion_sweep() == 2
    assert sorted(broker_queue.args(jobs.RUN_TASK)) == sorted([[str(lost.pk)], [str(abandoned.pk)]])


def test_missing_tool_is_a_problem_naming_what_to_install(project, monkeypatch, tmp_path):
    document = make_file(project, name="letter.odt", data=odt("hi"))
    clip = make_file(project, name="clip.mp4", data=mp4(seconds=1))
    monkeypatch.setenv("PATH", str(tmp_path))  # a server without LibreOffice and ffmpeg
    created = jobs.conversions_create(project=project, kind="document", paths=[f"{document.uuid}/document/"])
    assert "apt-get install libreoffice-writer-nogui" in created.problems[f"{document.uuid}/document/"]
    created = jobs.conversions_create(project=project, kind="video", paths=[f"{clip.uuid}/video/"])
    assert created.problems == {
        f"{clip.uuid}/video/": "Video conversion needs ffmpeg on the server (apt-get install ffmpeg)."
    }
    assert "LibreOffice" in jobs.tools_missing("document") and "ffmpeg" in jobs.tools_missing("video")


def test_linked_images_in_a_document_are_not_fetched_by_libreoffice(project, httpserver):
    httpserver.expect_request("/x.png").respond_with_data(b"", status=404)
    page = f'<html><body><p>hello</p><img src="{httpserver.url_for("/x.png")}"></body></html>'
    source = make_file(project, name="page.html", data=page.encode())
    conversion = run(
        jobs.conversions_create(project=project, kind="document", paths=[f"{source.uuid}/document/"]).conversions[0]
    )
    assert conversion.status == Status.FINISHED, conversion.error
    assert httpserver.log == []  # a plain soffice run asks for it (OPTIONS, then GET)


def test_a_bad_store_value_is_refused(project):
    source = make_file(project, name="letter.odt", data=odt("hi"))
    with pytest.raises(PathProblem, match="store is"):
        jobs.conversions_create(project=project, kind="document", paths=[f"{source.uuid}/document/"], store="maybe")


# pyuploadcare's convert() sends `str(store).lower()` for a bool: "true" or "false"; 1/0 as the
# Upload API writes them; nothing (None) leaves it to the project's autostore at the end.
@pytest.mark.parametrize(("store", "kept"), [("true", True), ("false", False), ("1", True), ("0", False), (None, None)])
def test_the_store_values_clients_send_are_recorded_on_the_job(project, store, kept):
    source = make_file(project, name="letter.odt", data=odt("hi"))
    path = f"{source.uuid}/document/-/format/pdf/"
    created = jobs.conversions_create(project=project, kind="document", paths=[path], store=store)
    assert created.conversions[0].store is kept
