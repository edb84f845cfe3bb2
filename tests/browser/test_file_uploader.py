"""@uploadcare/file-uploader, unmodified, in Chromium against a live Filedock: a page of our own
loads the package's browser bundle from node_modules, uploads an image through Filedock's Upload
API, crops and rotates it in the cloud image editor, finishes, and the `cdnUrl` the uploader hands
the page must serve the edited image from Filedock's CDN.

The uploader keeps only the origin of its `cdn-cname` (it builds `{origin}/{uuid}/...`), so the
CDN gets an origin of its own here, `http://localhost:{port}/` (config.middleware routes that host
to config.cdn_urls), and the page reaches the Upload API as `http://127.0.0.1:{port}/upload/`.

What the uploader and its editor ask the CDN for (1.33.2), for a file at `{cdn}/{uuid}/`; this
test's run is logged, with statuses, to tests/artifacts/file-uploader-cdn-requests.txt:
- `{uuid}/-/json/`, by fetch() from the page's origin (so with CORS), for `width` and `height`;
  without it the editor shows "Network error" and cannot crop;
- the picture it draws, as <img>s: `{uuid}/-/format/auto/-/progressive/yes/[EDITS]-/quality/normal/
  -/stretch/off/-/resize/{W}x/-/@clib/blocks/1.33.2/uc-cloud-image-editor/` (`quality/lightest` at a
  device pixel ratio of 2 or more; `@clib/...` only names the client);
- on the Filters tab (not opened here), each filter's thumbnail: `{uuid}/-/format/auto/
  -/progressive/yes/[EDITS]-/filter/{name}/100/-/quality/normal/-/scale_crop/{S}x{S}/center/
  -/@clib/...`;
- the upload list's thumbnail: `{uuid}/[-/crop/WxH/X,Y/-/preview/]-/stretch/off/
  -/scale_crop/76x76/center/`.
EDITS are in this order, each only when set: enhance/N, brightness/N, exposure/N, gamma/N,
contrast/N, saturation/N, vibrance/N, warmth/N, filter/NAME/N, mirror, flip, rotate/90|180|270,
crop/WxH/X,Y. The URL it hands back is `{uuid}/-/[EDITS]/-/preview/`, here
`{uuid}/-/rotate/90/-/crop/WxH/X,Y/-/preview/`: the turn comes first, so the crop's numbers are in
the turned picture's coordinates. With a crop preset the uploader also sets
`{uuid}/-/crop/WxH/X,Y/-/preview/` (the first preset, centred) on upload, from the Upload API's
`image_info`.
"""

import io
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from playwright.sync_api import expect

from files.models import File
from projects.services import project_create
from tests.browser.pages import live_port as _port
from tests.factories import UserFactory

JS_DIR = Path(__file__).resolve().parent.parent / "conformance" / "js"
PACKAGE = JS_DIR / "node_modules" / "@uploadcare" / "file-uploader"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CTX = "filedock"

# The source picture: left half red, right half blue, so a crop and a quarter turn show in the
# colours as well as in the size.
SOURCE_SIZE = (640, 400)
RED, BLUE = (220, 30, 30), (30, 30, 220)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>File Uploader against Filedock</title>
<link rel="stylesheet" href="/uploader/uc-file-uploader-inline.min.css">
<style>uc-file-uploader-inline { display: block; height: 640px; }</style>
<script type="module">
  import * as UC from '/uploader/file-uploader.min.js'
  UC.defineComponents(UC)
  window.ucEvents = []
  const provider = document.querySelector('uc-upload-ctx-provider')
  for (const type of Object.values(UC.UploadCtxProvider.EventType)) {
    provider.addEventListener(type, (event) => {
      window.ucEvents.push({ type, detail: JSON.parse(JSON.stringify(event.detail ?? null)) })
    })
  }
  window.ucReady = true
</script>
</head>
<body>
<uc-config
  ctx-name="%(ctx)s"
  pubkey="%(pubkey)s"
  base-url="%(upload_base)s"
  cdn-cname="%(cdn_cname)s"
  source-list="local"
  multiple="false"
  img-only="true"
  use-cloud-image-editor="true"
  crop-preset="%(crop_preset)s"
  quality-insights="false"
  retry-network-error-max-times="0"
></uc-config>
<uc-file-uploader-inline ctx-name="%(ctx)s"></uc-file-uploader-inline>
<uc-upload-ctx-provider ctx-name="%(ctx)s"></uc-upload-ctx-provider>
</body>
</html>
"""


def _source_png() -> bytes:
    width, height = SOURCE_SIZE
    image = Image.new("RGB", SOURCE_SIZE, BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def file_uploader_web() -> Path:
    """The package's browser bundles and CSS (`web/`), installed by `make test` with the others."""
    if not (PACKAGE / "web").is_dir():
        pytest.fail(f"@uploadcare/file-uploader is not installed in {JS_DIR}: `make test` installs it (npm ci).")
    return PACKAGE / "web"


