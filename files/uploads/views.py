"""The Upload API (Uploadcare-compatible). Public key identifies the project; no session, no CSRF."""

import logging
from functools import wraps
from uuid import UUID

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from billing.quotas import QuotaExceeded
from core.bases import absolute
from files import errors
from files.info import upload_file_info, upload_group_info
from files.initiators import api_initiator
from files.models import File, FromUrlTask, MultipartUpload
from files.services import file_lookup, file_upload_batch, resolve_store, validate_metadata
from files.tags import TagError, tags_normalize
from files.uploads.auth import check_signature, metadata_from, project_for
from files.uploads.edge import edge_body, edge_body_removed
from files.uploads.from_url import from_url_create
from files.uploads.groups import group_create, group_lookup
from files.uploads.multipart import (
    multipart_complete,
    multipart_part_write,
    multipart_start,
    part_check_token,
    part_token,
)
from files.uploads.ratelimit import upload_rate_limit

log = logging.getLogger(__name__)

MAX_FILES_PER_REQUEST = 100


def upload_endpoint(*methods: str):
    """CORS for browser clients, method check, and UploadError (or a plan's QuotaExceeded) → the
    API's error answer."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method == "OPTIONS":
                response = HttpResponse(status=204)
            elif request.method not in methods:
                response = errors.error_response(
                    request,
                    errors.UploadError(
                        "MethodNotAllowedError", 405, f"HTTP method {request.method} is not allowed for {request.path}"
                    ),
                )
            else:
                try:
                    response = view(request, *args, **kwargs)
                except errors.UploadError as exc:
                    response = errors.error_response(request, exc)
                except QuotaExceeded as exc:
                    response = errors.error_response(request, errors.account_limits_exceeded(exc.message))
                except (OperationalError, InterfaceError) as exc:
                    # The database is away (restarting, failing over): a retryable answer in the
                    # API's shape rather than the HTML error page. Django reconnects on a later request.
                    log.warning("database unavailable during %s: %s", request.path, exc)
                    response = errors.error_response(request, errors.service_unavailable())
                except OSError as exc:
                    if not errors.is_disk_full(exc):  # a multipart part written straight to disk
                        raise
                    log.warning("disk full during %s", request.path)
                    response = errors.error_response(request, errors.storage_full())
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Allow-Methods"] = ", ".join((*methods, "OPTIONS"))
            response["Access-Control-Allow-Headers"] = "Content-Type, X-UC-User-Agent, X-Requested-With"
            return response

        return wrapper

    return decorator


def _content_length(request) -> int:
    return _length(request.META.get("CONTENT_LENGTH"))


def _length(value: str | None) -> int:
    value = value or "0"
    if not (value.isascii() and value.isdigit()):
        raise errors.UploadError("PostRequestParserFailedError", 400, "HTTP POST request parsing failed.")
    return int(value)


@upload_rate_limit
@upload_endpoint("POST")
def base(request):
    length = _content_length(request)
    if length > settings.FILEDOCK_DIRECT_UPLOAD_MAX_SIZE + 64 * 1024:
        raise errors.UploadError("RequestSizeLimitExceededError", 413, "The size of the request is too large.")
    project = project_for(request.POST, "UPLOADCARE_PUB_KEY", request)
    check_signature(project, request.POST)
    store = resolve_store(project, request.POST.get("UPLOADCARE_STORE"))
    metadata = validate_metadata(metadata_from(request.POST))
    tags = tags_from(request.POST)
    uploads = [(field, f) for field in request.FILES for f in request.FILES.getlist(field)]
    if not uploads:
        raise errors.files_required()
    if len(uploads) > MAX_FILES_PER_REQUEST:
        raise errors.too_many_files(MAX_FILES_PER_REQUEST)
    for field, upload in uploads:
        upload.name = upload.name or field
    # All or nothing: a refused file (limits, type) leaves none of the request's files behind.
    files = file_upload_batch(
        project=project,
        uploads=[u for _, u in uploads],
        store=store,
        metadata=metadata,
        initiator=api_initiator("upload_api"),
        tags=tags,
    )
    return JsonResponse({field: str(file.uuid) for (field, _), file in zip(uploads, files, strict=True)})


def tags_from(data) -> list[str]:
    """The `tags` form field (comma-separated), normalised; a 400 UploadViewsError as Uploadcare's."""
    try:
        return tags_normalize(data.get("tags", "").split(","))
    except TagError as exc:
        raise errors.UploadError("UploadViewsError", 400, str(exc)) from None


@upload_rate_limit
@upload_endpoint("POST")
def multipart_start_view(request):
    project = project_for(request.POST, "UPLOADCARE_PUB_KEY", request)
    check_signature(project, request.POST)
    upload = multipart_start(
        project=project,
        filename=request.POST.get("filename", ""),
        size=request.POST.get("size"),
        content_type=request.POST.get("content_type", ""),
        store=request.POST.get("UPLOADCARE_STORE"),
        metadata=metadata_from(request.POST),
        tags=tags_from(request.POST),
    )
    base_url = absolute(settings.UPLOAD_BASE, request)
    parts = [
        f"{base_url}multipart/part/{upload.uuid}/{i}/?token={part_token(upload, i)}" for i in range(upload.parts_count)
    ]
    return JsonResponse({"uuid": str(upload.uuid), "parts": parts})


