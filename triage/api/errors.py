"""Domain errors and framework errors mapped to HTTP, in one place, with one JSON shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from triage.api.body_errors import body_message, not_utf8_message
from triage.core.errors import (
    ArtifactError,
    BatchTooLargeError,
    DataValidationError,
    DeliveryNotFoundError,
    EmbedderUnavailableError,
    ForbiddenError,
    IncidentConflictError,
    IncidentNotFoundError,
    InvalidEventError,
    InvalidReportQueryError,
    InvalidTicketError,
    JobNotFoundError,
    MailTooLargeError,
    ModelNotFoundError,
    ReportNotFoundError,
    RoutingTableError,
    RoutingVersionNotFoundError,
    StoreMismatchError,
    StoreUnavailableError,
    TicketNotFoundError,
    TicketTooLargeError,
    TriageError,
    UnauthorizedError,
    UnknownWebhookSourceError,
    UnsupportedMediaTypeError,
    WebhookPayloadError,
    WebhookSourceDisabledError,
)

log = logging.getLogger(__name__)
_UNPARSED_BODY = "There was an error parsing the body"  # FastAPI's, for a body json cannot decode

STATUS_BY_ERROR: dict[type[TriageError], int] = {
    InvalidTicketError: 422,
    DataValidationError: 422,
    TicketTooLargeError: 413,
    MailTooLargeError: 413,
    BatchTooLargeError: 413,
    UnauthorizedError: 401,
    ForbiddenError: 403,
    ModelNotFoundError: 404,
    JobNotFoundError: 404,
    TicketNotFoundError: 404,
    StoreMismatchError: 503,
    StoreUnavailableError: 503,
    ArtifactError: 422,
    EmbedderUnavailableError: 503,
    UnsupportedMediaTypeError: 415,
    UnknownWebhookSourceError: 404,
    DeliveryNotFoundError: 404,
    WebhookSourceDisabledError: 403,
    WebhookPayloadError: 422,
    IncidentNotFoundError: 404,
    IncidentConflictError: 409,
    RoutingTableError: 422,
    RoutingVersionNotFoundError: 404,
    InvalidReportQueryError: 422,
    InvalidEventError: 422,
    ReportNotFoundError: 404,
}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "unavailable",
}


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(status_code=status, content=jsonable_encoder(body))


def _status_for(exc: TriageError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return 500


def _without_paths(request: Request, message: str) -> str:
    """``message`` with the server's own directories named as configured, not absolutely
    (an error for a caller must not show where the service keeps its files)."""
    settings = getattr(request.app.state, "settings", None)
    if settings is None:
        return message
    forms = [
        (form, name)
        for folder, name in ((settings.models_dir, "models"), (settings.data_dir, "data"))
        for form in {str(folder.resolve()), str(folder.absolute())}
    ]
    for form, name in sorted(forms, key=lambda pair: -len(pair[0])):  # the longest first
        message = message.replace(form, f"<{name}>")
    return message


async def _triage_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TriageError)
    message = _without_paths(request, exc.message)
    response = error_response(_status_for(exc), exc.code, message, exc.details)
    if isinstance(exc, UnauthorizedError):
        response.headers["WWW-Authenticate"] = exc.challenge
    if isinstance(exc, StoreUnavailableError):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    details = [
        {
            "loc": list(err.get("loc", ())),
            "msg": str(err.get("msg", "")).removeprefix("Value error, "),
            "type": err.get("type"),
        }
        for err in errors
    ]
    message = body_message(errors, request.headers.get("content-type"), exc.body) or "; ".join(
        f"{'.'.join(str(p) for p in d['loc'][1:]) or 'body'}: {d['msg']}" for d in details
    )
    return error_response(422, "validation_error", message or "invalid request", details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail)
    # The body is never read again here: it may have been cut short (BodySizeLimit).
    if message == _UNPARSED_BODY and isinstance(exc.__cause__, UnicodeDecodeError):
        message = not_utf8_message(exc.__cause__)
    response = error_response(exc.status_code, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error; the service log has details")


def install_error_handlers(app: FastAPI) -> None:
    """Every error, expected or not, leaves as ``{"error": {code, message, details}}``."""
    app.add_exception_handler(TriageError, _triage_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
