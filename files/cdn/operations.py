"""The URL API's grammar: `-/name/param/…/-/name/…/[filename]` parsed strictly into a Plan.

Every operation of Uploadcare's URL API has a parser here; what pyuploadcare's ImageTransformation
and the File Uploader's image editor emit is what they accept. Anything else is a ValueError whose
message names the operation and what was expected (the CDN answers it with a 400): a URL never
gives a silently different image.

A Plan holds two kinds of things: steps, applied to the pixels in URL order, and settings that hold
for the whole rendering (format, quality, fill colour, stretch, metadata and colour handling, how
the answer is given). A URL that does not end in "/" ends with a file name, which names the
download only.
"""

import re
from dataclasses import dataclass, field

from django.conf import settings

PREVIEW_DEFAULT = 2048  # -/preview/ without a size
PREVIEW_MAX = 3000  # the largest box a preview URL may ask for (larger ones are capped)
SIZE = re.compile(r"^(\d{1,9})?x(\d{1,9})?$")  # the range is checked apart, to say what it is
DIMENSIONS = re.compile(r"^(\d{1,5}p?)x(\d{1,5}p?)$")  # pixels, or percent with a "p": 50px50p
RATIO = re.compile(r"^(\d{1,4}):(\d{1,4})$")
COORDINATES = re.compile(r"^(-?\d{1,5}p?),(-?\d{1,5}p?)$")
COLOR = re.compile(r"^(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$", re.IGNORECASE)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
ALIGNMENTS = {"center", "top", "bottom", "left", "right"}
FONT_FAMILIES = {"DejaVu", "DejaVuMono", "DejaVuSerif", "Noto", "NotoMono", "NotoSerif"}
SCALE_CROP_MODES = {
    "center",
    "smart",
    "smart_faces_objects",
    "smart_faces_points",
    "smart_objects_faces_points",
    "smart_objects_faces",
    "smart_objects_points",
    "smart_points",
    "smart_objects",
    "smart_faces",
}
FORMATS = {"jpeg", "png", "webp", "avif", "auto", "preserve"}
JPEG_OR_PNG = "jpeg_or_png"  # the preview URL's own format, which no URL can ask for
QUALITY = {"lightest": 35, "lighter": 50, "normal": 75, "better": 85, "best": 95, "smart": 75, "smart_retina": 65}
FILTERS = {
    "adaris", "briaril", "calarel", "carris", "cynarel", "cyren", "elmet", "elonni", "enzana", "erydark",
    "fenralan", "ferand", "galen", "gavin", "gethriel", "iorill", "iothari", "iselva", "jadis", "lavra",
    "misiara", "namala", "nerion", "nethari", "pamaya", "sarnar", "sedis", "sewen", "sorahel", "sorlen",
    "tarian", "thellassan", "varriel", "varven", "vevera", "virkas", "yedis", "yllara", "zatvel", "zevcen",
}  # fmt: skip
# Colour adjustments: (lowest, highest, the value that changes nothing).
ADJUSTMENTS = {
    "brightness": (-100, 100, 0),
    "exposure": (-500, 500, 0),
    "gamma": (0, 1000, 100),
    "contrast": (-100, 500, 0),
    "saturation": (-100, 500, 0),
    "vibrance": (-100, 500, 0),
    "warmth": (-100, 100, 0),
}
TEXT_BOX_MODES = {"none", "fit", "line", "fill"}
# Operations that answer with JSON about the image instead of an image.
ANSWERS = {"json", "main_colors", "detect_faces"}
MAX_STEPS = 32  # a URL cannot chain more pixel steps than this


