"""pyuploadcare 6.3's ImageTransformation, unmodified, against Filedock's CDN: every method it has.

CASES is the table: one row per call an app would make (`ImageTransformation().resize(200)`), the
source it is applied to, and what Uploadcare's URL API documentation says comes back — the size,
the content type where the docs fix it, and what the pixels must show where that is unambiguous
(flip turns the picture upside down, rotate turns it counterclockwise, a crop at an offset shows that
part of the source). Each row uploads its source with pyuploadcare, builds the URL with the client's
own `File.set_effects()` / `cdn_url`, and fetches it like a browser would.

The sources are drawn here: a 400x300 JPEG whose red rises left to right and green top to bottom
(so any mirror, flip, turn or crop is visible in the means of a few regions), with a small
checkerboard in the middle (so blurring is visible), EXIF (camera, GPS) and an sRGB ICC profile; the
same JPEG marked with EXIF orientation 6; a PNG logo with transparency; an animated GIF; an SVG.

`test_every_method_has_a_case` introspects ImageTransformation, so a method a new pyuploadcare
adds fails the run until it gets a row here.
"""

import inspect
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageDraw, ImageOps, ImageStat
from pyuploadcare.transformations.base import BaseTransformation
from pyuploadcare.transformations.image import (
    ColorAdjustment,
    CropAlignment,
    Gif2VideoFormat,
    Gif2VideoQuality,
    ImageFilter,
    ImageFormat,
    ImageQuality,
    OverlayOffset,
    ScaleCropMode,
    SRGBConversion,
    StretchMode,
    StripMetaMode,
    TextBoxMode,
)
from pyuploadcare.transformations.image import HorizontalTextAlignment as HAlign
from pyuploadcare.transformations.image import ImageTransformation as T
from pyuploadcare.transformations.image import VerticalTextAlignment as VAlign

W, H = 400, 300  # the photo's size; most rows expect it back

# --- The sources ---

CAMERA = "Filedock conformance camera"


def _photo_image() -> Image.Image:
    red = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((W, H))  # dark left, bright right
    green = Image.linear_gradient("L").resize((W, H))  # dark top, bright bottom
    image = Image.merge("RGB", (red, green, Image.new("L", (W, H), 64)))
    draw = ImageDraw.Draw(image)
    for x in range(180, 220, 4):  # a 40x40 black-and-white checkerboard of 4 px squares in the middle
        for y in range(130, 170, 4):
            draw.rectangle((x, y, x + 3, y + 3), fill=(0, 0, 0) if (x + y) // 4 % 2 else (255, 255, 255))
    return image


def photo(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (55.0, 45.0, 0.0), 3: "E", 4: (37.0, 37.0, 0.0)})
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    _photo_image().save(buffer, "JPEG", quality=95, exif=exif, icc_profile=icc)
    return buffer.getvalue()


