"""What each URL API step does to the pixels, on libvips (pyvips).

Every function takes and returns an image in the pipeline's working form: 8-bit sRGB (3 bands) or
greyscale (1 band), either with an alpha band last. Geometry resolves the URL's text values
(`50p`, `center`, `10,20`) against the image as it is at that step, so a crop after a resize
uses the resized coordinates, as Uploadcare's does.

Colour adjustments, enhance and the named filters follow the ranges and zero points of Uploadcare's
documentation; the filters' looks are Filedock's own (Uploadcare does not publish its LUTs).
"""

import math

import numpy as np
import pyvips
from django.conf import settings

from files.cdn import faces

WHITE = "ffffff"


class LimitExceeded(ValueError):
    """A limit only the image's own size reveals (a computed side above the cap)."""


# Values against the image


def side(value: str, whole: int) -> int:
    """`50p` of `whole`, or a number of pixels."""
    if value.endswith("p"):
        return max(1, round(whole * int(value[:-1]) / 100))
    return int(value)


def box_size(box, width: int, height: int) -> tuple[int, int]:
    return side(box[0], width), side(box[1], height)


def place(where: str, outer: tuple[int, int], inner: tuple[int, int]) -> tuple[int, int]:
    """Where `inner` goes in `outer`: a keyword, pixels, or percent as in CSS background-position."""
    (width, height), (w, h) = outer, inner
    centred = ((width - w) // 2, (height - h) // 2)
    keyword = {
        "center": centred,
        "top": (centred[0], 0),
        "bottom": (centred[0], height - h),
        "left": (0, centred[1]),
        "right": (width - w, centred[1]),
    }.get(where)
    if keyword:
        return keyword
    x, y = where.split(",")
    left = round((width - w) * int(x[:-1]) / 100) if x.endswith("p") else int(x)
    top = round((height - h) * int(y[:-1]) / 100) if y.endswith("p") else int(y)
    return left, top


def rgba(hex_color: str) -> list[int]:
    """`f00`, `f008`, `ff0000` or `ff000080` as [r, g, b, a]."""
    if len(hex_color) in (3, 4):
        hex_color = "".join(ch * 2 for ch in hex_color)
    if len(hex_color) == 6:
        hex_color += "ff"
    return [int(hex_color[i : i + 2], 16) for i in range(0, 8, 2)]


def fill_for(image: pyvips.Image, hex_color: str | None) -> list[int]:
    """The fill colour in the image's bands (transparent when it has alpha and no colour was set)."""
    r, g, b, a = rgba(hex_color or WHITE)
    if image.hasalpha() and hex_color is None:
        a = 0
    colour = [r, g, b] if image.bands >= 3 else [round(0.299 * r + 0.587 * g + 0.114 * b)]
    return [*colour, a] if image.hasalpha() else colour


def split(image: pyvips.Image) -> tuple[pyvips.Image, pyvips.Image | None]:
    """The colour bands and the alpha band (None without one)."""
    if image.hasalpha():
        return image.extract_band(0, n=image.bands - 1), image.extract_band(image.bands - 1)
    return image, None


def join(colour: pyvips.Image, alpha: pyvips.Image | None) -> pyvips.Image:
    colour = colour.cast("uchar")
    return colour.bandjoin(alpha) if alpha is not None else colour


def solid(width: int, height: int, values: list[int]) -> pyvips.Image:
    """A width x height image of one colour (3 bands sRGB, 4 with alpha, 1 grey)."""
    flat = pyvips.Image.black(width, height).new_from_image(values).cast("uchar")
    return flat.copy(interpretation="srgb" if len(values) >= 3 else "b-w")


def with_alpha(image: pyvips.Image) -> pyvips.Image:
    return image if image.hasalpha() else image.bandjoin(255)


def colour(image: pyvips.Image) -> pyvips.Image:
    """At least three colour bands (a greyscale image becomes sRGB)."""
    return image if image.bands >= 3 else image.colourspace("srgb")


# Geometry


def check_size(name: str, width: int, height: int) -> None:
    limit = settings.FILEDOCK_CDN_MAX_DIMENSION
    if width > limit or height > limit:
        # The side computed from the aspect ratio is bounded too: 1x5000 resized to 5000x would
        # otherwise ask for 25 million rows.
        raise LimitExceeded(f"{name}: the result would be {width}x{height}; sides are capped at {limit} pixels.")


def scaled(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    """Exactly width x height (Lanczos; the aspect may change)."""
    if (image.width, image.height) == (width, height):
        return image
    return image.resize(width / image.width, vscale=height / image.height, kernel="lanczos3")


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled to fit within `box`, aspect kept, never enlarged."""
    width, height = size
    scale = min(box[0] / width, box[1] / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def preview(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    return scaled(image, *fit((image.width, image.height), (width, height)))


def resize_target(width: int | None, height: int | None, source: tuple[int, int]) -> tuple[int, int]:
    if width is None:
        width = max(1, round(source[0] * height / source[1]))
    if height is None:
        height = max(1, round(source[1] * width / source[0]))
    return width, height


def resize(image: pyvips.Image, width, height, stretch: str, fill: str | None) -> pyvips.Image:
    width, height = resize_target(width, height, (image.width, image.height))
    check_size("resize", width, height)
    if stretch != "on" and (width > image.width or height > image.height):
        if stretch == "off":
            return image
        return padded(preview(image, width, height), width, height, fill)
    return scaled(image, width, height)


def padded(image: pyvips.Image, width: int, height: int, fill: str | None) -> pyvips.Image:
    """The image centred on a width x height canvas of the fill colour."""
    left, top = (width - image.width) // 2, (height - image.height) // 2
    return image.embed(left, top, width, height, extend="background", background=fill_for(image, fill))


def cut(
    image: pyvips.Image, left: int, top: int, width: int, height: int, fill: str | None, colour_values=None
) -> pyvips.Image:
    """The region, any part outside the image filled with the fill colour (or `colour_values`)."""
    background = colour_values if colour_values is not None else fill_for(image, fill)
    inside = (
        max(0, left),
        max(0, top),
        min(image.width, left + width) - max(0, left),
        min(image.height, top + height) - max(0, top),
    )
    if inside[2] <= 0 or inside[3] <= 0:
        return solid(width, height, background)
    region = image.crop(*inside)
    if inside == (left, top, width, height):
        return region
    return region.embed(inside[0] - left, inside[1] - top, width, height, extend="background", background=background)


def largest_with_ratio(width: int, height: int, ratio: str) -> tuple[int, int]:
    a, b = (int(v) for v in ratio.split(":"))
    if width * b >= height * a:
        return max(1, round(height * a / b)), height
    return width, max(1, round(width * b / a))


def crop(image: pyvips.Image, *step, fill: str | None) -> pyvips.Image:
    kind, where = step[0], step[-1]
    if kind == "box":
        width, height = box_size(step[1:3], image.width, image.height)
    elif kind == "ratio":
        width, height = largest_with_ratio(image.width, image.height, step[1])
    else:  # "face" or "image": around the largest face, or the whole picture
        return _crop_around(image, kind, step[1:-1], where, fill)
    left, top = place(where, (image.width, image.height), (width, height))
    return cut(image, left, top, width, height, fill)


def _crop_around(image: pyvips.Image, tag: str, shape: tuple, where: str, fill: str | None) -> pyvips.Image:
    found = faces.detect(image) if tag == "face" else []
    x, y, w, h = max(found, key=lambda f: f[2] * f[3]) if found else (0, 0, image.width, image.height)
    centre = (x + w // 2, y + h // 2)
    if shape[0] == "ratio":
        w, h = _grow(w, h, shape[1]) if found else largest_with_ratio(w, h, shape[1])
    elif shape[0] == "scale":
        w, h = side(shape[1], w), side(shape[2], h)
    w, h = min(w, image.width), min(h, image.height)
    if where == "center":
        left, top = centre[0] - w // 2, centre[1] - h // 2
    else:
        left, top = place(where, (image.width, image.height), (w, h))
    left = min(max(0, left), image.width - w)
    top = min(max(0, top), image.height - h)
    return cut(image, left, top, w, h, fill)


def _grow(width: int, height: int, ratio: str) -> tuple[int, int]:
    """The smallest box of `ratio` that holds width x height."""
    a, b = (int(v) for v in ratio.split(":"))
    if width * b >= height * a:
        return width, max(1, round(width * b / a))
    return max(1, round(height * a / b)), height


def scale_crop(image: pyvips.Image, width, height, mode, where, stretch, fill) -> pyvips.Image:
    scale = max(width / image.width, height / image.height)
    if scale > 1 and stretch != "on":
        if stretch == "off":
            return image
        image = padded(image, max(width, image.width), max(height, image.height), fill)
        scale = max(width / image.width, height / image.height)
    if scale != 1:
        cover = (max(width, math.ceil(image.width * scale)), max(height, math.ceil(image.height * scale)))
        image = scaled(image, *cover)
    if mode == "center":
        left, top = place(where, (image.width, image.height), (width, height))
        left, top = min(max(0, left), image.width - width), min(max(0, top), image.height - height)
        return image.crop(left, top, width, height)
    return smart_crop(image, width, height, mode)


def smart_crop(image: pyvips.Image, width: int, height: int, mode: str) -> pyvips.Image:
    """Detectors in the order the mode names them (`smart` is faces, objects, points); the first
    that finds something places the crop, libvips' attention (objects) or entropy (points) measure."""
    order = mode.removeprefix("smart").strip("_").split("_") if mode != "smart" else ["faces", "objects", "points"]
    for detector in order:
        if detector == "faces":
            found = faces.detect(image)
            if found:
                x0 = min(f[0] for f in found)
                y0 = min(f[1] for f in found)
                x1 = max(f[0] + f[2] for f in found)
                y1 = max(f[1] + f[3] for f in found)
                left = min(max(0, (x0 + x1) // 2 - width // 2), image.width - width)
                top = min(max(0, (y0 + y1) // 2 - height // 2), image.height - height)
                return image.crop(left, top, width, height)
        else:
            interesting = "attention" if detector == "objects" else "entropy"
            return image.smartcrop(width, height, interesting=interesting)
    return image.smartcrop(width, height, interesting="centre")


def smart_resize(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    """Content-aware: scaled to cover, then cut where the subject is (faces, then objects)."""
    return scale_crop(image, width, height, "smart", "center", "on", None)


def zoom_objects(image: pyvips.Image, amount: int) -> pyvips.Image:
    """The object on a uniform background scaled to take `amount` percent of the frame (along its
    tighter side), centred, the frame's size kept; the background (the corners' colour) fills what
    the zoom uncovers. An image whose background is not uniform is left as it is."""
    background = [round(v) for v in image.getpoint(0, 0)]
    left, top, width, height = image.find_trim(threshold=24, background=background[: image.bands])
    if width < 1 or height < 1 or (width, height) == (image.width, image.height):
        return image
    scale = (amount / 100) / max(width / image.width, height / image.height)
    window = (max(1, round(image.width / scale)), max(1, round(image.height / scale)))
    centre = (left + width // 2, top + height // 2)
    region = cut(image, centre[0] - window[0] // 2, centre[1] - window[1] // 2, *window, None, background)
    return scaled(region, image.width, image.height)


def border_radius(image: pyvips.Image, radii: tuple, vertical: tuple) -> pyvips.Image:
    """Rounded corners as CSS border-radius: 1 to 4 radii (top-left, top-right, bottom-right,
    bottom-left), each px or percent, and optional vertical radii for elliptical corners."""
    width, height = image.width, image.height
    horizontal = _four(radii, width)
    upright = _four(vertical, height)
    corners = [(min(rx, width / 2), min(ry, height / 2)) for rx, ry in zip(horizontal, upright, strict=True)]
    (a, b), (c, d), (e, f), (g, h) = corners
    path = (
        f"M{a},0 H{width - c} A{c},{d} 0 0 1 {width},{d} V{height - f} A{e},{f} 0 0 1 {width - e},{height} "
        f"H{g} A{g},{h} 0 0 1 0,{height - h} V{b} A{a},{b} 0 0 1 {a},0 Z"
    )
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"><path d="{path}"/></svg>'
    mask = pyvips.Image.svgload_buffer(svg.encode(), unlimited=False)[3]
    colour_bands, alpha = split(image)
    alpha = mask if alpha is None else (alpha * mask / 255)
    return join(colour_bands, alpha.cast("uchar"))


def _four(values: tuple, whole: int) -> list[int]:
    sides = [side(v, whole) if v != "0" else 0 for v in values]
    if len(sides) < 4:
        sides = (sides * 4)[:2] * 2 if len(sides) < 3 else [*sides, sides[1]]
    return sides


def rotate(image: pyvips.Image, angle: int) -> pyvips.Image:
    """Counter-clockwise, as Uploadcare's rotate."""
    return image.rot({90: "d270", 180: "d180", 270: "d90"}[angle])


# Colour


def grayscale(image: pyvips.Image) -> pyvips.Image:
    return image.colourspace("b-w")


def invert(image: pyvips.Image) -> pyvips.Image:
    colour_bands, alpha = split(image)
    return join(colour_bands.invert(), alpha)


def linear(image: pyvips.Image, multiply, add) -> pyvips.Image:
    colour_bands, alpha = split(image)
    return join(colour_bands.linear(multiply, add), alpha)


def brightness(image, value: int):
    """The value is added to each colour channel, as Uploadcare documents."""
    return linear(image, 1, value)


def exposure(image, value: int):
    return linear(image, 2 ** (value / 100), 0)


def gamma(image, value: int):
    """100 changes nothing; below darkens the mid-tones, above lightens them."""
    colour_bands, alpha = split(image)
    exponent = 100 / max(value, 1)
    return join((colour_bands / 255) ** exponent * 255, alpha)


def contrast(image, value: int):
    factor = 1 + value / 100
    return linear(image, factor, 127.5 * (1 - factor))


def saturation(image, value: int):
    if image.bands < 3:
        return image
    colour_bands, alpha = split(image)
    grey = colour_bands.colourspace("b-w").colourspace("srgb").cast("float")
    factor = 1 + value / 100
    return join(grey + (colour_bands - grey) * factor, alpha)


def vibrance(image, value: int):
    """Saturation weighted toward the muted colours."""
    if image.bands < 3:
        return image
    colour_bands, alpha = split(image)
    red, green, blue = colour_bands[0], colour_bands[1], colour_bands[2]
    most, least = red.maxpair(green).maxpair(blue), red.minpair(green).minpair(blue)
    muted = 1 - (most - least) / 255  # 1 for grey, 0 for a pure colour
    grey = colour_bands.colourspace("b-w").colourspace("srgb").cast("float")
    factor = 1 + (value / 100) * muted
    return join(grey + (colour_bands - grey) * factor, alpha)


def warmth(image, value: int):
    if image.bands < 3:
        return image
    shift = value * 0.6
    return linear(image, [1, 1, 1], [shift, shift * 0.2, -shift])


def enhance(image, strength: int):
    """Auto levels: the 1st and 99th percentiles of the brightness (read from a 256 px copy)
    stretched to black and white, mixed in by strength (0 to 100); one lookup table, so the cost
    is one pass over the picture."""
    if not strength:
        return image
    colour_bands, alpha = split(image)
    grey = colour_bands.colourspace("b-w") if colour_bands.bands >= 3 else colour_bands
    if max(grey.width, grey.height) > 256:
        grey = grey.thumbnail_image(256)
    counts = np.ndarray(buffer=grey.hist_find().write_to_memory(), dtype=np.uint32, shape=(256,))
    share = counts.cumsum() / max(1, counts.sum())
    low, high = int(np.searchsorted(share, 0.01)), int(np.searchsorted(share, 0.99))
    if high <= low:
        return image
    levels = np.clip((np.arange(256) - low) * 255 / (high - low), 0, 255)
    mix = strength / 100
    table = np.round(np.arange(256) * (1 - mix) + levels * mix).astype(np.uint8)
    return join(colour_bands.maplut(pyvips.Image.new_from_memory(table.tobytes(), 256, 1, 1, "uchar")), alpha)


# The named filters: (brightness, contrast, saturation, warmth, tint r, g, b). Amount 100 is the
# look as designed; 0 is the original; above 100 exaggerates; below 0 subtracts the look.
FILTER_LOOKS = {
    "adaris": (6, 8, -20, 10, 0, 0, 8),
    "briaril": (-4, 18, 10, -12, 0, 6, 10),
    "calarel": (8, -6, -30, 18, 10, 4, 0),
    "carris": (0, 22, 25, 6, 6, 0, 0),
    "cynarel": (4, 10, -10, -20, 0, 10, 14),
    "cyren": (-6, 14, -40, 0, 0, 8, 12),
    "elmet": (10, -10, -15, 25, 12, 6, 0),
    "elonni": (2, 25, 35, -4, 0, 0, 6),
    "enzana": (-8, 30, 5, 12, 8, 0, 0),
    "erydark": (-18, 28, -25, -8, 0, 0, 6),
    "fenralan": (6, 6, 20, 30, 14, 4, 0),
    "ferand": (-2, 12, -5, 18, 10, 8, 0),
    "galen": (12, -14, -35, 8, 6, 6, 6),
    "gavin": (0, 16, 15, -25, 0, 4, 16),
    "gethriel": (4, 20, -50, 0, 0, 0, 0),
    "iorill": (-10, 24, 30, 10, 10, 0, 4),
    "iothari": (8, 4, -20, -16, 0, 8, 12),
    "iselva": (14, -8, 10, 20, 12, 8, 0),
    "jadis": (-4, 10, -100, 0, 0, 0, 0),
    "lavra": (6, 12, 20, -8, 8, 0, 12),
    "misiara": (10, -18, -25, 14, 10, 8, 4),
    "namala": (-6, 20, 40, 20, 10, 0, 0),
    "nerion": (0, 26, -60, -10, 0, 4, 8),
    "nethari": (-12, 18, 10, -18, 0, 6, 14),
    "pamaya": (12, 8, 30, 24, 14, 6, 0),
    "sarnar": (-8, 32, -15, 4, 4, 0, 0),
    "sedis": (4, -12, -45, 16, 10, 8, 2),
    "sewen": (8, 14, 20, -14, 0, 8, 10),
    "sorahel": (16, -4, 5, 12, 10, 6, 2),
    "sorlen": (-14, 22, -30, 22, 12, 4, 0),
    "tarian": (2, 18, 45, 0, 0, 0, 0),
    "thellassan": (6, 10, -15, -30, 0, 10, 18),
    "varriel": (-4, 28, 15, 16, 10, 2, 0),
    "varven": (10, 6, -70, 10, 8, 6, 4),
    "vevera": (14, 12, 25, 8, 8, 4, 6),
    "virkas": (-10, 34, -20, -6, 0, 2, 6),
    "yedis": (4, 16, -100, 12, 12, 8, 4),
    "yllara": (10, -6, 35, -10, 0, 8, 12),
    "zatvel": (-6, 14, 20, 28, 14, 4, 0),
    "zevcen": (8, 22, -35, -22, 0, 6, 14),
}


def filter_(image, name: str, amount: int):
    if not amount:
        return image
    bright, contr, sat, warm, *tint = FILTER_LOOKS[name]
    colour_bands, alpha = split(colour(image))
    look = brightness(contrast(join(colour_bands, None), contr), bright)
    look = warmth(saturation(look, sat), warm).cast("float") + tint
    mix = amount / 100
    return join(colour_bands * (1 - mix) + look * mix, alpha)


# Blur and sharpen


def blurred(image: pyvips.Image, sigma: float) -> pyvips.Image:
    """A Gaussian blur whose cost does not grow with sigma: large ones are done with sigma 5 on a copy
    shrunk by sigma / 5. A side is shrunk to no less than 2 px: along a side that short, a blur
    of 2.5 times its length or more leaves it one colour, as the full sigma would. (A thin image
    once fell back to a full-size blur at full sigma: 19 s of CPU for 46x4999 at sigma 500.)"""
    if sigma < 0.3:
        return image
    if sigma <= 10:
        return image.gaussblur(sigma).cast("uchar")
    shrink = sigma / 5
    across, down = min(shrink, max(1, image.width / 2)), min(shrink, max(1, image.height / 2))
    small = image.resize(1 / across, vscale=1 / down, kernel="linear").gaussblur(5)
    return small.resize(image.width / small.width, vscale=image.height / small.height, kernel="linear").cast("uchar")


def blur(image: pyvips.Image, strength: int, amount: int) -> pyvips.Image:
    """Strength is sigma x 10; amount 100 is fully blurred, 0 the original, below 0 an unsharp mask."""
    soft = blurred(image, strength / 10)
    if amount == 100:
        return soft
    mix = amount / 100
    return (image.cast("float") * (1 - mix) + soft.cast("float") * mix).cast("uchar")


def blur_region(image: pyvips.Image, *step) -> pyvips.Image:
    if step[0] == "faces":
        regions = faces.detect(image)
        strength = step[1]
    else:
        width, height = box_size(step[0:2], image.width, image.height)
        left, top = place(step[2], (image.width, image.height), (width, height))
        regions, strength = [(left, top, width, height)], step[3]
    for left, top, width, height in regions:
        left, top = max(0, left), max(0, top)
        width, height = min(width, image.width - left), min(height, image.height - top)
        if width < 1 or height < 1:
            continue
        sigma = strength / 10 if strength else max(width, height) / 12  # 0: from the region's size
        region = blurred(image.crop(left, top, width, height), sigma)
        image = image.insert(region, left, top)
    return image


def sharp(image: pyvips.Image, strength: int) -> pyvips.Image:
    if not strength:
        return image
    colour_bands, alpha = split(image)
    sharpened = colour_bands.sharpen(sigma=0.5 + strength / 10, m1=0, m2=strength / 2)
    return join(sharpened.colourspace(colour_bands.interpretation), alpha)


# Overlays


def overlay(image: pyvips.Image, layer: pyvips.Image, box, where: str, opacity: int) -> pyvips.Image:
    """`layer` fitted in `box` (a share of the image, or pixels; the whole image when absent),
    placed at `where`, at `opacity` percent."""
    bound = box_size(box, image.width, image.height) if box else (image.width, image.height)
    layer = with_alpha(colour(preview(layer, *bound)))
    if opacity < 100:
        layer = layer.linear([1] * (layer.bands - 1) + [opacity / 100], 0)
    left, top = place(where, (image.width, image.height), (layer.width, layer.height))
    return _composite(image, layer.cast("uchar"), left, top)


def _composite(image: pyvips.Image, layer: pyvips.Image, left: int, top: int) -> pyvips.Image:
    """`layer` (sRGB with alpha) over the image at left, top; the image keeps alpha only if it had it."""
    merged = with_alpha(colour(image)).composite2(layer, "over", x=left, y=top).cast("uchar")
    return merged if image.hasalpha() else merged.flatten().cast("uchar")


def rect(image: pyvips.Image, hex_color: str, box, where: str) -> pyvips.Image:
    width, height = box_size(box, image.width, image.height)
    left, top = place(where, (image.width, image.height), (width, height))
    return _composite(image, solid(width, height, rgba(hex_color)), left, top)


def text(image: pyvips.Image, box, where: str, words: str, style: tuple) -> pyvips.Image:
    """Text wrapped to the box's width; font, alignment and background box from the -/font/,
    -/text_align/ and -/text_box/ before it."""
    options = dict(style)
    width, height = box_size(box, image.width, image.height)
    horizontal, vertical = options.get("align", ("left", "top"))
    glyphs = _glyphs(words, options, width, height, horizontal)
    padding, mode = options.get("padding", 0), options.get("box", "none")
    fitted = (glyphs.width + 2 * padding, glyphs.height + 2 * padding)
    size = (width, height) if mode == "fill" else fitted
    size = (min(size[0], image.width), min(size[1], image.height))
    background = rgba(options.get("box_color", "ffffff")) if mode != "none" else [0, 0, 0, 0]
    inner = (size[0] - glyphs.width, size[1] - glyphs.height)
    x = {"left": padding, "center": inner[0] // 2, "right": inner[0] - padding}[horizontal]
    y = {"top": padding, "center": inner[1] // 2, "bottom": inner[1] - padding}[vertical]
    layer = solid(*size, background).composite2(glyphs, "over", x=max(0, x), y=max(0, y)).cast("uchar")
    left, top = place(where, (image.width, image.height), size)
    return _composite(image, layer, left, top)


def _glyphs(words: str, options: dict, width: int, height: int, horizontal: str) -> pyvips.Image:
    """The text drawn in its colour on transparency, at most width x height."""
    family = {"DejaVuMono": "DejaVu Sans Mono", "DejaVuSerif": "DejaVu Serif"}.get(options.get("family"), "DejaVu Sans")
    weight = " Bold" if options.get("weight") == "bold" else ""
    slant = " Italic" if options.get("style") == "italic" else ""
    font = f"{family}{weight}{slant} {options.get('size', 10)}"
    markup = words[:1000].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    align = {"left": "low", "center": "centre", "right": "high"}[horizontal]
    mask = pyvips.Image.text(markup, font=font, width=width, align=align, dpi=72)
    mask = mask.crop(0, 0, min(mask.width, width), min(mask.height, height))
    r, g, b, a = rgba(options.get("color", "000000"))
    return solid(mask.width, mask.height, [r, g, b]).bandjoin((mask * (a / 255)).cast("uchar"))
