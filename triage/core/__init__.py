"""The core: tickets as text, embedders, heads, decisions, the auto gate, models and
their artifacts. It knows nothing of HTTP, the database or the service around it."""
