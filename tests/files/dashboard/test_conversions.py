"""The files browser's conversions: the detail page lists a file's conversions and offers
"Convert…" for documents and videos; a member starts one; where the tools are missing it says so."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from files.models import Conversion
from files.services import file_upload
from tests.files.conversions.samples import odt


@pytest.fixture
def document(team):
    return file_upload(project=team.project, content=ContentFile(odt("hi"), name="a.odt"), filename="a.odt", store=True)


def detail(team, file):
    return reverse("files:detail", kwargs={"project_id": team.project.pk, "file_id": file.uuid})


def convert(team, file):
    return reverse("files:convert", kwargs={"project_id": team.project.pk, "file_id": file.uuid})


def test_member_converts_a_document_and_sees_the_job_on_its_page(login, team, document):
    client = login(team.member)
    page = client.get(detail(team, document)).content.decode()
    assert "Convert…" in page and '<option value="pdf">' in page
    response = client.post(convert(team, document), {"format": "docx"})
    assert response.status_code == 302 and response["Location"] == detail(team, document)
    job = Conversion.objects.get(source=document)
    assert (
        job.path == f"{document.uuid}/document/-/format/docx/"
        and job.params["initiator"]["detail"]["source"] == "dashboard"
    )
    page = client.get(detail(team, document)).content.decode()
    assert f'data-conversion="{job.pk}"' in page and "Converting “a.odt” to docx." in page


def test_viewer_cannot_convert(login, team, document):
    assert login(team.viewer).post(convert(team, document), {"format": "pdf"}).status_code == 403
    assert not Conversion.objects.exists()


def test_a_format_the_file_does_not_convert_to_is_refused_with_a_message(login, team, document):
    client = login(team.member)
    response = client.post(convert(team, document), {"format": "mp4"}, follow=True)
    assert "Choose a format this file converts to" in response.content.decode()
    assert not Conversion.objects.exists()


def test_a_plain_image_offers_no_conversion(login, team):
    from tests.helpers import png_bytes

    image = file_upload(
        project=team.project, content=ContentFile(png_bytes(60, 40), name="a.png"), filename="a.png", store=True
    )
    assert 'id="conversions"' not in login(team.member).get(detail(team, image)).content.decode()


def test_without_libreoffice_the_page_says_what_to_install(login, team, document, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a server without LibreOffice
    page = login(team.member).get(detail(team, document)).content.decode()
    assert "data-conversion-missing" in page and "apt-get install libreoffice-writer-nogui" in page
    assert "Convert…" not in page
