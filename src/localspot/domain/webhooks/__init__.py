"""Webhooks: subscriptions and settings per app, the outbox, and signed delivery (SPEC §5)."""
