"""Upload API errors with Uploadcare's codes, statuses and messages, and the one answer they get.

pyuploadcare reads the status and shows the text body; JS clients ask for `jsonerrors=1`
and get the code in a JSON body with status 200.
"""

import errno

from django.http import HttpRequest, HttpResponse, JsonResponse


class UploadError(Exception):
    def __init__(self, code: str, status: int, message: str):
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def error_response(request: HttpRequest, exc: UploadError, *, form=None) -> HttpResponse:
    """The Upload API's answer to `exc`: the message as plain text with its status; or, when the
    client asks for `jsonerrors=1` (query string or form), `{"error": {...}}` with status 200.

    `form`: the fields to look in instead of `request.POST`, for a caller that must not parse the body.
    """
    form = request.POST if form is None else form
    if (request.GET.get("jsonerrors") or form.get("jsonerrors")) == "1":
        body = {"error": {"content": exc.message, "status_code": exc.status, "error_code": exc.code}}
        return JsonResponse(body, status=200)
    return HttpResponse(exc.message, status=exc.status, content_type="text/plain; charset=utf-8")


def public_key_required(field: str) -> UploadError:
    return UploadError("ProjectPublicKeyRequiredError", 403, f"{field} is required.")


def public_key_invalid(field: str) -> UploadError:
    return UploadError("ProjectPublicKeyInvalidError", 403, f"{field} is invalid.")


def signature_required() -> UploadError:
    return UploadError("SignatureRequiredError", 400, "`signature` is required.")


def expire_required() -> UploadError:
    return UploadError("SignatureExpirationRequiredError", 400, "`expire` is required.")


def expire_invalid() -> UploadError:
    return UploadError("SignatureExpirationInvalidError", 400, "`expire` must be a UNIX timestamp.")


def signature_expired() -> UploadError:
    return UploadError("SignatureExpirationError", 403, "Expired signature.")


def signature_invalid() -> UploadError:
    return UploadError("SignatureInvalidError", 403, "Invalid signature.")


def file_too_large() -> UploadError:
    return UploadError("FileSizeLimitExceededError", 400, "File is too large.")


def file_type_forbidden() -> UploadError:
    return UploadError("FileTypeForbiddenError", 400, "Uploading of these file types is not allowed.")


def svg_forbidden(reason: str) -> UploadError:
    """SVG validation refused the drawing: Uploadcare's code for a file the project does not take."""
    return UploadError("FileTypeForbiddenError", 400, f"Uploading of this file is not allowed: {reason}")


def files_required() -> UploadError:
    return UploadError("FilesRequiredError", 400, "Request does not contain files.")


def too_many_files(limit: int) -> UploadError:
    return UploadError("RequestFileNumberLimitExceededError", 400, "The request contains too many files.")


def param_required(name: str) -> UploadError:
    return UploadError("RequestParamRequiredError", 400, f"{name} is required.")


def param_invalid(name: str) -> UploadError:
    return UploadError("RequestParamInvalidError", 400, f"{name} is invalid.")


def file_not_found() -> UploadError:
    return UploadError("FileNotFoundError", 404, "File is not found.")


def metadata_invalid(message: str) -> UploadError:
    return UploadError("FileMetadataKeyForbiddenError", 400, message)


def store_invalid() -> UploadError:
    return UploadError("RequestParamInvalidError", 400, "UPLOADCARE_STORE must be 0, 1 or auto.")


def account_limits_exceeded(message: str) -> UploadError:
    """The owner's plan refused the upload (billing's QuotaExceeded); clients are not told which limit."""
    return UploadError("AccountLimitsExceededError", 403, message)


def throttled(wait: int) -> UploadError:
    seconds = "second" if wait == 1 else "seconds"
    return UploadError("RequestThrottledError", 429, f"Request was throttled. Expected available in {wait} {seconds}.")


def upload_failed() -> UploadError:
    return UploadError("UploadFailedError", 403, "Upload failed.")


def storage_unavailable() -> UploadError:
    return UploadError("UploadAPIError", 500, "Internal error.")


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)


def storage_full() -> UploadError:
    # 507 Insufficient Storage: the server's disk (or quota) is full; retrying later may work.
    return UploadError("UploadAPIError", 507, "Not enough storage space on the server.")


def service_unavailable() -> UploadError:
    return UploadError("UploadAPIError", 503, "Service temporarily unavailable; try again later.")
