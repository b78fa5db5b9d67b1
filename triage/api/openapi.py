"""The OpenAPI document clients are generated from: the API key, one error shape, examples.

FastAPI writes the document from the routes; this module completes it once, when it is first
asked for: which scope of API key each operation needs, the error body on every 4xx and 5xx
answer, and the request bodies that routes read themselves (several content types).
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from triage.api.deps import RequireScope
from triage.api.schemas import ErrorOut
from triage.api.schemas_jobs import JobIn
from triage.core.auth import Scope
from triage.webhooks.adapters.generic import GenericTicket

ERROR_REF = "#/components/schemas/ErrorOut"
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "BearerKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key as 'Authorization: Bearer <key>'. A service started without "
        "keys (TRIAGE_API_KEYS unset, loopback only) needs none.",
    },
    "ApiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same API key as 'X-API-Key: <key>'.",
    },
}
# Bodies a route reads itself (JSON or a file), so FastAPI does not list their models.
REQUEST_MODELS: tuple[type[BaseModel], ...] = (JobIn, GenericTicket)
# Framework validation errors are answered in the one error shape (triage/api/errors.py).
_FRAMEWORK_SCHEMAS = ("HTTPValidationError", "ValidationError")
_ERROR_EXAMPLES: dict[str, tuple[str, str, Any]] = {
    "400": ("bad_request", "There was an error parsing the body", None),
    "401": (
        "unauthorized",
        "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
        None,
    ),
    "403": (
        "forbidden",
        "the key 'helpdesk' lacks the 'admin' scope",
        {"needed": "admin", "scopes": ["classify", "feedback"]},
    ),
    "404": ("not_found", "Not Found", None),
    "413": (
        "payload_too_large",
        "request body over the limit of 1000000 bytes",
        {"limit": 1000000},
    ),
    "415": (
        "unsupported_media_type",
        "unsupported content type 'text/xml': send application/json, text/csv or "
        "application/x-ndjson",
        None,
    ),
    "422": (
        "validation_error",
        "body: a ticket needs a non-empty 'subject' or 'body'",
        [
            {
                "loc": ["body"],
                "msg": "a ticket needs a non-empty 'subject' or 'body'",
                "type": "value_error",
            }
        ],
    ),
    "500": ("internal_error", "internal error; the service log has details", None),
    "503": ("store_unavailable", "the database is unavailable; retry later", None),
}


def operation_id(route: APIRoute) -> str:
    """The route's function name (``classify``, ``get_job``): what generated clients call."""
    return route.name


def error_example(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """An error body in the one shape, for the ``example`` of a documented error response."""
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(code: str, message: str, description: str | None = None) -> dict[str, Any]:
    """A route's ``responses`` entry: the one error shape, with an example of this error."""
    response: dict[str, Any] = {
        "model": ErrorOut,
        "content": {"application/json": {"example": error_example(code, message)}},
    }
    if description:
        response["description"] = description
    return response


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (built once, on the first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            complete(FastAPI.openapi(app), app)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any], app: FastAPI) -> None:
    """Add security, error bodies and the self-read request models to FastAPI's document."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _add_models(schemas, REQUEST_MODELS)
    components["securitySchemes"] = SECURITY_SCHEMES
    scopes = dict(scopes_of(app))
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            _secure(operation, scopes.get((path, method.upper())))
            _document_errors(operation)
    for name in _FRAMEWORK_SCHEMAS:
        schemas.pop(name, None)
    _restore_example_nulls(schemas)


def _add_models(schemas: dict[str, Any], models: tuple[type[BaseModel], ...]) -> None:
    _, top = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    for name, schema in top.get("$defs", {}).items():
        # FastAPI's own rendering of a model it already lists is kept (it omits null defaults).
        listed = schemas.setdefault(name, schema)
        if listed.get("properties", {}).keys() != schema.get("properties", {}).keys():
            raise ValueError(f"two different schemas are named {name!r} in the OpenAPI document")


def _restore_example_nulls(schemas: dict[str, Any]) -> None:
    # FastAPI writes the document without None values, the nulls inside examples included, so
    # an example of a required nullable field (JobOut.error) would not match its own schema.
    for model in _subclasses(BaseModel):
        extra = model.model_config.get("json_schema_extra")
        schema = schemas.get(model.__name__, {})
        if (
            isinstance(extra, dict)
            and "examples" in extra
            and schema.get("title") == model.__name__
            and model.__module__.startswith("triage.")
        ):
            schema["examples"] = copy.deepcopy(extra["examples"])


def _subclasses(kind: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for subclass in kind.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def scopes_of(app: FastAPI) -> Iterator[tuple[tuple[str, str], Scope | None]]:
    """((path, method), the scope its key needs, or None: no key) of each documented route."""
    return route_scopes(_api_routes(app))


def route_scopes(routes: Iterable[Any]) -> Iterator[tuple[tuple[str, str], Scope | None]]:
    """``scopes_of`` for ``routes`` (``APIRoute`` or FastAPI's context of an included one)."""
    for route in routes:
        found = {
            dep.call.scope
            for dep in _flatten(route.dependant)
            if isinstance(dep.call, RequireScope)
        }
        if len(found) > 1:
            raise ValueError(f"{route.path_format} needs several scopes: {sorted(found)}")
        for method in route.methods:
            yield (route.path_format, method), next(iter(found), None)


def _api_routes(app: FastAPI) -> Iterator[Any]:
    # Recent FastAPI keeps included routers whole, and a route context carries the
    # dependencies its router adds; older releases copy every route into app.routes.
    contexts = getattr(routing, "iter_route_contexts", None)
    routes: Iterable[Any] = contexts(app.routes) if contexts else app.routes
    for route in routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute) and route.include_in_schema:
            yield route


def _flatten(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _flatten(dependency)


def _secure(operation: dict[str, Any], scope: Scope | None) -> None:
    if scope is None:
        operation["security"] = []
        note = "No API key needed."
    else:
        operation["security"] = [{name: [scope.value]} for name in SECURITY_SCHEMES]
        also = "" if scope is Scope.ADMIN else " (or `admin`)"
        note = (
            f"Needs an API key with the `{scope.value}` scope{also}; "
            "none while the service runs without keys."
        )
    operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()


def _document_errors(operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    responses.setdefault("500", {"description": "Unexpected error; the service log has details."})
    for status, response in responses.items():
        if not status.startswith(("4", "5")):
            continue
        media = response.setdefault("content", {}).get("application/json", {})
        if "example" in media:  # the route's own; FastAPI dropped its null details
            example = error_example(**{"details": None, **media["example"]["error"]})
        elif status in _ERROR_EXAMPLES:
            example = error_example(*_ERROR_EXAMPLES[status])
        else:
            raise ValueError(f"no example for a {status} answer: add one to _ERROR_EXAMPLES")
        response["content"] = {
            "application/json": {"schema": {"$ref": ERROR_REF}, "example": example}
        }


def main(argv: list[str]) -> int:
    """``python -m triage.api.openapi [FILE]``: write the document (to stdout without FILE)."""
    from triage.api.app import create_app
    from triage.settings import Settings

    text = dump(create_app(Settings()).openapi())
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def dump(document: dict[str, Any]) -> str:
    """The document as the published file spells it (so the two compare byte for byte)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
