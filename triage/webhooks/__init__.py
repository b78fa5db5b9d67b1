"""Helpdesk webhooks: verify and map each helpdesk's delivery, triage it in the background,
and (optionally) write the suggestion back to the helpdesk.

Modules: ``config`` (settings types), ``canonical`` (the one ticket shape), ``signatures``
(HMAC and timestamp checks), ``sources`` (one adapter per helpdesk), ``store`` (deliveries),
``writeback`` (helpdesk API clients), ``runner`` (the background worker),
``osticket_forward`` (a stand-alone forwarder for osTicket, which sends no webhooks).
Nothing is imported here, so ``triage.settings`` can use ``config`` without import cycles.
"""
