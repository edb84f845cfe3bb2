"""The file page's transformation playground: a GET form of CDN operations and the one function
that turns its choices into a CDN URL.

Only operations the CDN's URL grammar (files.cdn.operations) accepts are offered, and every URL
made here is parsed by that grammar before it is shown: the page never offers a URL the CDN
would answer with a 400.
"""

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from files.cdn import operations

GEOMETRY = [
    ("", "Original size"),
    ("resize", "Resize to W×H (one side keeps the aspect)"),
    ("crop", "Crop a W×H box"),
    ("scale_crop", "Scale, then crop to W×H"),
]
ALIGNMENTS = [(name, name.capitalize()) for name in ("center", "top", "bottom", "left", "right")]
FORMATS = [("", "As uploaded"), ("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WebP"), ("auto", "Auto (by browser)")]
QUALITIES = [("", "Project default")] + [(name, name.replace("_", " ").capitalize()) for name in operations.QUALITY]
ROTATIONS = [("0", "None"), ("90", "90°"), ("180", "180°"), ("270", "270°")]
BLUR_MAX = 100  # the CDN takes up to 5000 (sigma × 10); beyond 100 a preview shows only a smear
SHARP_MAX = 20


class PlaygroundForm(forms.Form):
    geometry = forms.ChoiceField(label="Resize or crop", choices=GEOMETRY, required=False)
    width = forms.IntegerField(label="Width (px)", min_value=1, required=False)
    height = forms.IntegerField(label="Height (px)", min_value=1, required=False)
    align = forms.ChoiceField(label="Crop at", choices=ALIGNMENTS, required=False)
    rotate = forms.TypedChoiceField(label="Rotate", choices=ROTATIONS, coerce=int, required=False, empty_value=0)
    flip = forms.BooleanField(label="Flip (upside down)", required=False)
    mirror = forms.BooleanField(label="Mirror (left to right)", required=False)
    grayscale = forms.BooleanField(label="Grayscale", required=False)
    enhance = forms.BooleanField(label="Enhance", required=False)
    blur = forms.IntegerField(label="Blur", min_value=0, max_value=BLUR_MAX, required=False)
    sharp = forms.IntegerField(label="Sharpen", min_value=0, max_value=SHARP_MAX, required=False)
    format = forms.ChoiceField(label="Format", choices=FORMATS, required=False)
    quality = forms.ChoiceField(label="Quality", choices=QUALITIES, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "pg-%s")
        super().__init__(*args, **kwargs)
        for name in ("width", "height"):
            self.fields[name].validators.append(MaxValueValidator(settings.FILEDOCK_CDN_MAX_DIMENSION))
            self.fields[name].widget.attrs["max"] = settings.FILEDOCK_CDN_MAX_DIMENSION
        self.fields["blur"].widget.attrs["placeholder"] = f"0 to {BLUR_MAX}"
        self.fields["sharp"].widget.attrs["placeholder"] = f"0 to {SHARP_MAX}"

    def clean(self) -> dict:
        options = super().clean()
        geometry, width, height = options.get("geometry"), options.get("width"), options.get("height")
        if geometry == "resize" and not (width or height):
            self.add_error("width", "Give a width, a height or both.")
        elif geometry in ("crop", "scale_crop") and not (width and height):
            self.add_error("width", "Give both a width and a height.")
        if not self.errors:
            try:
                operations.parse(transformation_path(options))
            except ValueError as exc:  # the CDN's own words: what it would have answered with a 400
                raise forms.ValidationError(str(exc)) from None
        return options


def transformation_path(options: dict) -> str:
    """The `-/op/params/…` part of a CDN URL for the playground's cleaned options ("" for none)."""
    steps: list[str] = []
    geometry, width, height = options.get("geometry"), options.get("width"), options.get("height")
    if geometry == "resize":
        steps.append(f"resize/{width or ''}x{height or ''}")
    elif geometry in ("crop", "scale_crop"):
        steps.append(f"{geometry}/{width}x{height}/{options.get('align') or 'center'}")
    if options.get("rotate"):
        steps.append(f"rotate/{options['rotate']}")
    steps += [name for name in ("flip", "mirror", "grayscale", "enhance") if options.get(name)]
    if options.get("blur"):
        steps.append(f"blur/{options['blur']}")
    if options.get("sharp"):
        steps.append(f"sharp/{options['sharp']}")
    steps += [f"{name}/{options[name]}" for name in ("format", "quality") if options.get(name)]
    return "".join(f"-/{step}/" for step in steps)


def transformation_url(*, base: str, options: dict, query: str = "") -> str:
    """The CDN URL of the file at `base` (`{cdn}/{uuid}/`) with `options` applied; `query` is the
    signed-URL token (`?token=…`), whose ACL covers every path of the file."""
    return base + transformation_path(options) + query
