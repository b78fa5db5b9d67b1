"""Bodies of the routing endpoints (GET/PUT /v1/routing, rollback, dry run)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from triage.api.schemas import CLASSIFICATION_EXAMPLE, RouteOut

ROUTING_EXAMPLE = """\
fallback: service-desk
groups:
  network: {queue: network-l2, languages: [en], fallback: network-id}
  network-id: {queue: network-jakarta, languages: [en, id]}
rules:
  - id: critical-security
    when: {category: security, priority: [high, critical]}
    group: secops
    skills: [incident-response]
  - id: vpn
    when: {category: network_vpn, decision: {category: [auto, suggest]}}
    group: network
"""

ROUTING_JSON_EXAMPLE: dict[str, Any] = {
    "fallback": "service-desk",
    "rules": [{"id": "vpn", "when": {"category": "network_vpn"}, "group": "network"}],
}
_ROUTE_EXAMPLE: dict[str, Any] = CLASSIFICATION_EXAMPLE["route"]
TABLE_OUT_EXAMPLE: dict[str, Any] = {
    "version": 4,
    "text": ROUTING_EXAMPLE,
    "source": "api",
    "author": "ops",
    "created_at": "2026-12-06T21:30:00+00:00",
    "rules": 2,
    "order": "rules_first",
    "fallback": "service-desk",
    "group_head": "group",
}
DRY_RUN_EXAMPLE: dict[str, Any] = {
    "replayed": 500,
    "changed": 37,
    "by_group": {
        "before": {"desk-side": 310, "network": 120, "service-desk": 70},
        "after": {"desk-side": 290, "network": 157, "service-desk": 53},
    },
    "examples": [
        {
            "ticket_id": "INC-1042",
            "tenant": "",
            "before": {**_ROUTE_EXAMPLE},
            "after": {
                **_ROUTE_EXAMPLE,
                "group": "network",
                "queue": "network-l2",
                "rule_id": "vpn",
            },
        }
    ],
}


class RoutingTableOut(BaseModel):
    """The served routing table and where it came from."""

    version: int | None = Field(description="Stored version; null: none stored (empty table).")
    text: str = Field(description="The table as it was written (YAML or JSON).")
    source: str | None = Field(
        description="'api', 'file:<name>' (TRIAGE_ROUTING_FILE) or 'rollback:<version>'."
    )
    author: str | None = Field(None, description="The API key that stored it.")
    created_at: datetime | None = None
    rules: int = Field(description="How many rules the table has.")
    order: str = Field(description="rules_first (rules override the group head) or model_first.")
    fallback: str = Field(description="The group that takes what nothing else routes.")
    group_head: str = Field(description="The head whose label proposes a group, where it exists.")

    model_config = ConfigDict(json_schema_extra={"examples": [TABLE_OUT_EXAMPLE]})


class RouteChangeOut(BaseModel):
    ticket_id: str
    tenant: str
    before: RouteOut
    after: RouteOut


class DryRunOut(BaseModel):
    """Recent triaged tickets routed by the served table and by the proposed one."""

    replayed: int = Field(description="Triaged tickets replayed (the newest first).")
    changed: int = Field(description="How many the proposed table sends to another group/queue.")
    by_group: dict[str, dict[str, int]] = Field(
        description="'before' and 'after': tickets per group."
    )
    examples: list[RouteChangeOut] = Field(description="Up to 20 of the changed tickets.")

    model_config = ConfigDict(json_schema_extra={"examples": [DRY_RUN_EXAMPLE]})
