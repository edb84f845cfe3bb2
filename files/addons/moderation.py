"""Content moderation on this server: NudeNet's detector, whose ONNX model ships inside the nudenet
wheel (nothing is downloaded), run by onnxruntime; what it finds is answered as AWS Rekognition's
moderation labels, the shape Uploadcare's `aws_rekognition_detect_moderation_labels` gives.

The image is shrunk while it is decoded (libvips, streaming) to the detector's working size, so a
large upload costs the worker little memory.
"""

import threading
from importlib import metadata
from typing import BinaryIO

import numpy as np
import pyvips

WORKING_SIZE = 640  # the detector looks at 320 px; twice that keeps small regions
# NudeNet's classes that are moderation findings, as Rekognition's (label, top-level category).
LABELS = {
    "FEMALE_GENITALIA_EXPOSED": ("Graphic Female Nudity", "Explicit Nudity"),
    "MALE_GENITALIA_EXPOSED": ("Graphic Male Nudity", "Explicit Nudity"),
    "FEMALE_BREAST_EXPOSED": ("Nudity", "Explicit Nudity"),
    "BUTTOCKS_EXPOSED": ("Nudity", "Explicit Nudity"),
    "ANUS_EXPOSED": ("Nudity", "Explicit Nudity"),
    "FEMALE_GENITALIA_COVERED": ("Revealing Clothes", "Suggestive"),
    "FEMALE_BREAST_COVERED": ("Revealing Clothes", "Suggestive"),
    "BUTTOCKS_COVERED": ("Revealing Clothes", "Suggestive"),
    "MALE_BREAST_EXPOSED": ("Barechested Male", "Suggestive"),
}
EXPLICIT = "Explicit Nudity"

_detector = None
_lock = threading.Lock()


class ModelUnavailable(Exception):
    """nudenet (and onnxruntime) are not installed."""


def model_version() -> str:
    try:
        return f"nudenet-{metadata.version('nudenet')}"
    except metadata.PackageNotFoundError:
        raise ModelUnavailable("Content moderation needs the nudenet package (pip install nudenet).") from None


def detect(stream: BinaryIO) -> list[dict]:
    """Rekognition-style moderation labels for the image in `stream`: each finding with its
    confidence (percent) and category, then each category with its strongest finding's."""
    pixels = _rgba(stream)
    findings: dict[tuple[str, str], float] = {}
    for found in _model().detect(pixels):
        if found["class"] in LABELS:
            key = LABELS[found["class"]]
            findings[key] = max(findings.get(key, 0.0), float(found["score"]) * 100)
    return labels_of(findings)


def labels_of(findings: dict[tuple[str, str], float]) -> list[dict]:
    """Rekognition's list from {(label, category): confidence}: labels, then their categories
    (ParentName ""), strongest first."""
    categories: dict[str, float] = {}
    for (_, category), confidence in findings.items():
        categories[category] = max(categories.get(category, 0.0), confidence)
    labels = [
        {"Confidence": round(confidence, 3), "Name": name, "ParentName": category}
        for (name, category), confidence in findings.items()
    ]
    labels += [
        {"Confidence": round(confidence, 3), "Name": category, "ParentName": ""}
        for category, confidence in categories.items()
    ]
    return sorted(labels, key=lambda label: -label["Confidence"])


def over_threshold(labels: list[dict], threshold: int) -> bool:
    """Whether explicit nudity was found with at least `threshold` percent confidence."""
    return any(
        label["Confidence"] >= threshold and EXPLICIT in (label["Name"], label["ParentName"]) for label in labels
    )


def _rgba(stream: BinaryIO) -> np.ndarray:
    source = pyvips.SourceCustom()
    source.on_read(stream.read)
    image = pyvips.Image.thumbnail_source(source, WORKING_SIZE, size="down")
    image = image.colourspace("srgb") if image.interpretation != "srgb" else image
    image = image[:3] if image.bands >= 3 else image[0].bandjoin([image[0], image[0]])
    image = image.cast("uchar").bandjoin(255)
    # RGBA: NudeNet converts with OpenCV's RGBA2BGR.
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=[image.height, image.width, 4])


def _model():
    global _detector
    with _lock:
        if _detector is None:
            try:
                from nudenet import NudeDetector
            except ImportError:
                raise ModelUnavailable("Content moderation needs the nudenet package (pip install nudenet).") from None
            _detector = NudeDetector()
        return _detector
