"""Durable state: feedback, classification jobs and resolved tickets, through SQLAlchemy."""
