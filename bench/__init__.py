"""Messaging benchmark: Rapport against a bare python-socketio relay (see docs/performance.md)."""
