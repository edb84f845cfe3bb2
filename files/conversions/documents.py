"""Documents converted by the tools on this machine: LibreOffice headless for office formats,
poppler's pdftoppm for PDF pages to images.

Each soffice run has a profile of its own (-env:UserInstallation in the job's scratch folder), so
two runs on one machine never share LibreOffice's lock; each tool runs with a time limit and in a
process group of its own, which is killed whole when the limit passes.
"""

import shutil
import zipfile
from pathlib import Path

from files.conversions.tools import ConversionFailed, ToolMissing, run

# The source formats each LibreOffice part reads, and what it writes.
WRITER_IN = ("doc", "docx", "odt", "rtf", "txt", "html", "htm")
CALC_IN = ("xls", "xlsx", "ods", "csv")
IMPRESS_IN = ("ppt", "pptx", "odp")
IMAGES = ("jpg", "enhanced.jpg", "png")
TARGETS = {
    **dict.fromkeys(WRITER_IN, ("pdf", "doc", "docx", "odt", "rtf", "txt", *IMAGES)),
    **dict.fromkeys(CALC_IN, ("pdf", "xls", "xlsx", "ods", "csv", *IMAGES)),
    **dict.fromkeys(IMPRESS_IN, ("pdf", "ppt", "pptx", "odp", *IMAGES)),
    "pdf": IMAGES,
}
# soffice's --convert-to argument where the extension alone is not the filter wanted.
FILTERS = {"txt": "txt:Text (encoded):UTF8"}
MIME_FORMATS = {
    "application/pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/rtf": "rtf",
    "text/rtf": "rtf",
    "text/plain": "txt",
    "text/html": "html",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "text/csv": "csv",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
MIME_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "zip": "application/zip",
    **{fmt: mime for mime, fmt in MIME_FORMATS.items() if fmt not in ("rtf", "pdf")},
    "rtf": "application/rtf",
}
DPI = {"jpg": 150, "png": 150, "enhanced.jpg": 300}
MAX_PAGES = 1000  # a group holds at most 1000 files
# A document may link images or objects by URL, which LibreOffice would fetch while converting (a
# request from the server to wherever the uploader says). Each run's profile sends every such
# request to a proxy that is not there (the discard port on loopback), so none leaves the machine.
_PROXY = "".join(
    f'<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="{name}" oor:op="fuse">'
    f"<value>{value}</value></prop></item>"
    for name, value in [
        ("ooInetProxyType", 1),
        *[(f"ooInet{kind}ProxyName", "127.0.0.1") for kind in ("HTTP", "HTTPS", "FTP")],
        *[(f"ooInet{kind}ProxyPort", 9) for kind in ("HTTP", "HTTPS", "FTP")],
        ("ooInetNoProxy", ""),
    ]
)
OFFLINE_PROFILE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    f"{_PROXY}</oor:items>\n"
)


def source_format(filename: str, mime_type: str) -> str | None:
    """The document format of a file: its name's extension where that is one we read (an .odt is
    a zip that content sniffing calls docx), else its MIME type's."""
    extension = Path(filename).suffix.lower().lstrip(".")
    if extension in TARGETS:
        return extension
    return MIME_FORMATS.get(mime_type)


def targets(fmt: str | None) -> tuple[str, ...]:
    return TARGETS.get(fmt or "", ())


def missing(fmt: str | None, target: str) -> str:
    """What must be installed to convert `fmt` to `target` on this machine; "" when all is there."""
    needs = []
    if fmt != "pdf" and not soffice():
        needs.append(
            "LibreOffice (apt-get install libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui)"
        )
    if target in IMAGES and not (shutil.which("pdftoppm") and shutil.which("pdfinfo")):
        needs.append("poppler (apt-get install poppler-utils)")
    if not needs:
        return ""
    return "Document conversion needs " + " and ".join(needs) + " on the server."


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(source: Path, fmt: str, target: str, page: int | None, work: Path, deadline: float) -> Path:
    """Converts the document at `source` (of format `fmt`) in the scratch folder `work`; returns
    the result's path: one file, or a zip of page images when an image format was asked of a
    multi-page document without a page. Raises ConversionFailed, ToolMissing, TimeoutError."""
    if target not in IMAGES:
        return _soffice(source, FILTERS.get(target, target), target, work, deadline)
    pdf = source if fmt == "pdf" else _soffice(source, "pdf", "pdf", work, deadline)
    count = page_count(pdf, deadline)
    if page is not None:
        if page > count:
            raise ConversionFailed(
                f"The document has {count} page{'s' if count != 1 else ''}; there is no page {page}."
            )
        return rasterise(pdf, target, page, work, deadline)
    if count == 1:
        return rasterise(pdf, target, 1, work, deadline)
    pages = pages_of(pdf, target, count, work, deadline)
    archive = work / f"{source.stem}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zipped:  # images are compressed already
        for path in pages:
            zipped.write(path, path.name)
    return archive


def pages_of(pdf: Path, target: str, count: int, work: Path, deadline: float) -> list[Path]:
    """Every page of `pdf` as an image (up to MAX_PAGES), in order."""
    if count > MAX_PAGES:
        raise ConversionFailed(f"The document has {count} pages; up to {MAX_PAGES} convert to images.")
    return [rasterise(pdf, target, number, work, deadline) for number in range(1, count + 1)]


def page_count(pdf: Path, deadline: float) -> int:
    out = run(["pdfinfo", str(pdf)], deadline, what="poppler's pdfinfo")
    for line in out.splitlines():
        if line.startswith("Pages:"):
            return int(line.split()[1])
    raise ConversionFailed("The PDF has no pages that poppler can read.")


def rasterise(pdf: Path, target: str, page: int, work: Path, deadline: float) -> Path:
    stem = work / f"page-{page}"
    kind = ["-png"] if target == "png" else ["-jpeg", "-jpegopt", "quality=90"]
    dpi = str(DPI[target])
    command = ["pdftoppm", *kind, "-r", dpi, "-f", str(page), "-l", str(page), "-singlefile", str(pdf), str(stem)]
    run(command, deadline, what="poppler's pdftoppm")
    path = stem.with_suffix(".png" if target == "png" else ".jpg")
    if not path.exists():
        raise ConversionFailed(f"poppler could not render page {page}.")
    return path


def _soffice(source: Path, convert_to: str, extension: str, work: Path, deadline: float) -> Path:
    program = soffice()
    if program is None:
        raise ToolMissing(missing("docx", extension))
    out = work / f"out-{extension}"
    profile = work / "profile"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(OFFLINE_PROFILE)
    run(
        [
            program,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            "--convert-to",
            convert_to,
            "--outdir",
            str(out),
            str(source),
        ],
        deadline,
        what="LibreOffice",
        cwd=work,
    )
    produced = [path for path in out.glob("*") if path.is_file()] if out.exists() else []
    if not produced:
        # soffice exits 0 for a file it could not open; the missing output is the only sign.
        raise ConversionFailed(f"LibreOffice could not convert this file to {extension} (broken or not a document).")
    return produced[0]