@dataclass
class Plan:
    """What to do to the image, in order, and how to give the result."""

    steps: list[tuple] = field(default_factory=list)
    format: str = "preserve"
    quality: str = "normal"
    progressive: bool = False
    fill: str | None = None  # setfill: background for padding, flattening and rounded corners
    stretch: str = "on"
    strip_meta: str = "all"
    srgb: str = "icc"
    max_icc_size: int = 10  # KB; a larger embedded profile is converted to sRGB and dropped
    autorotate: bool = True
    inline: bool | None = None  # -/inline/yes|no/: None is the default disposition (inline)
    answer: tuple | None = None  # ("json",), ("main_colors", n) or ("detect_faces",)
    text_style: dict = field(default_factory=dict)  # text_align, font, text_box: for the next text
    named_by_size: bool = False  # the preview URL's plan: named by the size it gives
    chosen: set[str] = field(default_factory=set)  # the settings the URL names (format, quality)

    def defaults(self, *, auto_format: bool, quality: str) -> "Plan":
        """Applies a project's delivery settings to what the URL leaves open; returns the plan."""
        if auto_format and "format" not in self.chosen:
            self.format = "auto"
        if "quality" not in self.chosen:
            self.quality = quality
        return self

    def key(self) -> str:
        """The normalised form: equivalent URLs give the same key, hence one cached rendering."""
        parts = ["-".join(str(p) for p in step) for step in self.steps]
        settings_ = [
            f"f-{self.format}",
            f"q-{self.quality}",
            f"p-{int(self.progressive)}",
            f"fill-{self.fill}",
            f"st-{self.stretch}",
            f"m-{self.strip_meta}",
            f"c-{self.srgb}-{self.max_icc_size}",
            f"r-{int(self.autorotate)}",
        ]
        return "/".join([*parts, *settings_])


def parse(path: str) -> tuple[Plan, str]:
    """Parses `-/op/params/-/op/params/[filename]`; returns the plan and the trailing file name."""
    tokens = path.split("/")
    filename = ""
    if tokens[-1] != "":
        filename = tokens.pop()  # no trailing slash: the last segment names the download
        try:
            return _parse_tokens(tokens), filename
        except ValueError as first:
            # Forgiving a hand-typed URL that drops the final slash: `-/resize/200x` still works.
            try:
                return _parse_tokens([*tokens, filename]), ""
            except ValueError:
                raise first from None
    tokens.pop()
    return _parse_tokens(tokens), filename


def parse_preview(size: str | None) -> Plan:
    """The plan of `-/preview/[size/]`, the dashboard's and the uploader's thumbnail URL."""
    plan = Plan(named_by_size=True, format=JPEG_OR_PNG, quality="better", chosen={"quality"})
    _apply(plan, "preview", [size] if size is not None else [])
    return plan


def _parse_tokens(tokens: list[str]) -> Plan:
    plan, index = Plan(), 0
    while index < len(tokens):
        if tokens[index] != "-":
            raise ValueError(f"Unexpected {tokens[index]!r}: operations look like -/name/params/.")
        if index + 1 >= len(tokens) or not tokens[index + 1]:
            raise ValueError("An operation name is missing after '-/'.")
        name, params = tokens[index + 1], []
        index += 2
        while index < len(tokens) and tokens[index] != "-":
            params.append(tokens[index])
            index += 1
        if name.startswith("@"):
            continue  # a client's own marker (the editor's -/@clib/…/): passed through, as on Uploadcare
        if name != "text":
            params = [param.replace("%", "p") for param in params]  # 50% is 50p (pyuploadcare sends both)
        _apply(plan, name, params)
    if len(plan.steps) > MAX_STEPS:
        raise ValueError(f"Too many operations: at most {MAX_STEPS} may be chained.")
    return plan


def _apply(plan: Plan, name: str, params: list[str]) -> None:
    if plan.answer is not None:
        raise ValueError(f"-/{plan.answer[0]}/ answers with JSON, so it must be the last operation.")
    parser = PARSERS.get(name)
    if parser is None:
        raise ValueError(f"Unknown operation {name!r}: -/{'/'.join([name, *params])}/")
    least, most, usage = parser.arity
    if not least <= len(params) <= most:
        raise ValueError(f"{name}: expected -/{name}/{usage}/ but got -/{'/'.join([name, *params])}/")
    parser(plan, *params)


def operation(least: int, most: int, usage: str):
    """Registers a parser taking `least` to `most` parameters; `usage` is shown when they do not fit."""

    def register(function):
        function.arity = (least, most, usage)
        PARSERS[function.__name__.removeprefix("op_")] = function
        return function

    return register


PARSERS: dict = {}


# Values


