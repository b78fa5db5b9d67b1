"""One adapter per helpdesk: check the delivery's signature, map its payload to one ticket.

Every adapter answers three questions about a raw delivery: is it authentic (signature, or the
shared secret for Freshdesk, which signs nothing), which ticket is it (mapped onto
``CanonicalTicket``), and which key makes a retry of it recognisable (the helpdesk's own
delivery id where it sends one, else ticket id + event + timestamp, else the body's digest).
The field mapping and the vendor documentation behind it are in docs/integrations/.

Modules: ``base`` (what an adapter is), ``fields`` (reading loosely typed payloads), then one
module per helpdesk. The registry of adapters and ``receive`` are in ``triage.webhooks.sources``.
Nothing is imported here, so the adapters can import ``base`` and ``fields`` without cycles.
"""
