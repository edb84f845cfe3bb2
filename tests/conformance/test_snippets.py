"""Every Python snippet a developer is shown — the overview, the Integrate page and the README — run
as pasted with pyuploadcare against the live server, and the URL it prints fetched from the CDN.

Only what the snippet asks the reader to fill in is filled in: the secret key, and in the README
(written for `make run`) the live server's address in place of 127.0.0.1:8000 and :8001."""

import html
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import pyvips
from django.core.files.base import ContentFile

from files.services import file_upload
from projects.services import delivery_secret_create, project_configure_delivery

README = Path(__file__).resolve().parents[2] / "README.md"


def _photo(directory: Path) -> bytes:
    data = pyvips.Image.black(24, 16).jpegsave_buffer()
    (directory / "photo.jpg").write_bytes(data)
    return data


def _run(code: str, directory: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=directory, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _page_snippet(client, live_server, project, page: str) -> str:
    client.force_login(project.memberships.get().user)
    path = f"/projects/{project.pk}/" + ("" if page == "overview" else "integrate/")
    body = client.get(path, HTTP_HOST=live_server.url.removeprefix("http://")).content.decode()
    found = re.search(r'data-testid="snippet-pyuploadcare"><code>(.*?)</code>', body, re.S)
    assert found, f"no pyuploadcare snippet on the {page} page"
    return html.unescape(found.group(1))


@pytest.mark.parametrize("where", ["overview", "integrate"])
def test_the_dashboards_pyuploadcare_snippet_uploads_and_prints_a_url_that_answers(
    where, client, live_server, live_project, tmp_path
):
    project, secret = live_project
    snippet = _page_snippet(client, live_server, project, where)
    assert snippet.count("YOUR_SECRET_KEY") == 1  # the one thing the reader fills in
    photo = _photo(tmp_path)

    printed = _run(snippet.replace("YOUR_SECRET_KEY", secret), tmp_path)

    assert printed.startswith(f"{live_server.url}/cdn/"), printed
    assert urllib.request.urlopen(printed, timeout=10).read() == photo


def test_the_readmes_pyuploadcare_snippet_configures_a_client_that_uploads(live_server, live_project, tmp_path):
    project, secret = live_project
    readme = README.read_text()
    section = readme[readme.index("## Pointing the official clients at Filedock") :]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    snippet = (
        snippet.replace('"your project\'s public key"', repr(project.public_key))
        .replace('"a secret key"', repr(secret))
        .replace("http://127.0.0.1:8001/", f"{live_server.url}/cdn/")
        .replace("http://127.0.0.1:8000/", f"{live_server.url}/")
    )
    assert project.public_key in snippet and secret in snippet and "127.0.0.1:800" not in snippet
    photo = _photo(tmp_path)
    use = '\nwith open("photo.jpg", "rb") as f:\n    print(uploadcare.upload(f, store=True).cdn_url)\n'

    printed = _run(snippet + use, tmp_path)

    assert urllib.request.urlopen(printed, timeout=10).read() == photo


@pytest.mark.parametrize("which", ["signed-pyuploadcare", "signed-stdlib"])
def test_the_delivery_pages_signing_snippets_print_a_url_that_answers(
    which, client, live_server, live_project, tmp_path
):
    project, secret = live_project
    _, delivery_secret = delivery_secret_create(project=project)
    project_configure_delivery(
        project=project, signed_delivery=True, auto_format=False, default_quality="", download_non_images=False
    )
    file = file_upload(
        project=project, content=ContentFile(b"signed bytes", name="a.txt"), filename="a.txt", store=True
    )
    client.force_login(project.memberships.get().user)
    page = client.get(f"/projects/{project.pk}/delivery/", HTTP_HOST=live_server.url.removeprefix("http://"))
    found = re.search(rf'data-testid="snippet-{which}"><code>(.*?)</code>', page.content.decode(), re.S)
    snippet = html.unescape(found.group(1))
    if which == "signed-stdlib":  # a function: the reader calls it
        snippet += f"\nprint(signed({str(file.uuid)!r}, {delivery_secret!r}))\n"
    snippet = (
        snippet.replace("YOUR_DELIVERY_SECRET", delivery_secret)
        .replace("YOUR_SECRET_KEY", secret)
        .replace("FILE_UUID", str(file.uuid))
    )

    printed = _run(snippet, tmp_path)

    assert "token=" in printed
    assert urllib.request.urlopen(printed, timeout=10).read() == b"signed bytes"
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(printed.split("?")[0], timeout=10)
    assert unsigned.value.code == 403
