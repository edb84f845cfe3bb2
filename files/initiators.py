"""What caused an event, in the `initiator` shape of Uploadcare's webhook payload.

Uploadcare's types are `api` (a request to the Upload or REST API), `system` (the platform
itself: expiry, background analysis) and `addon`; `detail` always carries `request_id` and
`addon_name`, and `source_file_uuid` when the file was made from another. Filedock adds
`source` to an `api` initiator, saying which of its doors the request came in by: `upload_api`
(direct and multipart uploads), `from_url`, `rest_api`, `dashboard` or `admin`; and `reason` to
a `system` one.
"""

import uuid

API_SOURCES = ("upload_api", "from_url", "rest_api", "dashboard", "admin")


def api_initiator(source: str, *, request_id=None, source_file_uuid=None) -> dict:
    """One request's initiator: every event the request causes carries the same request_id."""
    if source not in API_SOURCES:
        raise ValueError(f"unknown initiator source {source!r}")
    detail = {"request_id": str(request_id or uuid.uuid4()), "addon_name": None, "source": source}
    if source_file_uuid:
        detail["source_file_uuid"] = str(source_file_uuid)
    return {"type": "api", "detail": detail}


def derived(initiator: dict, source_file_uuid) -> dict:
    """`initiator` for a file made from another (a local copy)."""
    return {**initiator, "detail": {**initiator["detail"], "source_file_uuid": str(source_file_uuid)}}


def system_initiator(reason: str) -> dict:
    return {"type": "system", "detail": {"request_id": None, "addon_name": None, "reason": reason}}


def addon_initiator(addon_name: str, request_id) -> dict:
    return {"type": "addon", "detail": {"request_id": str(request_id), "addon_name": addon_name}}


# An event written without saying what caused it: an API request of unknown origin.
UNKNOWN = {"type": "api", "detail": {"request_id": None, "addon_name": None}}
