"""The Upload API in the OpenAPI description at /api/docs/, beside the REST API.

The Upload API's views are plain Django views (multipart forms, Uploadcare's answers), so they are
described here, one table, and added to the generated schema by a drf-spectacular postprocessing
hook. Paths are under UPLOAD_BASE; the public key in a form or query field is the credential.
"""

from urllib.parse import urlsplit

from django.conf import settings

PUB_KEY = ("UPLOADCARE_PUB_KEY", "The project's public key.", True)
STORE = ("UPLOADCARE_STORE", "1 stores the file, 0 leaves it temporary, auto follows the project.", False)
SIGNATURE = ("signature", "With signed uploads: HMAC-SHA256 of `expire` with a secret key, hex.", False)
EXPIRE = ("expire", "With signed uploads: when the signature stops being valid (Unix time).", False)
FILE_INFO = "The file's info: uuid, size, mime_type, is_image, image_info, is_stored, filename."

# path, method, summary, fields (name, description, required), file field, answer
ENDPOINTS = [
    (
        "base/",
        "post",
        "Upload files in one request",
        [PUB_KEY, STORE, SIGNATURE, EXPIRE, ("metadata[{key}]", "Metadata for the file(s).", False)],
        True,
        "An object mapping each file field's name to the new file's UUID.",
    ),
    (
        "multipart/start/",
        "post",
        "Start a multipart upload",
        [
            PUB_KEY,
            ("filename", "The file's name.", True),
            ("size", "The whole file's size in bytes.", True),
            ("content_type", "The file's MIME type.", False),
            STORE,
            SIGNATURE,
            EXPIRE,
        ],
        False,
        "`uuid` and `parts`: one signed URL per part; PUT each part's bytes to its URL.",
    ),
    (
        "multipart/complete/",
        "post",
        "Complete a multipart upload",
        [PUB_KEY, ("uuid", "The upload's UUID from multipart/start/.", True)],
        False,
        FILE_INFO,
    ),
    (
        "from_url/",
        "post",
        "Upload a file from a URL",
        [PUB_KEY, ("source_url", "Where to fetch the file from.", True), STORE, SIGNATURE, EXPIRE],
        False,
        "`token`, to ask from_url/status/ about; or the file at once when `check_URL_duplicates` finds it.",
    ),
    (
        "from_url/status/",
        "get",
        "The status of an upload from a URL",
        [("token", "The token from_url/ answered.", True)],
        False,
        "`status`: waiting, progress (`done`, `total`), success (with the file's info) or error.",
    ),
    (
        "info/",
        "get",
        "A file's info",
        [("pub_key", "The project's public key.", True), ("file_id", "UUID.", True)],
        False,
        FILE_INFO,
    ),
    (
        "group/",
        "post",
        "Create a group of files",
        [PUB_KEY, ("files[]", "UUIDs, each optionally followed by CDN operations.", True), SIGNATURE, EXPIRE],
        False,
        "The group: `id` (`{uuid}~{count}`), `files_count`, `cdn_url`, `files`.",
    ),
    (
        "group/info/",
        "get",
        "A group's info",
        [("pub_key", "The project's public key.", True), ("group_id", "`{uuid}~{count}`.", True)],
        False,
        "The group, as group/ answered it.",
    ),
]


def _operation(path: str, method: str, summary: str, fields: list, with_file: bool, answer: str) -> dict:
    operation = {
        "operationId": "upload_" + path.strip("/").replace("/", "_") + f"_{method}",
        "tags": ["Upload API"],
        "summary": summary,
        "security": [],
        "responses": {
            "200": {"description": answer, "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": {
                "description": "The request is refused: a plain-text message (a JSON `error` with `jsonerrors=1`)."
            },
            "403": {"description": "Unknown public key, bad signature, or the account's limits reached."},
            "429": {"description": "Too many requests; see Retry-After."},
        },
    }
    if method == "get":
        operation["parameters"] = [
            {"name": name, "in": "query", "required": required, "description": text, "schema": {"type": "string"}}
            for name, text, required in fields
        ]
        return operation
    properties = {name: {"type": "string", "description": text} for name, text, _ in fields}
    if with_file:
        properties["file"] = {"type": "string", "format": "binary", "description": "The file (any field name)."}
    schema = {"type": "object", "properties": properties, "required": [n for n, _, required in fields if required]}
    operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    return operation


def add_upload_api(result, generator, request, public):
    """drf-spectacular postprocessing hook: the Upload API's paths and their tag."""
    prefix = "/" + urlsplit(settings.UPLOAD_BASE).path.strip("/") + "/"
    for path, method, summary, fields, with_file, answer in ENDPOINTS:
        result["paths"].setdefault(prefix + path, {})[method] = _operation(
            path, method, summary, fields, with_file, answer
        )
    result.setdefault("tags", []).append(
        {"name": "Upload API", "description": "Uploadcare's Upload API: the public key is the credential."}
    )
    return result
