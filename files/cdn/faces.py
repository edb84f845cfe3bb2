"""Face detection for smart crops, face blurring and `detect_faces`: OpenCV's frontal-face Haar
cascade, whose data ships inside the opencv-python-headless wheel (nothing is downloaded at run
time). Detection runs on a copy at most 640 px on its longer side; boxes come back in the image's
own pixels as [x, y, width, height].
"""

import functools

import numpy as np
import pyvips

DETECT_SIDE = 640


@functools.cache
def _cascade():
    import cv2  # imported on first use: loading OpenCV costs ~0.1 s and most processes never detect

    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if classifier.empty():
        raise RuntimeError("OpenCV's face cascade could not be loaded from the wheel's data folder.")
    return classifier


def detect(image: pyvips.Image) -> list[list[int]]:
    """The faces in `image`, largest first."""
    scale = min(1.0, DETECT_SIDE / max(image.width, image.height))
    small = image.resize(scale) if scale < 1 else image
    grey = small.colourspace("b-w")[0].cast("uchar")
    pixels = np.ndarray(buffer=grey.write_to_memory(), dtype=np.uint8, shape=(grey.height, grey.width))
    least = max(12, round(min(grey.width, grey.height) / 20))
    found = _cascade().detectMultiScale(pixels, scaleFactor=1.1, minNeighbors=5, minSize=(least, least))
    boxes = [[round(v / scale) for v in box] for box in (found.tolist() if len(found) else [])]
    return sorted(boxes, key=lambda box: -box[2] * box[3])
