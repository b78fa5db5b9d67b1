"""A schema instance sent as the JSON body FastAPI would write for it, from inside a route.

A ``def`` route returning a schema makes FastAPI validate that return value again in the
threadpool (one more thread hop per request, after the route's own) before dumping it. A
route whose schema instance is already validated returns :func:`json_response` instead:
the same bytes (``dump_json`` with aliases, as FastAPI's response field writes them), on the
route's own thread. The route keeps ``response_model`` for the OpenAPI document.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(body: BaseModel, status_code: int = 200) -> Response:
    """``body`` as an ``application/json`` response, written the way FastAPI writes it."""
    return Response(
        content=body.model_dump_json(by_alias=True),
        status_code=status_code,
        media_type="application/json",
    )
