"""Rapport: self-hostable real-time dating chat."""

__version__ = "0.1.0"