def size(value: str, name: str, need_both: bool = False) -> tuple[int | None, int | None]:
    match = SIZE.match(value)
    if not match or match.groups() == (None, None):
        raise ValueError(f"{name}: invalid size {value!r}; expected WxH, Wx or xH in pixels.")
    width, height = (int(v) if v else None for v in match.groups())
    if need_both and (width is None or height is None):
        raise ValueError(f"{name}: both width and height are needed, e.g. 300x200.")
    limit = settings.FILEDOCK_CDN_MAX_DIMENSION
    if any(v is not None and not 1 <= v <= limit for v in (width, height)):
        raise ValueError(f"{name}: sides must be between 1 and {limit} pixels.")
    return width, height


def dimensions(value: str, name: str) -> tuple[str, str]:
    """`WxH`, each side in pixels or percent (`50p`); kept as text, resolved against the image."""
    match = DIMENSIONS.match(value)
    if not match:
        raise ValueError(f"{name}: invalid dimensions {value!r}; expected WxH in pixels or percent (50px50p).")
    for side in match.groups():
        number, percent = int(side.rstrip("p")), side.endswith("p")
        if number < 1 or (percent and number > 100) or number > settings.FILEDOCK_CDN_MAX_DIMENSION:
            raise ValueError(f"{name}: {side!r} is out of range (1 to 100 percent, or 1 to the pixel cap).")
    return match.groups()


def position(value: str, name: str, keywords=ALIGNMENTS) -> str:
    """`X,Y` in pixels or percent, or an alignment keyword; kept as text."""
    if value in keywords:
        return value
    match = COORDINATES.match(value)
    if not match:
        choices = ", ".join(sorted(keywords))
        raise ValueError(f"{name}: invalid position {value!r}; expected X,Y (pixels or 50p) or one of {choices}.")
    for side in match.groups():
        if side.endswith("p") and not 0 <= int(side.rstrip("p")) <= 100:
            raise ValueError(f"{name}: percent offsets are 0p to 100p, not {side!r}.")
    return value


def integer(value: str, name: str, low: int, high: int) -> int:
    if not re.fullmatch(r"-?\d{1,6}", value) or not low <= int(value) <= high:
        raise ValueError(f"{name}: expected a whole number from {low} to {high}, not {value!r}.")
    return int(value)


def color(value: str, name: str) -> str:
    if not COLOR.match(value):
        raise ValueError(f"{name}: invalid colour {value!r}; expected hex RGB, RGBA, RRGGBB or RRGGBBAA.")
    return value.lower()


def choice(value: str, name: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(sorted(choices))}, not {value!r}.")
    return value


def yes_no(value: str, name: str) -> bool:
    return choice(value, name, {"yes", "no"}) == "yes"


def radii(value: str, name: str) -> tuple[str, ...]:
    parts = value.split(",")
    if len(parts) not in (1, 2, 3, 4) or not all(re.fullmatch(r"\d{1,5}p?", part) for part in parts):
        raise ValueError(f"{name}: invalid radii {value!r}; expected 1 to 4 comma-separated values, px or 50p.")
    return tuple(parts)


# Operations: resize and crop


@operation(0, 1, "[WxH]")
def op_preview(plan: Plan, value: str | None = None) -> None:
    """Fits the image in the box, never enlarging it; a missing side (pyuploadcare's `300x`) is free."""
    if not value:
        plan.steps.append(("preview", PREVIEW_DEFAULT, PREVIEW_DEFAULT))
        return
    width, height = size(value, "preview")
    plan.steps.append(("preview", min(width or PREVIEW_MAX, PREVIEW_MAX), min(height or PREVIEW_MAX, PREVIEW_MAX)))


@operation(1, 1, "WxH")
def op_resize(plan: Plan, value: str) -> None:
    """Exactly WxH (the aspect may change); one side keeps the aspect. A preceding -/stretch/ says
    what happens to an image smaller than the result."""
    plan.steps.append(("resize", *size(value, "resize"), plan.stretch))


@operation(1, 1, "on|off|fill")
def op_stretch(plan: Plan, mode: str) -> None:
    """For the resize and scale_crop steps after it: on (enlarge), off (never), fill (pad instead)."""
    plan.stretch = choice(mode, "stretch", {"on", "off", "fill"})


@operation(1, 1, "WxH")
def op_smart_resize(plan: Plan, value: str) -> None:
    plan.steps.append(("smart_resize", *size(value, "smart_resize", need_both=True)))


