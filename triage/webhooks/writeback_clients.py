"""The write-back client of each helpdesk that has one, by source name."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from triage.webhooks.config import WritebackTarget
from triage.webhooks.writeback import WritebackClient, ZammadClient, ZendeskClient
from triage.webhooks.writeback_glpi_freshdesk import FreshdeskClient, GlpiClient

CLIENTS: dict[str, Callable[[WritebackTarget], WritebackClient]] = {
    "zammad": ZammadClient,
    "zendesk": ZendeskClient,
    "glpi": GlpiClient,
    "freshdesk": FreshdeskClient,
}


def build_clients(targets: Mapping[str, WritebackTarget]) -> dict[str, WritebackClient]:
    """A client per configured helpdesk (sources without a write-back client are refused
    when the settings are read)."""
    return {source: CLIENTS[source](target) for source, target in targets.items()}
