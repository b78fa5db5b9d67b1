"""Routing: which group and queue take a classified ticket (issue 20)."""

from triage.core.routing.agents import Agent, AgentRoster
from triage.core.routing.build import build_table
from triage.core.routing.source import read_text
from triage.core.routing.table import (
    AgentPick,
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
    "Agent",
    "AgentPick",
    "AgentRoster",
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