@operation(1, 3, "WxH|W:H|face|image/[alignment|X,Y]")
def op_crop(plan: Plan, value: str, *rest: str) -> None:
    """A box (px or percent) at X,Y (default 0,0) or an alignment; a ratio (default centred); or the
    largest face / the image's main content, optionally sized (percent of it) or given a ratio."""
    params = list(rest)
    if value in ("face", "image"):
        shape = ("whole",)
        if params and RATIO.match(params[0]):
            shape = ("ratio", _ratio(params.pop(0)))
        elif params and DIMENSIONS.match(params[0]):
            width, height = dimensions(params.pop(0), "crop")
            if not (width.endswith("p") and height.endswith("p")):
                raise ValueError(f"crop: the size of a {value} crop is a percentage of it, like 200px200p.")
            shape = ("scale", width, height)
        box, where = (value, *shape), "center"
    elif RATIO.match(value):
        box, where = ("ratio", _ratio(value)), "center"
    else:
        box, where = ("box", *dimensions(value, "crop")), "0,0"
    if params:
        where = position(params.pop(0), "crop")
    if params:
        raise ValueError(f"crop: unexpected {params[0]!r}; expected -/crop/WxH/[alignment|X,Y]/.")
    plan.steps.append(("crop", *box, where))


def _ratio(value: str) -> str:
    match = RATIO.match(value)
    if 0 in (int(match[1]), int(match[2])):
        raise ValueError(f"crop: the ratio {value!r} needs two positive numbers.")
    return value


@operation(1, 3, "WxH/[mode]/[alignment|Xp,Yp]")
def op_scale_crop(plan: Plan, value: str, *rest: str) -> None:
    """Scaled to cover WxH, then cut to it: centred, at percent offsets, or where a detector (faces,
    objects, corner points, in the order the mode names them) finds the subject."""
    width, height = size(value, "scale_crop", need_both=True)
    params, mode, where = list(rest), "center", "center"
    if params and params[0].startswith("smart"):
        mode = choice(params.pop(0), "scale_crop", SCALE_CROP_MODES | {"smart_faces_objects_points"})
    if params:
        where = position(params.pop(0), "scale_crop")
    if params:
        raise ValueError(f"scale_crop: unexpected {params[0]!r}; expected -/scale_crop/WxH/[mode]/[alignment]/.")
    plan.steps.append(("scale_crop", width, height, mode, where, plan.stretch))


@operation(1, 1, "zoom (0 to 100)")
def op_zoom_objects(plan: Plan, value: str) -> None:
    amount = integer(value, "zoom_objects", 0, 100)
    if amount:
        plan.steps.append(("zoom_objects", amount))


@operation(1, 1, "color")
def op_setfill(plan: Plan, value: str) -> None:
    plan.fill = color(value, "setfill")


@operation(1, 2, "radii/[vertical_radii]")
def op_border_radius(plan: Plan, value: str, vertical: str | None = None) -> None:
    plan.steps.append(("border_radius", radii(value, "border_radius"), radii(vertical or value, "border_radius")))


# Operations: encoding and metadata


@operation(1, 1, "jpeg|png|webp|avif|auto|preserve")
def op_format(plan: Plan, value: str) -> None:
    plan.format = choice(value, "format", FORMATS)
    plan.chosen.add("format")


@operation(1, 1, "normal|better|best|lighter|lightest|smart|smart_retina")
def op_quality(plan: Plan, value: str) -> None:
    plan.quality = choice(value, "quality", QUALITY)
    plan.chosen.add("quality")


@operation(1, 1, "yes|no")
def op_progressive(plan: Plan, value: str) -> None:
    plan.progressive = yes_no(value, "progressive")


@operation(0, 0, "")
def op_rasterize(plan: Plan) -> None:
    """SVG sources are rasterized for any operation; the explicit form is accepted as such."""


@operation(1, 1, "all|none|sensitive")
def op_strip_meta(plan: Plan, value: str) -> None:
    plan.strip_meta = choice(value, "strip_meta", {"all", "none", "sensitive"})


@operation(1, 1, "fast|icc|keep_profile")
def op_srgb(plan: Plan, value: str) -> None:
    plan.srgb = choice(value, "srgb", {"fast", "icc", "keep_profile"})


