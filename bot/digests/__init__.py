"""Digests: subscriptions, schedules, selection, delivery, the /digest cog."""
