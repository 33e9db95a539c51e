"""Workflows: webhook subscriptions fed from the outbox, the inbound automation API for n8n,
API keys, and the durable job scheduler."""