@operation(1, 1, "size in KB")
def op_max_icc_size(plan: Plan, value: str) -> None:
    plan.max_icc_size = integer(value, "max_icc_size", 0, 10000)


@operation(1, 1, "yes|no")
def op_autorotate(plan: Plan, value: str) -> None:
    plan.autorotate = yes_no(value, "autorotate")


@operation(1, 1, "yes|no")
def op_inline(plan: Plan, value: str) -> None:
    plan.inline = yes_no(value, "inline")


# Operations: orientation and colour


@operation(1, 1, "angle (a multiple of 90)")
def op_rotate(plan: Plan, value: str) -> None:
    angle = integer(value, "rotate", -3600, 3600)
    if angle % 90:
        raise ValueError(f"rotate: the angle is a multiple of 90 degrees, not {value!r}.")
    if angle % 360:
        plan.steps.append(("rotate", angle % 360))


@operation(0, 0, "")
def op_flip(plan: Plan) -> None:
    plan.steps.append(("flip",))


@operation(0, 0, "")
def op_mirror(plan: Plan) -> None:
    plan.steps.append(("mirror",))


@operation(0, 0, "")
def op_grayscale(plan: Plan) -> None:
    plan.steps.append(("grayscale",))


@operation(0, 0, "")
def op_invert(plan: Plan) -> None:
    plan.steps.append(("invert",))


@operation(0, 1, "[strength (0 to 100)]")
def op_enhance(plan: Plan, value: str = "50") -> None:
    plan.steps.append(("enhance", integer(value, "enhance", 0, 100)))


def _adjustment(name: str):
    low, high, neutral = ADJUSTMENTS[name]

    def parse_adjustment(plan: Plan, value: str = str(neutral)) -> None:
        amount = integer(value, name, low, high)
        if amount != neutral:
            plan.steps.append((name, amount))

    parse_adjustment.__name__ = f"op_{name}"
    operation(0, 1, f"[value ({low} to {high})]")(parse_adjustment)


for _name in ADJUSTMENTS:
    _adjustment(_name)


@operation(1, 2, "name/[amount (-100 to 200)]")
def op_filter(plan: Plan, name: str, amount: str = "100") -> None:
    plan.steps.append(("filter", choice(name, "filter", FILTERS), integer(amount, "filter", -100, 200)))


@operation(0, 2, "[strength (0 to 5000)]/[amount (-200 to 100)]")  # strength is sigma x 10
def op_blur(plan: Plan, strength: str = "10", amount: str = "100") -> None:
    plan.steps.append(("blur", integer(strength, "blur", 0, 5000), integer(amount, "blur", -200, 100)))


@operation(1, 3, "WxH/X,Y/[strength] or faces/[strength]")
def op_blur_region(plan: Plan, *params: str) -> None:
    if params[0] == "faces":
        if len(params) > 2:
            raise ValueError("blur_region: expected -/blur_region/faces/[strength]/.")
        strength = integer(params[1], "blur_region", 0, 5000) if len(params) == 2 else 0
        plan.steps.append(("blur_region", "faces", strength))  # 0: chosen from the region's size
        return
    if len(params) < 2:
        raise ValueError("blur_region: expected -/blur_region/WxH/X,Y/[strength]/.")
    box = dimensions(params[0], "blur_region")
    where = position(params[1], "blur_region", keywords=set())
    strength = integer(params[2], "blur_region", 0, 5000) if len(params) == 3 else 0
    plan.steps.append(("blur_region", *box, where, strength))


@operation(0, 1, "[strength (0 to 20)]")
def op_sharp(plan: Plan, value: str = "5") -> None:
    plan.steps.append(("sharp", integer(value, "sharp", 0, 20)))


# Operations: overlays


def _placement(params: list[str], name: str) -> tuple[tuple[str, str] | None, str]:
    """The optional `WxH` and `X,Y|alignment` that start an overlay's parameters, told apart by
    shape (every one is optional, the order is kept); the default is the whole size, top left."""
    box, where = None, "0,0"
    if params and DIMENSIONS.match(params[0]):
        box = dimensions(params.pop(0), name)
    if params and (params[0] in ALIGNMENTS or COORDINATES.match(params[0])):
        where = position(params.pop(0), name)
    return box, where


