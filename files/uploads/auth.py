"""Who is uploading: the project named by the public key, and signed-upload checks."""

import functools
import hashlib
import hmac
import time

from django.db import connection

from core import kept, rawsql
from core.numbers import bounded_int
from files import errors
from files.models import BucketConnection
from files.storage.backends import upload_target_sql
from files.uploads.ratelimit import kept_tokens
from projects.apilogs import api_log_note
from projects.models import Project
from projects.services import secret_key_match

_projects_kept = kept.Kept()  # public key -> the project's values and its upload storage's id


def project_for(data, field: str, request=None) -> Project:
    """The project whose public key is `data[field]`, with its upload storage's id. `request`: the
    Upload API request whose rate limit read the token the project may be kept under (core.kept)."""
    public_key = (data.get(field) or "").strip()
    if not public_key:
        raise errors.public_key_required(field)
    if "\x00" in public_key:  # PostgreSQL refuses NUL in a query parameter
        raise errors.public_key_invalid(field)
    read, token = kept_tokens.get(request, (None, None)) if request is not None else (None, None)
    values = _project_values(public_key, token if read == public_key else kept.NOT_READ)
    if values is None:
        raise errors.public_key_invalid(field)
    project_values, target_id = values
    project = rawsql.columns(Project, "p").instance(project_values)
    project.upload_target_id = target_id
    if project.deleted_at is not None:
        raise errors.UploadError("ProjectPublicKeyRemovedError", 403, f"Project {public_key} is marked as removed.")
    api_log_note(project=project)
    return project


def _project_values(public_key: str, token) -> tuple[list, object] | None:
    """One row by a unique key, with the project's upload storage in the same query
    (files.storage.backends.upload_storage), as text written once (core.rawsql: every upload makes
    this lookup), or what this process kept of it under `token` (core.kept: replaced whenever
    the project or its storage changes, so a removed project stops working at once)."""

    def load():
        projects = rawsql.columns(Project, "p")
        with connection.cursor() as cursor:
            cursor.execute(_project_query(), [BucketConnection.Purpose.STORAGE.value, public_key])
            row = cursor.fetchone()
        if row is None:
            return None
        target_id = BucketConnection._meta.pk.to_python(row[len(projects)])  # SQLite: hex text
        return projects.convert(row[: len(projects)]), target_id

    return _projects_kept.read(public_key, token, load)


@functools.cache
def _project_query() -> str:
    return (
        f"SELECT {rawsql.columns(Project, 'p').sql}, {upload_target_sql('p')} "
        f"FROM {rawsql.table(Project)} p WHERE p.public_key = %s"
    )


def check_signature(project: Project, data) -> None:
    """When the project requires signed uploads: `signature` = hex HMAC-SHA256 of `expire`,
    keyed with any of the project's active secret keys, and `expire` still in the future."""
    if not project.require_signed_uploads:
        return
    signature, expire = (data.get("signature") or "").strip(), (data.get("expire") or "").strip()
    if not signature:
        raise errors.signature_required()
    if not expire:
        raise errors.expire_required()
    expires_at = bounded_int(expire)
    if expires_at is None:
        raise errors.expire_invalid()
    if expires_at < time.time():
        raise errors.signature_expired()

    def check(secret: str) -> bool:
        expected = hmac.new(secret.encode(), expire.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.lower().encode())  # str compare: ASCII only

    if secret_key_match(public_key=project.public_key, check=check) is None:
        raise errors.signature_invalid()


def metadata_from(data) -> dict:
    """`metadata[key]=value` form fields as a dict."""
    return {
        name[len("metadata[") : -1]: data.get(name)
        for name in data
        if name.startswith("metadata[") and name.endswith("]")
    }
