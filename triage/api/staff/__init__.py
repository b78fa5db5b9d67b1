"""The staff page under /ui/: triage a ticket, see similar solved ones, accept or correct it;
the queue of triaged tickets with the live quality of the last seven days.

Server-rendered, no script needed. The package holds the HTTP edge of the page and nothing
else: ``session`` (who is signed in, forms and CSRF), ``responses`` (rendering, redirects and
headers), ``views`` (what a template shows, from the service's dataclasses), ``signin`` and
``pages`` (the routes); ``cookie``, ``i18n`` and ``chart`` know no HTTP framework. The page
works through the same service, stores and scopes as the JSON API.
"""
