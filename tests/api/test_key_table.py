"""The key gate's table of keyed operations: the OpenAPI document's reading of the routes,
made without building the app's view of every included route at start-up."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from fastapi import FastAPI, routing
from starlette.routing import compile_path

from triage.api.app import create_app
from triage.api.key_gate import KeyGate
from triage.api.openapi import scopes_of
from triage.settings import Settings


def _open_app() -> FastAPI:
    return create_app(Settings.model_construct(api_keys=[], host="127.0.0.1"))


def _gate_table(app: FastAPI) -> set[tuple[str, str]]:
    for middleware in app.user_middleware:
        if middleware.cls == KeyGate:  # type: ignore[comparison-overlap]
            routes = cast(list[tuple[re.Pattern[str], str]], middleware.kwargs["routes"])
            return {(pattern.pattern, method) for pattern, method in routes}
    raise AssertionError("the app has no key gate")


def test_the_gate_keys_exactly_the_operations_the_openapi_document_secures() -> None:
    app = _open_app()
    secured = {
        (compile_path(path)[0].pattern, method)
        for (path, method), scope in scopes_of(app)
        if scope is not None
    }
    assert ("^/v1/classify$", "POST") in secured
    assert _gate_table(app) == secured


def test_building_the_app_leaves_its_included_routes_to_their_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Recent FastAPI builds its context of an included route (response fields, dependency
    tree) on first use; the gate's table once built all of them at every start."""
    context = getattr(routing, "_EffectiveRouteContext", None)
    if context is None:
        pytest.skip("this FastAPI copies included routes into the app when they are included")
    built: list[Any] = []
    original = context.from_api_route.__func__

    def counting(cls: Any, /, **kwargs: Any) -> Any:
        built.append(kwargs["original_route"].path)
        return original(cls, **kwargs)

    monkeypatch.setattr(context, "from_api_route", classmethod(counting))
    _open_app()
    assert built == []
