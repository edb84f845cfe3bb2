"""The URL API on libvips: what each operation does to the pixels, checked on a picture whose
quadrants have known colours, and what the CDN answers for the operations that are not pictures."""

import io
import json
import os
import re
import resource
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest
import pyvips
from django.core.cache import cache
from django.core.files.base import ContentFile
from PIL import Image

from files.cdn import images, operations
from files.cdn.images import parse, render
from files.services import file_upload
from tests.helpers import renderers_busy

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
ROOT = Path(__file__).resolve().parents[3]


def quadrants(width=400, height=300, fmt="PNG", alpha=False, exif=None) -> bytes:
    """Red top left, green top right, blue bottom left, white bottom right."""
    image = Image.new("RGBA" if alpha else "RGB", (width, height))
    for colour, box in (
        (RED, (0, 0, width // 2, height // 2)),
        (GREEN, (width // 2, 0, width, height // 2)),
        (BLUE, (0, height // 2, width // 2, height)),
        (WHITE, (width // 2, height // 2, width, height)),
    ):
        image.paste(colour + ((255,) if alpha else ()), box)
    out = io.BytesIO()
    image.save(out, fmt, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def run(path: str, source: bytes | None = None, accepts="") -> tuple[Image.Image, str]:
    data, mime = render(source if source is not None else quadrants(), parse(path)[0], accepts)
    if mime == "application/json":
        return json.loads(data), mime
    return Image.open(io.BytesIO(data)), mime


def at(image: Image.Image, x: int, y: int):
    pixel = image.convert("RGBA").getpixel((x, y))
    return pixel[:3]


def near(actual, expected, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(actual, expected, strict=True))


# Orientation


@pytest.mark.parametrize(
    ("path", "size", "top_left", "bottom_right"),
    [
        ("-/rotate/90/", (300, 400), GREEN, BLUE),  # counter-clockwise, as Uploadcare's
        ("-/rotate/180/", (400, 300), WHITE, RED),
        ("-/rotate/270/", (300, 400), BLUE, GREEN),
        ("-/rotate/-90/", (300, 400), BLUE, GREEN),
        ("-/rotate/360/", (400, 300), RED, WHITE),
        ("-/flip/", (400, 300), BLUE, GREEN),
        ("-/mirror/", (400, 300), GREEN, BLUE),
    ],
)
def test_rotate_flip_and_mirror_move_the_quadrants(path, size, top_left, bottom_right):
    image, _ = run(path)
    assert image.size == size
    assert near(at(image, 2, 2), top_left) and near(at(image, size[0] - 3, size[1] - 3), bottom_right)


def test_autorotate_follows_exif_unless_turned_off():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned: shown rotated 90 degrees clockwise
    source = quadrants(fmt="JPEG", exif=exif.tobytes())
    assert run("-/resize/200x/", source)[0].size == (200, 267)
    assert run("-/autorotate/no/-/resize/200x/", source)[0].size == (200, 150)
    assert run("-/json/", source)[0]["width"] == 300  # what the image editor crops against


# Resize and crop


@pytest.mark.parametrize(
    ("path", "size"),
    [
        ("-/preview/", (400, 300)),  # never enlarged
        ("-/preview/100x100/", (100, 75)),
        ("-/preview/200x/", (200, 150)),  # pyuploadcare's one-sided preview
        ("-/resize/800x/", (800, 600)),  # stretch is on by default
        ("-/resize/100x100/", (100, 100)),
        ("-/stretch/off/-/resize/800x/", (400, 300)),
        ("-/stretch/fill/-/resize/800x600/", (800, 600)),
        ("-/smart_resize/120x120/", (120, 120)),
        ("-/crop/100x50/", (100, 50)),
        ("-/crop/50px50p/center/", (200, 150)),
        ("-/crop/16:9/", (400, 225)),
        ("-/crop/1:1/right/", (300, 300)),
        ("-/crop/image/1:1/", (300, 300)),
        ("-/crop/face/", (400, 300)),  # no face: the whole picture
        ("-/scale_crop/100x100/", (100, 100)),
        ("-/scale_crop/100x100/smart/", (100, 100)),
        ("-/scale_crop/100x100/smart_objects_faces_points/center/", (100, 100)),
        ("-/stretch/off/-/scale_crop/800x800/", (400, 300)),
        ("-/zoom_objects/60/", (400, 300)),
        ("-/resize/800x/-/crop/100x100/", (100, 100)),  # a crop after a resize counts resized pixels
    ],
)
def test_geometry_gives_the_documented_size(path, size):
    assert run(path)[0].size == size


@pytest.mark.parametrize(
    ("path", "point", "colour"),
    [
        ("-/crop/100x100/", (5, 5), RED),
        ("-/crop/100x100/300,200/", (5, 5), WHITE),
        ("-/crop/100x100/right/", (5, 5), GREEN),
        ("-/crop/100x100/100p,100p/", (5, 5), WHITE),
        # 400x300 scaled to cover 100x100 is 133x100: the offset chooses which 100 columns stay.
        ("-/scale_crop/100x100/0p,0p/", (95, 5), GREEN),
        ("-/scale_crop/100x100/100p,100p/", (40, 5), GREEN),
        ("-/scale_crop/100x100/0p,0p/", (40, 5), RED),
        ("-/scale_crop/100x100/", (5, 5), RED),
        ("-/scale_crop/100x100/", (95, 95), WHITE),
    ],
)
def test_crops_keep_the_part_the_position_names(path, point, colour):
    image, _ = run(path)
    assert near(at(image, *point), colour)


def test_zoom_objects_scales_the_object_to_its_share_of_the_frame():
    canvas = Image.new("RGB", (1000, 800), WHITE)
    canvas.paste(RED, (450, 360, 550, 440))  # 100x80, a tenth of each side
    out = io.BytesIO()
    canvas.save(out, "PNG")
    zoomed, _ = run("-/zoom_objects/50/", out.getvalue())
    red = [(x, y) for x in range(0, 1000, 10) for y in range(0, 800, 10) if near(at(zoomed, x, y), RED, 40)]
    xs, ys = [x for x, _ in red], [y for _, y in red]
    assert zoomed.size == (1000, 800)
    assert 240 <= min(xs) <= 260 and 740 <= max(xs) <= 760 and 190 <= min(ys) <= 210 and 590 <= max(ys) <= 610
    assert run("-/zoom_objects/50/")[0].size == (400, 300)  # no uniform background: as it was


def test_parts_outside_the_picture_take_the_fill_colour():
    image, _ = run("-/setfill/ff00ff/-/crop/500x400/center/")
    assert image.size == (500, 400) and near(at(image, 1, 1), (255, 0, 255))
    padded, _ = run("-/setfill/00ff00/-/stretch/fill/-/resize/800x600/")
    assert near(at(padded, 1, 1), GREEN) and near(at(padded, 399, 299), RED)


def test_a_resize_whose_computed_side_is_too_large_is_refused():
    with pytest.raises(images.LimitExceeded, match="capped"):
        run("-/resize/5000x/", quadrants(2, 3000))


def test_border_radius_makes_the_corners_transparent():
    image, mime = run("-/border_radius/50p/")
    assert mime == "image/png" and image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0 and image.getpixel((200, 150))[3] == 255
    on_jpeg, mime = run("-/setfill/000000/-/border_radius/40/-/format/jpeg/")
    assert mime == "image/jpeg" and near(at(on_jpeg, 0, 0), (0, 0, 0))


# Colour


def test_grayscale_and_invert():
    grey, _ = run("-/grayscale/")
    assert grey.mode == "L"
    inverted, _ = run("-/invert/")
    assert near(at(inverted, 5, 5), (0, 255, 255)) and near(at(inverted, 395, 295), (0, 0, 0))


def mid_grey(value=128) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (value, value - 20, value + 20)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("path", "check"),
    [
        ("-/brightness/50/", lambda r, g, b: (r, g, b) == (178, 158, 198)),  # added to each channel
        ("-/brightness/-50/", lambda r, g, b: (r, g, b) == (78, 58, 98)),
        ("-/exposure/100/", lambda r, g, b: r > 240),
        ("-/gamma/300/", lambda r, g, b: r > 180),
        ("-/gamma/30/", lambda r, g, b: r < 40),
        ("-/contrast/200/", lambda r, g, b: b - g > 100),
        ("-/saturation/-100/", lambda r, g, b: abs(g - b) < 4),
        ("-/saturation/300/", lambda r, g, b: b - g > 100),
        ("-/vibrance/300/", lambda r, g, b: b - g > 60),
        ("-/warmth/100/", lambda r, g, b: r - b > 40),
        ("-/warmth/-100/", lambda r, g, b: b - r > 100),
        ("-/filter/jadis/", lambda r, g, b: abs(g - b) < 8),  # a black and white look
        ("-/filter/jadis/0/", lambda r, g, b: (r, g, b) == (128, 108, 148)),  # amount 0: the original
    ],
)
def test_colour_adjustments_move_the_colour_the_documented_way(path, check):
    image, _ = run(path, mid_grey())
    assert check(*at(image, 20, 15))


def test_the_zero_points_change_nothing():
    original = run("-/format/png/", mid_grey())[0]
    for path in ("-/brightness/0/", "-/gamma/100/", "-/gamma/", "-/contrast/", "-/enhance/0/"):
        assert at(run(path, mid_grey())[0], 20, 15) == at(original, 20, 15), path


def test_every_named_filter_renders_a_look_of_its_own():
    looks = {name: at(run(f"-/filter/{name}/", mid_grey())[0], 20, 15) for name in sorted(operations.FILTERS)}
    assert len(looks) == 40 and len(set(looks.values())) >= 35


def test_enhance_stretches_a_dull_picture():
    dull = Image.new("RGB", (40, 30))
    for x in range(40):
        for y in range(30):
            dull.putpixel((x, y), (100 + x, 100 + x, 100 + x))
    out = io.BytesIO()
    dull.save(out, "PNG")
    enhanced, _ = run("-/enhance/100/", out.getvalue())
    assert at(enhanced, 0, 0)[0] < 90 and at(enhanced, 39, 0)[0] > 150


def spread(image: Image.Image) -> float:
    grey = image.convert("L")
    values = list(grey.get_flattened_data())
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def test_blur_softens_and_sharp_hardens_and_blur_region_stays_in_its_box():
    original = run("-/format/png/")[0]
    assert spread(run("-/blur/200/")[0]) < spread(original)
    assert spread(run("-/sharp/20/")[0]) >= spread(original)
    regional, _ = run("-/blur_region/100x100/150,100/200/")
    assert at(regional, 5, 5) == at(original, 5, 5) and at(regional, 395, 295) == at(original, 395, 295)
    assert at(regional, 200, 150) != at(original, 200, 150)  # the quadrants' meeting point is blurred


# A blur of strength 5000 (sigma 500) on a 46x4999 image, in a child process allowed 5 s of CPU:
# the full-size blur a thin image once fell back to took 19 s.
THIN_BLUR = """
import django, json, pyvips
django.setup()
from files.cdn.pixels import blurred
red = (pyvips.Image.black(46, 4999, bands=3) + [200, 20, 20]).cast("uchar")
out = blurred(red.insert((pyvips.Image.black(46, 2500, bands=3) + [20, 20, 200]).cast("uchar"), 0, 2499), 500)
# every pixel made, as an encode makes them (vips computes only what is read)
out = pyvips.Image.new_from_memory(out.write_to_memory(), out.width, out.height, out.bands, out.format)
print(json.dumps({"size": [out.width, out.height], "left": out.getpoint(0, 2499), "right": out.getpoint(45, 2499)}))
"""


def test_a_strong_blur_of_a_thin_image_stays_within_a_cpu_budget():
    def five_cpu_seconds():
        resource.setrlimit(resource.RLIMIT_CPU, (5, 5))

    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", THIN_BLUR], env=environment, capture_output=True, text=True, preexec_fn=five_cpu_seconds
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-500:])
    out = json.loads(result.stdout)
    assert out["size"] == [46, 4999]
    assert out["left"] == out["right"]  # one colour across the thin side
    red, _, blue = out["left"]
    assert 60 < red < 160 and 60 < blue < 160  # red and blue mixed where they meet


# Overlays


def test_overlay_self_rect_and_text_draw_where_they_are_told():
    overlaid, _ = run("-/overlay/self/50px50p/100p,100p/")
    assert near(at(overlaid, 205, 155), RED) and near(at(overlaid, 5, 5), RED)  # a small copy, bottom right
    half, _ = run("-/overlay/self/50px50p/100p,100p/50p/")
    assert near(at(half, 205, 155), (255, 128, 128), tolerance=20)  # red at 50 % over white
    boxed, _ = run("-/rect/000000/100x100/center/")
    assert near(at(boxed, 200, 150), (0, 0, 0)) and near(at(boxed, 5, 5), RED)
    written, _ = run("-/font/40/000000/-/text/100px20p/0,0/WWWW/")
    original = run("-/format/png/")[0]
    changed = [(x, y) for x in range(0, 400, 4) for y in range(0, 300, 4) if at(written, x, y) != at(original, x, y)]
    assert changed and all(y < 60 for _, y in changed)  # only inside the text's box


# Encoding and metadata


@pytest.mark.parametrize(
    ("path", "accepts", "mime"),
    [
        ("-/format/jpeg/", "", "image/jpeg"),
        ("-/format/png/", "", "image/png"),
        ("-/format/webp/", "", "image/webp"),
        ("-/format/avif/", "", "image/avif"),
        ("-/format/auto/", "webp", "image/webp"),
        ("-/format/auto/", "avif", "image/avif"),
        ("-/resize/2000x/-/format/auto/", "avif", "image/webp"),  # 3 MP: above auto's 2 MP for AVIF
        ("-/format/auto/", "", "image/jpeg"),
        ("-/format/preserve/", "", "image/png"),
        ("-/quality/lightest/-/progressive/yes/-/format/jpeg/", "", "image/jpeg"),
    ],
)
def test_formats(path, accepts, mime):
    data, answered = render(quadrants(), parse(path)[0], accepts)
    assert answered == mime and pyvips.Image.new_from_buffer(data, "").width in (400, 2000)


def test_quality_presets_order_the_sizes():
    sizes = [
        len(render(quadrants(fmt="JPEG"), parse(f"-/blur/5/-/quality/{q}/")[0])[0])
        for q in ("lightest", "lighter", "normal", "better", "best")
    ]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def gps_photo() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Maker"  # Make
    exif.get_ifd(0x8825)[2] = (52.0, 22.0, 0.0)  # GPSLatitude
    return quadrants(fmt="JPEG", exif=exif.tobytes())


@pytest.mark.parametrize(
    ("mode", "make", "gps"), [("all", False, False), ("none", True, True), ("sensitive", True, False)]
)
def test_strip_meta(mode, make, gps):
    image, _ = run(f"-/strip_meta/{mode}/-/format/jpeg/", gps_photo())
    exif = image.getexif()
    assert (exif.get(0x010F) == "Maker") is make
    assert bool(exif.get_ifd(0x8825)) is gps


# Answers about the image


def test_json_main_colors_and_detect_faces():
    info, mime = run("-/json/")
    assert mime == "application/json" and (info["width"], info["height"]) == (400, 300)
    assert run("-/crop/100x50/-/json/")[0]["width"] == 100
    colours = run("-/main_colors/4/")[0]["main_colors"]
    assert len(colours) == 4
    assert all(any(near(colour, found) for found in colours) for colour in (RED, GREEN, BLUE, WHITE))
    assert run("-/detect_faces/")[0]["faces"] == []


# Bounds


def test_an_image_above_the_pixel_limit_is_refused_before_decoding(settings):
    settings.FILEDOCK_CDN_MAX_PIXELS = 100_000
    with pytest.raises(images.LimitExceeded, match="megapixels"):
        run("-/resize/10x/", quadrants(400, 300))


def test_a_render_waits_for_a_turn_then_gives_up(settings):
    settings.FILEDOCK_CDN_RENDER_WAIT = 0
    with renderers_busy(), pytest.raises(images.Busy):
        run("-/resize/10x/")
    assert run("-/resize/10x/")[0].size == (10, 8)


def test_renders_of_one_process_run_side_by_side_without_mixing():
    results = {}

    def one(width):
        results[width] = run(f"-/resize/{width}x/")[0].size

    threads = [threading.Thread(target=one, args=(w,)) for w in (50, 60, 70, 80)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {w: (w, round(w * 0.75)) for w in (50, 60, 70, 80)}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("-/crop/10x10/top left/", "invalid position"),
        ("-/crop/0:9/", "two positive numbers"),
        ("-/border_radius/a/", "invalid radii"),
        ("-/filter/sepia/", "filter: expected one of"),
        ("-/brightness/101/", "brightness: expected a whole number from -100 to 100"),
        ("-/blur/5001/", "blur: expected a whole number from 0 to 5000"),
        ("-/overlay/not-a-uuid/", "overlay: expected a file UUID"),
        ("-/overlay/self/50px50p/center/50/", "opacity is a percentage"),
        ("-/rect/red/", "invalid colour"),
        ("-/text_align/middle/top/", "text_align: expected one of"),
        ("-/main_colors/0/", "main_colors: expected a whole number from 1 to 256"),
        ("-/stretch/maybe/", "stretch: expected one of fill, off, on"),
        ("-/preview/10x10/10x10/", re.escape("preview: expected -/preview/[WxH]/")),
        ("-/grayscale/yes/", "grayscale: expected -/grayscale//"),
        ("-/flip/" * 33, "Too many operations"),
    ],
)
def test_strict_parsing_names_the_operation_and_what_was_expected(path, message):
    with pytest.raises(ValueError, match=message):
        parse(path)


def test_the_editor_s_marker_and_a_percent_sign_are_understood():
    plan, _ = parse("-/crop/50%x50%/-/@clib/blocks/1.33.2/uc-cloud-image-editor/")
    assert plan.steps == [("crop", "box", "50p", "50p", "0,0")]


# Through the CDN


@pytest.fixture
def photo(team):
    data = quadrants(fmt="JPEG")
    return file_upload(project=team.project, content=ContentFile(data, name="q.jpg"), filename="q.jpg", store=True)


def test_cdn_json_inline_and_detect_faces(client, photo):
    info = client.get(f"/cdn/{photo.uuid}/-/json/")
    assert info["Content-Type"] == "application/json" and info["Access-Control-Allow-Origin"] == "*"
    body = json.loads(b"".join(info.streaming_content))
    assert (body["id"], body["width"], body["height"]) == (str(photo.uuid), 400, 300)
    saved = client.get(f"/cdn/{photo.uuid}/-/inline/no/-/resize/10x/")
    assert saved["Content-Disposition"].startswith("attachment")
    assert client.get(f"/cdn/{photo.uuid}/-/resize/10x/")["Content-Disposition"].startswith("inline")
    faces = client.get(f"/cdn/{photo.uuid}/detect_faces/")
    assert json.loads(b"".join(faces.streaming_content))["faces"] == []


def test_cdn_overlays_a_file_of_the_same_project_only(client, photo, team):
    def stored(project):
        data = quadrants(40, 40, fmt="PNG")
        return file_upload(project=project, content=ContentFile(data, name="o.png"), filename="o.png", store=True)

    mine, theirs = stored(team.project), stored(team.outsider.memberships.get().project)
    ok = client.get(f"/cdn/{photo.uuid}/-/overlay/{mine.uuid}/20px20p/center/")
    assert ok.status_code == 200
    refused = client.get(f"/cdn/{photo.uuid}/-/overlay/{theirs.uuid}/20px20p/center/")
    assert refused.status_code == 400 and b"not an image of this project" in refused.content


def test_cdn_refuses_an_image_above_the_pixel_limit_with_a_400(client, photo, settings):
    settings.FILEDOCK_CDN_MAX_PIXELS = 1000
    response = client.get(f"/cdn/{photo.uuid}/-/resize/10x/")
    assert response.status_code == 400 and b"megapixels" in response.content
    assert client.get(f"/cdn/{photo.uuid}/").status_code == 200  # the original is still served


def test_cdn_answers_503_when_every_renderer_is_busy(client, photo, settings):
    settings.FILEDOCK_CDN_RENDER_WAIT = 0
    held = []
    while images._turns.acquire(blocking=False):
        held.append(1)
    try:
        response = client.get(f"/cdn/{photo.uuid}/-/resize/11x/")
    finally:
        for _ in held:
            images._turns.release()
    assert response.status_code == 503 and response["Retry-After"] == "2"


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (64, 48), colour) for colour in (RED, GREEN, BLUE)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def test_gif2video_makes_a_video_once_and_refuses_what_is_not_a_gif(client, team, photo, monkeypatch):
    gif = file_upload(
        project=team.project, content=ContentFile(animated_gif(), name="a.gif"), filename="a.gif", store=True
    )
    mp4 = client.get(f"/cdn/{gif.uuid}/gif2video/")
    data = b"".join(mp4.streaming_content)
    assert mp4["Content-Type"] == "video/mp4" and data[4:8] == b"ftyp"
    webm = client.get(f"/cdn/{gif.uuid}/gif2video/-/format/webm/-/quality/better/")
    assert webm["Content-Type"] == "video/webm" and b"".join(webm.streaming_content)[:4] == b"\x1a\x45\xdf\xa3"

    monkeypatch.setattr("files.cdn.video.convert", lambda *a: pytest.fail("converted twice"))
    assert client.get(f"/cdn/{gif.uuid}/gif2video/").status_code == 200  # kept like a rendering
    still = client.get(f"/cdn/{photo.uuid}/gif2video/")
    assert still.status_code == 400 and b"converts GIF images; this file is JPEG" in still.content
    wrong = client.get(f"/cdn/{gif.uuid}/gif2video/-/format/avi/")
    assert wrong.status_code == 400 and b"-/format/avi/ is not an option" in wrong.content


def test_an_svg_is_an_image_the_cdn_rasterizes(client, team):
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80">'
        b'<rect width="60" height="80" fill="red"/></svg>'
    )
    file = file_upload(project=team.project, content=ContentFile(svg, name="d.svg"), filename="d.svg", store=True)
    assert file.is_image and (file.image_info["format"], file.image_info["width"]) == ("SVG", 120)
    response = client.get(f"/cdn/{file.uuid}/-/rasterize/-/resize/60x/")
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert response["Content-Type"] == "image/png" and image.size == (60, 40)
    assert near(at(image, 5, 20), RED) and image.convert("RGBA").getpixel((55, 20))[3] == 0


def test_renders_are_limited_per_address_and_project_and_hits_are_not(client, photo, settings):
    cache.clear()
    settings.FILEDOCK_RATE_MISS_IP = "2/d"  # a day's window: none rolls over mid-test
    settings.FILEDOCK_RATE_MISS_PROJECT = "3/d"
    here = {"REMOTE_ADDR": "198.51.100.1"}
    assert [client.get(f"/cdn/{photo.uuid}/-/resize/{w}x/", **here).status_code for w in (10, 11)] == [200, 200]
    refused = client.get(f"/cdn/{photo.uuid}/-/resize/12x/", **here)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 86400
    assert client.get(f"/cdn/{photo.uuid}/-/resize/10x/", **here).status_code == 200  # a cached rendering
    assert client.get(f"/cdn/{photo.uuid}/", **here).status_code == 200  # the original
    there = {"REMOTE_ADDR": "198.51.100.2"}
    assert client.get(f"/cdn/{photo.uuid}/-/resize/13x/", **there).status_code == 200
    assert client.get(f"/cdn/{photo.uuid}/-/resize/14x/", **there).status_code == 429  # the project's limit


def bomb() -> bytes:
    """A PNG that declares 14000x14000 (196 megapixels) in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 14000, 14000, 8, 2, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\0" * 1000))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns, reading the header
def test_a_decompression_bomb_is_a_plain_file_at_upload_and_refused_at_render(client, team):
    file = file_upload(project=team.project, content=ContentFile(bomb(), name="b.png"), filename="b.png", store=True)
    assert not file.is_image and file.mime_type == "image/png"
    assert client.get(f"/cdn/{file.uuid}/-/resize/100x/").status_code == 404  # no operations on a plain file
    with pytest.raises(images.LimitExceeded, match="196 megapixels"):
        render(bomb(), parse("-/resize/100x/")[0])


def drawn_face(canvas=(800, 400), centre=(600, 200), size=120) -> bytes:
    """A face as OpenCV's frontal-face cascade sees one (a light oval, dark eyes under brows, a
    nose and a mouth), drawn on a grey canvas away from its middle."""
    from PIL import ImageDraw, ImageFilter

    image = Image.new("RGB", canvas, (90, 90, 90))
    draw = ImageDraw.Draw(image)
    (cx, cy), w, h = centre, int(size * 0.55), int(size * 0.72)
    draw.ellipse((cx - w, cy - h, cx + w, cy + h), fill=(200, 200, 200))
    ey, ex, er = cy - int(h * 0.22), int(w * 0.42), int(w * 0.2)
    for side in (-1, 1):
        draw.ellipse((cx + side * ex - er, ey - er // 2, cx + side * ex + er, ey + er // 2), fill=(40, 40, 40))
        draw.rectangle((cx + side * ex - er - 4, ey - er - 12, cx + side * ex + er + 4, ey - er - 4), fill=(60, 60, 60))
    draw.polygon(
        [(cx, ey + 6), (cx - er // 2, cy + int(h * 0.18)), (cx + er // 2, cy + int(h * 0.18))], fill=(170,) * 3
    )
    draw.ellipse((cx - int(w * 0.4), cy + int(h * 0.38), cx + int(w * 0.4), cy + int(h * 0.5)), fill=(70, 70, 70))
    out = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(3)).save(out, "PNG")
    return out.getvalue()


def test_faces_are_found_and_the_face_operations_use_them():
    faces = run("-/detect_faces/", drawn_face())[0]["faces"]
    assert len(faces) == 1
    x, y, w, h = faces[0]
    assert abs(x + w / 2 - 600) < 25 and abs(y + h / 2 - 200) < 25  # where it was drawn
    # scale_crop by faces keeps the face, which a centred crop of the 800x400 canvas would cut off.
    cropped, _ = run("-/scale_crop/300x400/smart_faces/", drawn_face())
    assert cropped.size == (300, 400) and at(cropped, 150, 200)[0] > 150  # the face's light middle
    assert at(run("-/scale_crop/300x400/center/", drawn_face())[0], 150, 200)[0] < 100  # grey canvas
    around, _ = run("-/crop/face/", drawn_face())
    assert abs(around.width - w) <= 2 and abs(around.height - h) <= 2
    original, blurred = run("-/format/png/", drawn_face())[0], run("-/blur_region/faces/300/", drawn_face())[0]
    eye = (600 - int(66 * 0.42), 200 - int(86 * 0.22))
    assert at(blurred, *eye)[0] > at(original, *eye)[0] + 30  # the dark eye is blurred into the face
    assert at(blurred, 50, 50) == at(original, 50, 50)  # the canvas is not
