"""SVG validation: what makes an SVG unsafe to serve from the CDN's origin, found by an XML parser.

A browser opening an SVG on its own (not through <img>) runs its scripts and loads what it
references, with the CDN's origin. A project with SVG validation on refuses such files at upload
rather than cleaning them: a cleaned drawing may render differently from what was exported, and a
cleaner that misses a construct it does not know serves it anyway. The parser is defusedxml's
(entity declarations and external entities are refused before they expand or load); CSS inside a
style attribute or element is read for url()/@import, which is text, not XML.
"""

import io
import re
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

# A drawing this large is refused rather than parsed while validation is on (files.content's limit).
SVG_VALIDATE_MAX_BYTES = 10 * 1024 * 1024
SVG_TYPE = "image/svg+xml"
# Types a browser renders as XML, so as a drawing when the root is <svg>. Plain text and HTML that
# merely mention "<svg" are not drawings (served as they are, nosniff, they run nothing).
XML_TYPES = {"application/xml", "text/xml"}

# Elements that run code, embed another document or pull in foreign markup.
FORBIDDEN_ELEMENTS = {"script", "foreignobject", "handler", "listener", "iframe", "embed", "object", "frame"}
# Elements in these namespaces are HTML (or XSLT), never drawing.
FOREIGN_NAMESPACES = {"http://www.w3.org/1999/xhtml", "http://www.w3.org/1999/XSL/Transform"}
ANIMATIONS = {"set", "animate", "animatemotion", "animatetransform", "animatecolor"}
# Embedded pictures are kept inside the file: raster data URIs only (an SVG one could hold a script).
SAFE_DATA_URI = re.compile(r"\Adata:image/(png|jpe?g|gif|webp|avif|bmp);", re.IGNORECASE)
CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
CSS_IMPORT = re.compile(r"@import", re.IGNORECASE)
# Characters a browser ignores inside a URL scheme ("java\tscript:" is javascript:).
URL_IGNORED = re.compile(r"[\x00-\x20]+")


class UnsafeSvg(ValueError):
    """The drawing has something a browser would run or fetch; the message says what."""


def is_svg_candidate(head: bytes, filename: str, mime_type: str) -> bool:
    """Whether `content` must be validated as an SVG: typed or named as one, or XML with an <svg>
    element (an SVG with an XML declaration is sniffed as application/xml, and browsers render it
    as a drawing all the same)."""
    if mime_type == SVG_TYPE or filename.lower().endswith((".svg", ".svgz")):
        return True
    return mime_type in XML_TYPES and b"<svg" in head.lower()


def check_svg(data: bytes) -> None:
    """Raises UnsafeSvg when `data` is not a well-formed SVG free of scripts, event handlers,
    javascript: links and references outside the file."""
    if len(data) > SVG_VALIDATE_MAX_BYTES:
        raise UnsafeSvg("The SVG is too large to be validated.")
    try:
        for event, node in iterparse(io.BytesIO(data), events=("start", "pi")):
            if event == "pi":
                _check_instruction(node)
            else:
                _check_element(node)
    except DefusedXmlException as exc:
        raise UnsafeSvg("SVG files with entity declarations are not allowed.") from exc
    except ET.ParseError as exc:
        raise UnsafeSvg("The SVG is not well-formed XML.") from exc


def _local(name: str) -> tuple[str, str]:
    """(namespace, lower-cased local name) of an ElementTree `{namespace}name`."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local.lower()
    return "", name.lower()


def _check_instruction(node) -> None:
    if (node.text or "").split(None, 1)[0:1] == ["xml-stylesheet"]:
        raise UnsafeSvg("SVG files with external style sheets are not allowed.")


def _check_element(element) -> None:
    namespace, tag = _local(element.tag)
    if tag in FORBIDDEN_ELEMENTS or namespace in FOREIGN_NAMESPACES:
        raise UnsafeSvg(f"SVG files with <{tag}> elements are not allowed.")
    animated = ""
    for name, value in element.attrib.items():
        _, attribute = _local(name)
        if attribute.startswith("on"):
            raise UnsafeSvg(f"SVG files with event handlers ({attribute}) are not allowed.")
        if attribute == "href":
            _check_reference(value)
        elif attribute == "attributename":
            animated = _local(value.split(":")[-1])[1]
        else:
            _check_css(value)
    if tag == "style":
        _check_css(element.text or "")
    if tag in ANIMATIONS and animated == "href":
        # <set attributeName="href" to="javascript:…"> turns a safe link into a script.
        for key in ("to", "from", "by", "values"):
            for value in (element.attrib.get(key) or "").split(";"):
                if value.strip():
                    _check_reference(value)


def _check_reference(value: str) -> None:
    """An href may point inside the file (#id) or hold a raster picture; nothing else."""
    target = URL_IGNORED.sub("", value)
    if not target or target.startswith("#") or SAFE_DATA_URI.match(target):
        return
    if target.lower().startswith(("javascript:", "vbscript:")):
        raise UnsafeSvg("SVG files with javascript: links are not allowed.")
    raise UnsafeSvg("SVG files with external references are not allowed.")


def _check_css(text: str) -> None:
    if "url(" not in text.lower() and "@import" not in text.lower():
        return
    if CSS_IMPORT.search(text):
        raise UnsafeSvg("SVG files with external style sheets are not allowed.")
    for _, target in CSS_URL.findall(text):
        _check_reference(target)