def logo() -> bytes:
    """200x200, transparent but for an opaque blue 100x100 square in the middle."""
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((50, 50, 149, 149), fill=(0, 0, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def animation() -> bytes:
    frames = [Image.new("RGB", (64, 48), color) for color in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def drawing() -> bytes:
    return (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80" viewBox="0 0 120 80">'
        b'<rect width="120" height="80" fill="#3366cc"/><circle cx="60" cy="40" r="30" fill="#ffcc00"/></svg>'
    )


SOURCES: dict[str, Callable[[], bytes]] = {
    "photo.jpg": photo,
    "rotated.jpg": lambda: photo(orientation=6),  # stored 400x300, shown 300x400 (turned clockwise)
    "logo.png": logo,
    "animation.gif": animation,
    "drawing.svg": drawing,
}


# --- What a result must show ---

LEFT, RIGHT, TOP, BOTTOM = (0, 0, 0.25, 1), (0.75, 0, 1, 1), (0, 0, 1, 0.25), (0, 0.75, 1, 1)
CENTER = (0.45, 0.45, 0.55, 0.55)
CHECKERBOARD = (0.46, 0.45, 0.54, 0.55)  # inside the 40x40 squares of the photo's middle
TOP_LEFT, BOTTOM_RIGHT = (0, 0, 0.05, 0.05), (0.95, 0.95, 1, 1)
CORNER_PIXEL = (0, 0, 0.001, 0.001)
CHANNELS = {"red": 0, "green": 1, "blue": 2}


def region(image: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    x0, y0, x1, y1 = box
    w, h = image.size
    return image.crop((int(x0 * w), int(y0 * h), max(int(x0 * w) + 1, int(x1 * w)), max(int(y0 * h) + 1, int(y1 * h))))


def mean(image: Image.Image, box, channel: str) -> float:
    return ImageStat.Stat(region(image.convert("RGB"), box)).mean[CHANNELS[channel]]


def higher(channel: str, where, than) -> Callable[[Image.Image], None]:
    """`channel` is clearly higher in region `where` than in region `than`."""

    def check(image):
        a, b = mean(image, where, channel), mean(image, than, channel)
        assert a > b + 60, f"{channel} should be higher in {where} than in {than}: {a:.0f} vs {b:.0f}"

    return check


def color(box, rgb: tuple[int, int, int], tolerance: int = 40) -> Callable[[Image.Image], None]:
    def check(image):
        got = ImageStat.Stat(region(image.convert("RGB"), box)).mean
        assert all(abs(g - e) <= tolerance for g, e in zip(got, rgb, strict=True)), (
            f"{box} should be about {rgb}, is {tuple(round(g) for g in got)}"
        )

    return check


def between(**ranges: tuple[int, int]) -> Callable[[Image.Image], None]:
    """Whole-image channel means within ranges: between(red=(150, 255))."""

    def check(image):
        for channel, (low, high) in ranges.items():
            value = mean(image, (0, 0, 1, 1), channel)
            assert low <= value <= high, f"mean {channel} {value:.0f} is outside {low}..{high}"

    return check


def alpha(box, low: int, high: int) -> Callable[[Image.Image], None]:
    def check(image):
        assert image.mode in ("RGBA", "LA"), f"expected an alpha channel, the mode is {image.mode}"
        value = ImageStat.Stat(region(image.getchannel("A"), box)).mean[0]
        assert low <= value <= high, f"alpha at {box} is {value:.0f}, expected {low}..{high}"

    return check


def grey(image: Image.Image) -> None:
    red, green, blue = image.convert("RGB").split()
    for a, b in ((red, green), (green, blue)):
        assert ImageStat.Stat(ImageChops.difference(a, b)).mean[0] < 10, "the picture should have no colour"


def brightness_change(at_least: float) -> Callable[[Image.Image], None]:
    """The mean luminance moved by at least `at_least` (negative: darker) from the source's."""

    def check(image):
        source = ImageStat.Stat(_photo_image().convert("L")).mean[0]
        value = ImageStat.Stat(image.convert("L")).mean[0]
        moved = value - source
        assert (moved >= at_least) if at_least > 0 else (moved <= at_least), (
            f"luminance moved {moved:+.0f} from the source's {source:.0f}, expected {at_least:+} or more"
        )

    return check


def smoother(box) -> Callable[[Image.Image], None]:
    """The checkerboard under `box` lost most of its contrast."""

    def check(image):
        source = ImageStat.Stat(region(_photo_image().convert("L"), box)).stddev[0]
        value = ImageStat.Stat(region(image.convert("L"), box)).stddev[0]
        assert value < source * 0.6, f"contrast at {box} is {value:.0f}, the source's {source:.0f}: not blurred"

    return check


def all_of(*checks):
    def check(image):
        for one in checks:
            one(image)

    return check


UPRIGHT = all_of(higher("red", RIGHT, LEFT), higher("green", BOTTOM, TOP))
ROTATED_90 = all_of(higher("red", TOP, BOTTOM), higher("green", RIGHT, LEFT))  # counterclockwise
ROTATED_180 = all_of(higher("red", LEFT, RIGHT), higher("green", TOP, BOTTOM))
ROTATED_270 = all_of(higher("red", BOTTOM, TOP), higher("green", LEFT, RIGHT))


def exif_of(raw: Image.Image) -> tuple[str | None, dict]:
    exif = raw.getexif()
    return exif.get(ExifTags.Base.Make), dict(exif.get_ifd(ExifTags.IFD.GPSInfo))


def keeps_exif(raw):
    assert exif_of(raw) == (CAMERA, {1: "N", 2: (55.0, 45.0, 0.0), 3: "E", 4: (37.0, 37.0, 0.0)}), exif_of(raw)


def no_exif(raw):
    assert exif_of(raw) == (None, {}), f"EXIF should be gone, is {exif_of(raw)}"


def no_gps(raw):
    assert exif_of(raw)[1] == {}, f"the GPS position should be gone, is {exif_of(raw)[1]}"


def has_icc(raw):
    assert raw.info.get("icc_profile"), "the ICC profile should be kept"


def progressive(expected: bool):
    def check(raw):
        assert bool(raw.info.get("progressive") or raw.info.get("progression")) is expected, raw.info

    return check


def no_faces(body):
    assert isinstance(body, dict) and body.get("faces") == [], f"expected {{'faces': []}}, got {body}"


def mp4(body: bytes):
    assert body[4:8] == b"ftyp", f"not an MP4 file: {body[:12]!r}"


def webm(body: bytes):
    assert body[:4] == b"\x1a\x45\xdf\xa3", f"not a WebM file: {body[:12]!r}"


# --- The table ---

LOW, MID, HIGH = (0, 100), (90, 165), (150, 255)  # ranges of a region's mean red or green in the photo
CROP_ALIGNMENTS = {  # where a 200x100 crop of the photo lands, by its mean red (left → right) and green (top → bottom)
    CropAlignment.center: (MID, MID),
    CropAlignment.top: (MID, LOW),
    CropAlignment.right: (HIGH, MID),
    CropAlignment.bottom: (MID, HIGH),
    CropAlignment.left: (LOW, MID),
}


@dataclass(frozen=True)
class Case:
    method: str  # the ImageTransformation method this row is about
    build: Callable  # (ImageTransformation, uploads) -> ImageTransformation
    size: tuple[int, int] | None = (W, H)  # the documented size as shown (EXIF orientation applied); None: none
    source: str = "photo.jpg"
    content_type: str | None = None  # when the docs fix it
    check: Callable | None = None  # on the upright image as shown
    raw_check: Callable | None = None  # on the image as decoded, metadata included
    body_check: Callable | None = None  # for JSON (the parsed body) and video (the bytes)
    accept: str = "*/*"


def case(method, build, size=(W, H), **kw) -> Case:
    return Case(method, build, size, **kw)


CASES = [
    # Resize and crop: https://uploadcare.com/docs/transformations/image/resize-crop/
    case("preview", lambda t, _: t.preview(), check=UPRIGHT),  # fits 2048x2048; never enlarges
    case("preview", lambda t, _: t.preview(200, 200), (200, 150), check=UPRIGHT),
    case("preview", lambda t, _: t.preview(width=100), (100, 75)),
    case("preview", lambda t, _: t.preview(1000, 1000), (W, H)),  # "downscales": never enlarges
    case("resize", lambda t, _: t.resize(200), (200, 150), check=UPRIGHT),  # one side keeps the aspect
    case("resize", lambda t, _: t.resize(height=150), (200, 150)),
    case("resize", lambda t, _: t.resize(200, 100), (200, 100), check=UPRIGHT),  # both sides may distort
    case("resize", lambda t, _: t.resize(800), (800, 600)),  # stretch/on is the default
    case("stretch", lambda t, _: t.stretch(StretchMode.on).resize(800), (800, 600)),
    case("stretch", lambda t, _: t.stretch(StretchMode.off).resize(800), (W, H)),  # "won't be scaled up"
    case(
        "stretch",  # not scaled up; the fill colour fills the rest of the requested box
        lambda t, _: t.setfill("00ff00").stretch(StretchMode.fill).resize(800, 600),
        (800, 600),
        check=color(BOTTOM_RIGHT, (0, 255, 0)),
    ),
    case("smart_resize", lambda t, _: t.smart_resize(300, 300), (300, 300)),
    case("smart_resize", lambda t, _: t.smart_resize(400, 200), (400, 200)),
    case("crop", lambda t, _: t.crop(200, 100), (200, 100), check=between(red=LOW, green=LOW)),  # top left
    case("crop", lambda t, _: t.crop(200, 100, 200, 200), (200, 100), check=between(red=HIGH, green=HIGH)),
    *(
        case("crop", lambda t, _, a=a: t.crop(200, 100, alignment=a), (200, 100), check=between(red=r, green=g))
        for a, (r, g) in CROP_ALIGNMENTS.items()
    ),
    case("scale_crop", lambda t, _: t.scale_crop(100, 100), (100, 100)),
    case("scale_crop", lambda t, _: t.scale_crop(200, 100, 100, 100), (200, 100), check=between(green=HIGH)),
    *(case("scale_crop", lambda t, _, m=mode: t.scale_crop(200, 200, mode=m), (200, 200)) for mode in ScaleCropMode),
    case(
        "border_radius",  # the corners cut away are transparent where the format has alpha
        lambda t, _: t.border_radius(20).format(ImageFormat.png),
        content_type="image/png",
        check=all_of(alpha(CORNER_PIXEL, 0, 10), alpha(CENTER, 250, 255)),
    ),
    case("border_radius", lambda t, _: t.border_radius([10, "20%"], [30, "5%"])),
    case(
        "setfill",  # JPEG has no alpha: the fill colour shows where the logo is transparent
        lambda t, _: t.setfill("ff0000").format(ImageFormat.jpeg),
        (200, 200),
        source="logo.png",
        content_type="image/jpeg",
        check=all_of(color(TOP_LEFT, (255, 0, 0)), color(CENTER, (0, 0, 255))),
    ),
    case("zoom_objects", lambda t, _: t.zoom_objects(50), None),  # the docs give no result size
    # Compression: https://uploadcare.com/docs/transformations/image/compression/
    case("format", lambda t, _: t.format(ImageFormat.jpeg), content_type="image/jpeg", check=UPRIGHT),
    case("format", lambda t, _: t.format(ImageFormat.png), content_type="image/png", check=UPRIGHT),
    case("format", lambda t, _: t.format(ImageFormat.webp), content_type="image/webp", check=UPRIGHT),
    case("format", lambda t, _: t.format(ImageFormat.auto), content_type="image/webp", accept="image/webp,*/*"),
    case("format", lambda t, _: t.format(ImageFormat.auto), content_type="image/jpeg"),  # opaque, no WebP
    case("format", lambda t, _: t.format(ImageFormat.auto), (200, 200), source="logo.png", content_type="image/png"),
    case("format", lambda t, _: t.format(ImageFormat.preserve), content_type="image/jpeg"),
    case(
        "format", lambda t, _: t.format(ImageFormat.preserve), (200, 200), source="logo.png", content_type="image/png"
    ),
    *(case("quality", lambda t, _, q=q: t.quality(q), content_type="image/jpeg") for q in ImageQuality),
    case("quality", lambda t, _: t.format(ImageFormat.webp).quality(ImageQuality.lighter), content_type="image/webp"),
    case("progressive", lambda t, _: t.progressive(), content_type="image/jpeg", raw_check=progressive(True)),
    case("progressive", lambda t, _: t.progressive(False), content_type="image/jpeg", raw_check=progressive(False)),
    case("strip_meta", lambda t, _: t.strip_meta(StripMetaMode.all), raw_check=no_exif),
    case("strip_meta", lambda t, _: t.strip_meta(StripMetaMode.none), raw_check=keeps_exif),
    case("strip_meta", lambda t, _: t.strip_meta(StripMetaMode.sensitive), raw_check=no_gps),
    case("rasterize", lambda t, _: t.rasterize(), check=UPRIGHT),  # "safe to apply to any image"
    case("rasterize", lambda t, _: t.rasterize(), (120, 80), source="drawing.svg", check=color(CENTER, (255, 204, 0))),
    # Colors and effects: https://uploadcare.com/docs/transformations/image/colors/ and /blur-sharpen/
    case("adjust_color", lambda t, _: t.adjust_color(ColorAdjustment.brightness, 50), check=brightness_change(+15)),
    case("adjust_color", lambda t, _: t.adjust_color(ColorAdjustment.brightness, -50), check=brightness_change(-15)),
    case("adjust_color", lambda t, _: t.adjust_color(ColorAdjustment.exposure, 200), check=brightness_change(+10)),
    case("adjust_color", lambda t, _: t.adjust_color(ColorAdjustment.gamma, 150)),
    case("adjust_color", lambda t, _: t.adjust_color(ColorAdjustment.contrast, 50)),
    case("adjust_color", lambda t, _: t.adjust_color(ColorAdjustment.saturation, -100), check=grey),
    case("adjust_color", lambda t, _: t.adjust_color(ColorAdjustment.vibrance, 50)),
    case("adjust_color", lambda t, _: t.adjust_color(ColorAdjustment.warmth, 30)),
    case("enhance", lambda t, _: t.enhance()),
    case("enhance", lambda t, _: t.enhance(80)),
    case("grayscale", lambda t, _: t.grayscale(), check=grey),
    case("invert", lambda t, _: t.invert(), check=all_of(color(TOP_LEFT, (250, 250, 191)), higher("red", LEFT, RIGHT))),
    *(case("filter", lambda t, _, f=f: t.filter(f)) for f in ImageFilter),
    case("filter", lambda t, _: t.filter(ImageFilter.adaris, 50)),
    case("filter", lambda t, _: t.filter(ImageFilter.zevcen, 200)),
    case("srgb", lambda t, _: t.srgb(SRGBConversion.fast)),
    case("srgb", lambda t, _: t.srgb(SRGBConversion.icc)),
    case("srgb", lambda t, _: t.srgb(SRGBConversion.keep_profile), raw_check=has_icc),
    case("max_icc_size", lambda t, _: t.max_icc_size(10)),
    case("blur", lambda t, _: t.blur()),  # strength 10: a sigma of 1 px, too little to measure here
    case("blur", lambda t, _: t.blur(50), check=smoother(CHECKERBOARD)),
    case("blur", lambda t, _: t.blur(100, -50)),  # a negative amount is unsharp masking
    case("blur_region", lambda t, _: t.blur_region(100, 100, 150, 100)),
    case("blur_region", lambda t, _: t.blur_region("50p", "50p", "25p", "25p", 50), check=smoother(CHECKERBOARD)),
    case("blur_faces", lambda t, _: t.blur_faces()),
    case("blur_faces", lambda t, _: t.blur_faces(250)),
    case("sharp", lambda t, _: t.sharp()),
    case("sharp", lambda t, _: t.sharp(15)),
    # Overlays: https://uploadcare.com/docs/transformations/image/overlay/
    case("overlay", lambda t, up: t.overlay(up["logo.png"])),
    case(
        "overlay",  # a logo at most half the size, centered: its opaque blue square covers the middle
        lambda t, up: t.overlay(up["logo.png"], "50%", "50%", offset=OverlayOffset.center),
        check=all_of(color(CENTER, (0, 0, 255)), color(TOP_LEFT, (6, 8, 64))),
    ),
    case(
        "overlay", lambda t, up: t.overlay(up["logo.png"], "30%", "30%", offset_x="100%", offset_y="100%", strength=50)
    ),
    case("overlay_self", lambda t, _: t.overlay_self("50%", "50%", offset=OverlayOffset.center)),
    case("overlay_self", lambda t, _: t.overlay_self(offset=OverlayOffset.bottom, strength=30)),
    case("text", lambda t, _: t.text("Hello / world", "50%", "50%", offset=OverlayOffset.center)),
    case(
        "text",
        lambda t, _: t.text(
            "Sale: 50% off\nToday",
            "80%",
            "30%",
            offset_x="10%",
            offset_y="60%",
            horizontal_alignment=HAlign.center,
            vertical_alignment=VAlign.center,
            font_size=24,
            font_color="ffffff",
            box_mode=TextBoxMode.fill,
            box_color="000000",
            box_padding=10,
        ),
    ),
    case(
        "rect",
        lambda t, _: t.rect("ff0000", "50%", "50%", offset=OverlayOffset.center),
        check=all_of(color(CENTER, (255, 0, 0)), color(TOP_LEFT, (6, 8, 64))),
    ),
    case("rect", lambda t, _: t.rect("000000", "100%", "20%", offset_x="0", offset_y="80%")),
    # Rotation: https://uploadcare.com/docs/transformations/image/rotate-flip/
    case("autorotate", lambda t, _: t.autorotate(), (H, W), source="rotated.jpg", check=ROTATED_270),
    case("autorotate", lambda t, _: t.autorotate(False), (W, H), source="rotated.jpg", check=UPRIGHT),
    case("rotate", lambda t, _: t.rotate(90), (H, W), check=ROTATED_90),  # counterclockwise
    case("rotate", lambda t, _: t.rotate(180), (W, H), check=ROTATED_180),
    case("rotate", lambda t, _: t.rotate(270), (H, W), check=ROTATED_270),
    case("flip", lambda t, _: t.flip(), check=all_of(higher("green", TOP, BOTTOM), higher("red", RIGHT, LEFT))),
    case("mirror", lambda t, _: t.mirror(), check=all_of(higher("red", LEFT, RIGHT), higher("green", BOTTOM, TOP))),
    # JSON and video outputs: https://uploadcare.com/docs/intelligence/face-detection/ and /gif-to-video/
    case("detect_faces", lambda t, _: t.detect_faces(), None, content_type="application/json", body_check=no_faces),
    case(
        "gif2video", lambda t, _: t.gif2video(), None, source="animation.gif", content_type="video/mp4", body_check=mp4
    ),
    case(
        "gif2video",
        lambda t, _: t.gif2video(format=Gif2VideoFormat.webm, quality=Gif2VideoQuality.better),
        None,
        source="animation.gif",
        content_type="video/webm",
        body_check=webm,
    ),
    case(
        "gif2video_format",  # deprecated in 6.x for gif2video(format=...), still in apps
        lambda t, _: t.gif2video().gif2video_format(Gif2VideoFormat.webm),
        None,
        source="animation.gif",
        content_type="video/webm",
        body_check=webm,
    ),
    case(
        "gif2video_quality",
        lambda t, _: t.gif2video().gif2video_quality(Gif2VideoQuality.lightest),
        None,
        source="animation.gif",
        content_type="video/mp4",
        body_check=mp4,
    ),
    # A chain as an app writes one.
    case(
        "preview",
        lambda t, _: t.preview(300, 300).grayscale().format(ImageFormat.webp).quality(ImageQuality.smart),
        (300, 225),
        content_type="image/webp",
        check=grey,
    ),
]


class Recording:
    """An ImageTransformation that remembers which of its public methods a row calls."""

    def __init__(self):
        self.transformation, self.calls = T(), []

    def __getattr__(self, name):
        method = getattr(self.transformation, name)

        def call(*args, **kwargs):
            self.calls.append(name)
            method(*args, **kwargs)
            return self

        return call


class Placeholders(dict):
    def __missing__(self, name):
        return f"{{{name}}}"


def built(row: Case, uploads) -> Recording:
    recording = Recording()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # gif2video_format and gif2video_quality
        row.build(recording, uploads)
    return recording


def case_id(row: Case) -> str:
    effects = built(row, Placeholders()).transformation.effects
    on = "" if row.source == "photo.jpg" else f" on {row.source}"
    return f"{row.method}: {effects}{on}" + ("" if row.accept == "*/*" else f" (Accept: {row.accept})")


def public_methods() -> set[str]:
    base = set(dir(BaseTransformation))  # set, path, effects: the plumbing every transformation has
    return {name for name, _ in inspect.getmembers(T, inspect.isfunction) if not name.startswith("_")} - base


# --- The tests ---


@pytest.fixture
def uploads(uploadcare, tmp_path):
    """The sources' UUIDs, each uploaded with pyuploadcare on first use."""

    class Uploads(dict):
        def __missing__(self, name):
            path = tmp_path / name
            path.write_bytes(SOURCES[name]())
            with open(path, "rb") as f:
                self[name] = str(uploadcare.upload(f, store=True).uuid)
            return self[name]

    return Uploads()


def fetch(uploadcare, uuid: str, effects, accept: str = "*/*") -> tuple[str, requests.Response]:
    """The CDN URL pyuploadcare builds for `effects` on the file, and the live server's answer."""
    file = uploadcare.file(uuid)
    file.set_effects(effects)
    url = file.cdn_url
    return url, requests.get(url, headers={"Accept": accept}, timeout=60)


@pytest.mark.parametrize("row", [pytest.param(row, id=case_id(row)) for row in CASES])
def test_image_transformation(row: Case, uploadcare, uploads, conformance):
    with conformance.record("pyuploadcare", f"CDN ImageTransformation.{row.method}()"):
        recording = built(row, uploads)
        url, response = fetch(uploadcare, uploads[row.source], recording.transformation, row.accept)
        assert response.status_code == 200, f"{url} -> {response.status_code}: {response.text[:500]}"
        content_type = response.headers["Content-Type"].split(";")[0]
        if row.content_type:
            assert content_type == row.content_type, f"{url}: {content_type}, expected {row.content_type}"
        if row.body_check:
            row.body_check(response.json() if content_type == "application/json" else response.content)
            return
        raw = Image.open(io.BytesIO(response.content))
        raw.load()
        assert content_type == f"image/{raw.format.lower()}", f"{url}: {content_type} for {raw.format} bytes"
        if row.raw_check:
            row.raw_check(raw)
        shown = ImageOps.exif_transpose(raw)  # what a browser shows
        if row.size:
            assert shown.size == row.size, f"{url}: {shown.size[0]}x{shown.size[1]}, expected {row.size}"
        if row.check:
            row.check(shown)


def test_every_method_has_a_case():
    """A method a new pyuploadcare adds fails here until CASES has a row for it."""
    called = set()
    for row in CASES:
        calls = built(row, Placeholders()).calls
        assert row.method in calls, f"the row for {row.method} never calls it: {calls}"
        called.update(calls)
    assert public_methods() - called == set(), "ImageTransformation methods without a row in CASES"
    assert called - public_methods() == set()


def test_quality_levels_trade_bytes_for_fidelity(uploadcare, uploads):
    sizes = {}
    for level in (ImageQuality.lightest, ImageQuality.best):
        url, response = fetch(uploadcare, uploads["photo.jpg"], T().format(ImageFormat.jpeg).quality(level))
        assert response.status_code == 200, f"{url} -> {response.status_code}: {response.text[:500]}"
        sizes[level] = len(response.content)
    assert sizes[ImageQuality.lightest] < sizes[ImageQuality.best], sizes


@pytest.mark.parametrize(
    ("effects", "operation"),
    [
        ("resize/abc/", "resize"),
        ("scale_crop/200x200/nonsense/", "scale_crop"),
        ("crop/200x100/sideways/", "crop"),
        ("frobnicate/12/", "frobnicate"),
        ("rotate/45/", "rotate"),  # right angles only
        ("brightness/500/", "brightness"),  # -100..100
        ("blur/6000/", "blur"),  # up to 5000
        ("quality/ultra/", "quality"),
        ("format/bmp/", "format"),
    ],
)
def test_a_bad_operation_is_a_400_naming_it(effects, operation, uploadcare, uploads):
    """Strict parsing: the raw-string form of set_effects(), as an app passes a stored effects string."""
    url, response = fetch(uploadcare, uploads["photo.jpg"], effects)
    assert response.status_code == 400, f"{url} -> {response.status_code}: {response.text[:500]}"
    assert operation in response.text, f"{url}: the message does not name {operation!r}: {response.text[:500]}"


def test_gif2video_of_a_still_image_is_a_400(uploadcare, uploads):
    """'In case your source file is not a supported animated image … you'll get an HTTP 400 error.'"""
    url, response = fetch(uploadcare, uploads["photo.jpg"], T().gif2video())
    assert response.status_code == 400, f"{url} -> {response.status_code}: {response.text[:500]}"