@operation(1, 4, "uuid|self/[WxH]/[X,Y|alignment]/[opacity (0p to 100p)]")
def op_overlay(plan: Plan, source: str, *rest: str) -> None:
    if source != "self" and not UUID.match(source):
        raise ValueError(f"overlay: expected a file UUID or 'self', not {source!r}.")
    params = list(rest)
    box, where = _placement(params, "overlay")
    opacity = 100
    if params:
        value = params.pop(0)
        if not value.endswith("p"):
            raise ValueError(f"overlay: the opacity is a percentage like 50p, not {value!r}.")
        opacity = integer(value[:-1], "overlay", 0, 100)
    if params:
        raise ValueError(f"overlay: unexpected {params[0]!r} after the opacity.")
    plan.steps.append(("overlay", source.lower(), box, where, opacity))


@operation(1, 3, "[WxH]/[X,Y|alignment]/text")
def op_text(plan: Plan, *params: str) -> None:
    params_ = list(params)
    text = params_.pop()
    box, where = _placement(params_, "text")
    if params_:
        raise ValueError(f"text: unexpected {params_[0]!r}; expected -/text/[WxH]/[X,Y|alignment]/text/.")
    style = tuple(sorted(plan.text_style.items()))
    plan.steps.append(("text", box or ("100p", "100p"), where, decode_text(text), style))


@operation(2, 2, "left|center|right/top|center|bottom")
def op_text_align(plan: Plan, horizontal: str, vertical: str) -> None:
    plan.text_style["align"] = (
        choice(horizontal, "text_align", {"left", "center", "right"}),
        choice(vertical, "text_align", {"top", "center", "bottom"}),
    )


@operation(1, 6, "[reset]/[regular|bold]/[normal|italic]/[size]/[color]/[family]")
def op_font(plan: Plan, *params: str) -> None:
    """pyuploadcare's `font/{size}/{color}` and the newer docs' longer form; any part may be left out."""
    for value in params:
        if value == "reset":
            plan.text_style.clear()
        elif value in ("regular", "bold"):
            plan.text_style["weight"] = value
        elif value in ("normal", "italic"):
            plan.text_style["style"] = value
        elif value in FONT_FAMILIES:
            plan.text_style["family"] = value
        elif re.fullmatch(r"\d{1,3}", value):
            plan.text_style["size"] = integer(value, "font", 1, 512)
        else:
            plan.text_style["color"] = color(value, "font")


@operation(1, 3, "none|fit|line|fill/[color]/[padding]")
def op_text_box(plan: Plan, mode: str, box_color: str | None = None, padding: str | None = None) -> None:
    plan.text_style["box"] = choice(mode, "text_box", TEXT_BOX_MODES)
    if box_color is not None:
        plan.text_style["box_color"] = color(box_color, "text_box")
    if padding is not None:
        plan.text_style["padding"] = integer(padding, "text_box", 0, 512)


def decode_text(value: str) -> str:
    """pyuploadcare's escaping undone (the path is URL-decoded already): `~~` is `~`, `~s` is `/`,
    `~n` a new line."""
    return re.sub(r"~(.)", lambda m: {"~": "~", "s": "/", "n": "\n"}.get(m[1], m[0]), value)


@operation(1, 3, "color/[WxH]/[X,Y|alignment]")
def op_rect(plan: Plan, value: str, *rest: str) -> None:
    params = list(rest)
    box, where = _placement(params, "rect")
    if params:
        raise ValueError(f"rect: unexpected {params[0]!r}; expected -/rect/color/[WxH]/[X,Y|alignment]/.")
    plan.steps.append(("rect", color(value, "rect"), box or ("100p", "100p"), where))


# Operations that answer with JSON


@operation(0, 0, "")
def op_json(plan: Plan) -> None:
    plan.answer = ("json",)


@operation(0, 1, "[count (1 to 256)]")
def op_main_colors(plan: Plan, value: str = "4") -> None:
    plan.answer = ("main_colors", integer(value, "main_colors", 1, 256))


@operation(0, 0, "")
def op_detect_faces(plan: Plan) -> None:
    plan.answer = ("detect_faces",)
