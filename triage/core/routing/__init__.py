"""Routing: which group and queue take a classified ticket (issue 20)."""

from triage.core.routing.build import build_table
from triage.core.routing.source import read_text
from triage.core.routing.table import (
    Group,
    HeadView,
    Order,
    Route,
    RouteInput,
    RouteSource,
    RoutingTable,
    Rule,
    least_certain,
)

__all__ = [
    "Group",
    "HeadView",
    "Order",
    "Route",
    "RouteInput",
    "RouteSource",
    "RoutingTable",
    "Rule",
    "build_table",
    "least_certain",
    "read_text",
]
