"""A routing table's text (YAML, or JSON, which YAML reads too) as plain data, with the
position of the first syntax error."""

from __future__ import annotations

import json
from typing import Any

from triage.core.errors import RoutingTableError


def read_text(text: str, *, json_only: bool = False) -> Any:
    """The data a routing table's text holds; a syntax error names its line and column."""
    if json_only:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise _syntax_error("JSON", exc.msg, exc.lineno, exc.colno) from exc
    import yaml  # here: a worker reads no routing table's text while it starts

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise _syntax_error("YAML", problem, line, column) from exc
    except yaml.YAMLError as exc:
        raise _syntax_error("YAML", str(exc), None, None) from exc


def _syntax_error(kind: str, problem: str, line: int | None, column: int | None) -> Exception:
    where = f" at line {line}, column {column}" if line is not None else ""
    return RoutingTableError(
        f"the routing table is not valid {kind}{where}: {problem}",
        details={"line": line, "column": column, "problem": problem},
    )
