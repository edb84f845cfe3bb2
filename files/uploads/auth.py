"""Who is uploading: the project named by the public key, and signed-upload checks."""

import hashlib
import hmac
import time

from core.numbers import bounded_int
from files import errors
from files.storage.backends import UPLOAD_TARGET_ID
from projects.apilogs import api_log_note
from projects.models import Project
from projects.services import secret_key_match


def project_for(data, field: str) -> Project:
    public_key = (data.get(field) or "").strip()
    if not public_key:
        raise errors.public_key_required(field)
    if "\x00" in public_key:  # PostgreSQL refuses NUL in a query parameter
        raise errors.public_key_invalid(field)
    # One row by a unique key, without the model's ORDER BY, and with the project's upload
    # storage in the same query (files.storage.backends.upload_storage). Never cached: a removed project
    # stops working at once.
    rows = Project.objects.filter(public_key=public_key).annotate(upload_target_id=UPLOAD_TARGET_ID).order_by()
    project = next(iter(rows[:1]), None)
    if project is None:
        raise errors.public_key_invalid(field)
    if project.deleted_at is not None:
        raise errors.UploadError("ProjectPublicKeyRemovedError", 403, f"Project {public_key} is marked as removed.")
    api_log_note(project=project)
    return project


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