@edge_body_removed
@upload_rate_limit  # per client address: a part URL carries no public key
@upload_endpoint("PUT", "POST")
def multipart_part(request, upload_uuid, index):
    edge = edge_body(request)  # behind deploy/'s nginx the body is a file it wrote
    if not part_check_token(upload_uuid, index, request.GET.get("token", "")):
        raise errors.UploadError("AccessTokenInvalidError", 403, "Invalid token. Reason: bad or expired part URL.")
    upload = MultipartUpload.objects.select_related("project").filter(uuid=upload_uuid).first()
    if upload is None:
        raise errors.UploadError("MultipartFileNotFoundError", 404, "File is not found.")
    if edge is None:
        multipart_part_write(upload=upload, index=index, stream=request, length=_content_length(request))
    else:
        length = _length(edge.declared_length)
        with edge.open() as body:
            multipart_part_write(upload=upload, index=index, stream=body, length=length)
    return HttpResponse(status=200)


@upload_rate_limit
@upload_endpoint("POST")
def multipart_complete_view(request):
    project = project_for(request.POST, "UPLOADCARE_PUB_KEY", request)
    upload_id = request.POST.get("uuid", "")
    if not upload_id:
        raise errors.UploadError("MultipartFileIdRequiredError", 400, "uuid is required.")
    upload = _multipart_lookup(project, upload_id)
    return JsonResponse(upload_file_info(multipart_complete(upload=upload, initiator=api_initiator("upload_api"))))


def _multipart_lookup(project, upload_id: str) -> MultipartUpload:
    try:
        upload_uuid = UUID(upload_id)
    except ValueError:
        raise errors.UploadError("UUIDInvalidError", 400, "uuid is invalid.") from None
    upload = MultipartUpload.objects.select_related("project").filter(project=project, uuid=upload_uuid).first()
    if upload is None:
        raise errors.UploadError("MultipartFileNotFoundError", 404, "File is not found.")
    return upload


@upload_rate_limit
@upload_endpoint("POST")
def from_url(request):
    data = request.POST or request.GET  # @uploadcare/upload-client sends these fields in the query string
    project = project_for(data, "pub_key", request)
    check_signature(project, data)
    result = from_url_create(
        project=project,
        source_url=data.get("source_url", "").strip(),
        store=data.get("store"),
        filename=data.get("filename", ""),
        metadata=validate_metadata(metadata_from(data)),
        check_duplicates=data.get("check_URL_duplicates") == "1",
        save_duplicates=data.get("save_URL_duplicates") == "1",
    )
    if isinstance(result, File):
        return JsonResponse({"type": "file_info", **upload_file_info(result)})
    return JsonResponse({"type": "token", "token": str(result.token)})


@upload_endpoint("GET")
def from_url_status(request):
    token = request.GET.get("token", "")
    if not token:
        raise errors.UploadError("TokenRequiredError", 400, "token is required.")
    task = _from_url_task(token)
    if task is None:
        return JsonResponse({"status": "unknown"})
    if task.status == FromUrlTask.Status.SUCCESS and task.file:
        return JsonResponse({**upload_file_info(task.file), "status": "success"})
    if task.status == FromUrlTask.Status.ERROR:
        return JsonResponse({"status": "error", "error": task.error, "error_code": task.error_code})
    return JsonResponse({"status": task.status, "done": task.done, "total": task.total or 0})


def _from_url_task(token: str) -> FromUrlTask | None:
    try:
        return FromUrlTask.objects.select_related("file").filter(token=UUID(token)).first()
    except ValueError:
        return None


@upload_rate_limit
@upload_endpoint("GET")
def info(request):
    project = project_for(request.GET, "pub_key", request)
    file_id = request.GET.get("file_id", "")
    if not file_id:
        raise errors.UploadError("FileIdRequiredError", 400, "file_id is required.")
    file = file_lookup(project=project, file_id=file_id)
    if file is None or file.is_removed:
        raise errors.file_not_found()
    return JsonResponse(upload_file_info(file))


@upload_rate_limit
@upload_endpoint("POST")
def group(request):
    data = request.POST or request.GET
    project = project_for(data, "pub_key", request)
    check_signature(project, data)
    refs = _indexed(data, "files")
    return JsonResponse(upload_group_info(group_create(project=project, refs=refs), request))


def _indexed(data, name: str) -> list[str]:
    """`files[0]`, `files[1]`, … in index order (a gap ends the list), or repeated `files[]`."""
    if f"{name}[]" in data:
        return data.getlist(f"{name}[]")
    values, index = [], 0
    while f"{name}[{index}]" in data:
        values.append(data[f"{name}[{index}]"])
        index += 1
    return values


@upload_rate_limit
@upload_endpoint("GET")
def group_info(request):
    project = project_for(request.GET, "pub_key", request)
    group_id = request.GET.get("group_id", "")
    if not group_id:
        raise errors.UploadError("GroupIdRequiredError", 400, "group_id is required.")
    found = group_lookup(project=project, group_id=group_id)
    if found is None:
        raise errors.UploadError("GroupNotFoundError", 404, "group_id is invalid.")
    return JsonResponse(upload_group_info(found, request))
