"""The staff page's parts that know no HTTP framework: session cookie, text, chart geometry.

Its templates and static files live beside them; the routes are ``triage.api.routes.ui``.
"""