class _PageServer:
    """Serves the test's page at / and the package's `web/` folder under /uploader/, on its own
    origin (as a customer's site would)."""

    def __init__(self, web: Path):
        self.html = ""
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/":
                    body = server.html.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path.startswith("/uploader/"):
                    self.path = self.path.removeprefix("/uploader")
                    return super().do_GET()
                self.send_error(404)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(web)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def page_server(file_uploader_web):
    with _PageServer(file_uploader_web) as server:
        yield server


def _fetch(url: str) -> tuple[int, str, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def _mean(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, ...]:
    return tuple(round(channel) for channel in ImageStat.Stat(image.crop(box).convert("RGB")).mean)


def _near(colour: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


class _CdnLog:
    """Every request the page makes to the CDN's origin, with the answer's status (or why it got
    none, e.g. an <img> refused for a non-image 400), in order; also written to
    tests/artifacts/file-uploader-cdn-requests.txt, the list of what the editor needs served."""

    def __init__(self, page, origin: str):
        self.origin, self.lines = origin, []
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _response(self, response) -> None:
        if response.url.startswith(self.origin):
            self.lines.append(f"{response.status} {response.request.method} {response.url}")

    def _failed(self, request) -> None:
        if request.url.startswith(self.origin):
            self.lines.append(f"--- {request.method} {request.url} ({request.failure})")

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def save(self) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "file-uploader-cdn-requests.txt").write_text(str(self) + "\n")


@pytest.mark.browser
def test_file_uploader_cloud_image_editor_crop_and_rotate(page, live_server, cdn_origin, page_server):
    project = project_create(owner=UserFactory(email="uploader@example.com"), name="Uploader")
    page_server.html = PAGE % {
        "ctx": CTX,
        "pubkey": project.public_key,
        # The live server answers for localhost, which is the CDN's host here: the Upload API is
        # reached through the loopback address instead.
        "upload_base": f"http://127.0.0.1:{_port(live_server)}/upload/",
        "cdn_cname": f"{cdn_origin}/",
        # Two presets give the editor a button each; the first is also applied on upload (3:4).
        "crop_preset": "3:4, 4:3",
    }
    cdn = _CdnLog(page, cdn_origin)
    # Nothing leaves this machine (the uploader's telemetry is off; this catches any default
    # Uploadcare host the configuration missed).
    outside: list[str] = []

    def refuse(route):
        outside.append(route.request.url)
        route.abort()

    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]|localhost[:/])"), refuse)

    try:
        page.goto(page_server.url)
        page.wait_for_function("window.ucReady === true")
        uploader = page.locator("uc-file-uploader-inline")
        with page.expect_file_chooser() as chooser:
            uploader.get_by_role("button", name="From device").click()
        # With a crop preset and one image, the uploader opens the cloud image editor by itself once
        # the upload is done, and the editor first asks the CDN for the image's size.
        with page.expect_response(lambda response: response.url.endswith("/-/json/"), timeout=30_000) as info:
            chooser.value.set_files(files=[{"name": "halves.png", "mimeType": "image/png", "buffer": _source_png()}])

        uploaded = next(e["detail"] for e in page.evaluate("window.ucEvents") if e["type"] == "file-upload-success")
        file = File.objects.get(uuid=uploaded["uuid"])
        assert (file.project, file.is_image, file.original_filename) == (project, True, "halves.png")
        assert uploaded["cdnUrl"].startswith(f"{cdn_origin}/{file.uuid}/")
        assert info.value.url == f"{cdn_origin}/{file.uuid}/-/json/"
        assert info.value.status == 200, f"-/json/ answered {info.value.status}: {info.value.text()[:200]}"
        assert {"width": 640, "height": 400}.items() <= info.value.json().items()

        editor = page.locator("uc-cloud-image-editor")
        expect(editor).to_be_visible()
        expect(editor.get_by_text("Network error")).to_be_hidden()
        # The cropper takes clicks once the picture (a rendering from the CDN) has loaded.
        expect(editor.locator("uc-editor-image-cropper.uc-active_from_editor")).to_be_attached(timeout=30_000)

        # Crop to 4:3, then turn a quarter. The editor keeps a change 300 ms after the last click,
        # then loads a rendering of the result: that request shows both changes were kept.
        editor.get_by_role("option", name="Apply operation crop to 4:3").click()
        with page.expect_request(re.compile(r"/-/rotate/90/-/crop/400x\d+/0,\d+/-/.*/uc-cloud-image-editor/$")):
            editor.get_by_role("option", name="Apply rotate operation").click()
        page.wait_for_load_state("networkidle")
        expect(editor.get_by_text("Network error")).to_be_hidden()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "file-uploader-editor.png"), full_page=True)
        editor.get_by_role("button", name="Apply", exact=True).click()
        expect(editor).to_have_count(0)

        # Finish: the upload list's Done hands the page the collection, with the edited URL.
        uploader.get_by_role("button", name="Done").click()
        page.wait_for_function("window.ucEvents.some(e => e.type === 'done-click')")
        events = page.evaluate("window.ucEvents")
        page.wait_for_load_state("networkidle")  # the upload list's new thumbnail, for the log
    finally:
        cdn.save()
        print(f"CDN requests of the uploader and its editor:\n{cdn}")
        if outside:
            print("refused (not this machine):", *outside, sep="\n  ")
    assert not outside

    done = next(e["detail"] for e in events if e["type"] == "done-click")
    [entry] = done["allEntries"]
    cdn_url = entry["cdnUrl"]
    assert entry["uuid"] == str(file.uuid) and entry["isSuccess"]
    assert [e["detail"]["cdnUrl"] for e in events if e["type"] == "file-url-changed"][-1] == cdn_url
    # The editor writes the turn before the crop, so the crop is in the turned picture's
    # coordinates: 640x400 turned is 400x640, and the largest centred 4:3 in it is 400x300 at
    # (0, 170), give or take the editor's rounding of its canvas.
    match = re.fullmatch(
        rf"{re.escape(cdn_origin)}/{file.uuid}/-/rotate/90/-/crop/(\d+)x(\d+)/(\d+),(\d+)/-/preview/", cdn_url
    )
    assert match, cdn_url
    width, height, left, top = map(int, match.groups())
    assert width == 400 and left == 0 and abs(height - 300) <= 2 and abs(top - 170) <= 2, cdn_url

    status, content_type, body = _fetch(cdn_url)
    assert status == 200 and content_type.startswith("image/"), f"{cdn_url}: {status} {content_type} {body[:200]!r}"
    edited = Image.open(io.BytesIO(body))
    assert edited.size == (width, height), f"{cdn_url} served {edited.size[0]}x{edited.size[1]}"
    # Uploadcare's rotate turns counterclockwise: the red left half ends at the bottom of the turned
    # picture (its rows 320..640), the blue right half at the top; the crop's rows 170..470 hold
    # 150 rows of each.
    assert _near(_mean(edited, (20, 20, 380, 130)), BLUE), "the top of the edited image is not blue"
    assert _near(_mean(edited, (20, 170, 380, 280)), RED), "the bottom of the edited image is not red"


