"""Helpdesk webhooks: verify and map each helpdesk's delivery, triage it in the background,
and (optionally) write the suggestion back to the helpdesk.

Modules: ``config`` (settings types), ``canonical`` (the one ticket shape), ``signatures``
(HMAC and timestamp checks), ``adapters`` (one module per helpdesk), ``sources`` (receive a
delivery with its source's adapter), ``writeback`` (helpdesk API clients),
``osticket_forward`` (a stand-alone forwarder for osTicket, which sends no webhooks). The
deliveries are stored by ``triage.store.deliveries``, the background worker is
``triage.service.webhook_runner``.
Nothing is imported here, so ``triage.settings`` can use ``config`` without import cycles.
"""