@pytest.mark.browser
def test_the_integrate_pages_snippet_uploads_as_pasted(page, client, live_server, cdn_origin, page_server):
    """The Integrate page's snippet, as a person copies it, on a page of its own: only the package's
    address is pointed at the local copy of the npm package (nothing leaves this machine)."""
    from tests.helpers import wait_until

    owner = UserFactory(email="integrator@example.com")
    project = project_create(owner=owner, name="Integrate")
    client.force_login(owner)
    options = {"mode": "inline", "sources": ["local"], "img_only": "on", "theme": "light"}
    answer = client.get(f"/projects/{project.pk}/integrate/", options, HTTP_HOST=f"127.0.0.1:{_port(live_server)}")
    snippet = answer.context["uploader"]
    # The tests' CDN is on the dashboard's origin under /cdn/; the uploader needs it on one of its own.
    snippet = snippet.replace(f'cdn-cname="http://127.0.0.1:{_port(live_server)}"', f'cdn-cname="{cdn_origin}"')
    page_server.html = (
        "<!doctype html><html><body>"
        + snippet.replace("https://cdn.jsdelivr.net/npm/@uploadcare/file-uploader@1/web/", "/uploader/")
        + "</body></html>"
    )
    logged: list[str] = []
    page.on("console", lambda message: logged.append(message.text))
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/]|localhost[:/])"), lambda route: route.abort())

    page.goto(page_server.url)
    uploader = page.locator("uc-file-uploader-inline")
    with page.expect_file_chooser() as chooser:
        uploader.get_by_role("button", name="From device").click()
    chooser.value.set_files(files=[{"name": "pasted.png", "mimeType": "image/png", "buffer": _source_png()}])
    assert wait_until(lambda: File.objects.filter(project=project, original_filename="pasted.png").exists(), 30)
    file = File.objects.get(project=project)
    for _ in range(75):  # Playwright hands over console messages while it is called
        if any(line.startswith(f"uploaded {file.uuid} {cdn_origin}/") for line in logged):
            break
        page.wait_for_timeout(200)
    assert any(line.startswith(f"uploaded {file.uuid} {cdn_origin}/") for line in logged), logged
