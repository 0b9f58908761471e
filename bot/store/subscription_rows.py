"""A subscription as both stores' ``subscriptions`` table holds it: the column list, and the
mapping of a SubscriptionSpec to its columns and of a row back to a Subscription."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.records import Subscription, SubscriptionSpec
from bot.store.rows import TOPIC_SEP

SUBSCRIPTION_COLUMNS = (
    "channel_id, guild_id, schedule, timezone, topics, min_quality, max_items, only_published,"
    " role_id, max_age_days, managed_by, paused, paused_reason, seq_cursor, last_run_at,"
    " items_delivered, consecutive_failures, last_error, created_at, updated_at,"
    " layout, keywords, exclude, alert_state, publish, channel_kind"
)


def spec_row(spec: SubscriptionSpec) -> tuple[Any, ...]:
    """A spec as the subscription columns schedule .. max_age_days, layout .. publish hold it."""
    return (
        spec.schedule,
        spec.timezone,
        TOPIC_SEP.join(spec.topics),
        spec.min_quality,
        spec.max_items,
        int(spec.only_published),
        spec.role_id,
        spec.max_age_days,
        spec.layout,
        TOPIC_SEP.join(spec.keywords),
        TOPIC_SEP.join(spec.exclude),
        int(spec.publish),
    )


def row_subscription(row: Sequence[Any]) -> Subscription:
    """The Subscription of a row of SUBSCRIPTION_COLUMNS."""
    (
        channel_id, guild_id, schedule, timezone, topics, min_quality, max_items, only_published,
        role_id, max_age_days, managed_by, paused, paused_reason, cursor, last_run_at,
        items_delivered, consecutive_failures, last_error, created_at, updated_at,
        layout, keywords, exclude, alert_state, publish, channel_kind,
    ) = row  # fmt: skip
    spec = SubscriptionSpec(
        schedule=schedule,
        timezone=timezone,
        topics=tuple(t for t in (topics or "").split(TOPIC_SEP) if t),
        min_quality=min_quality,
        max_items=max_items,
        only_published=bool(only_published),
        role_id=role_id,
        max_age_days=max_age_days,
        layout=layout,
        keywords=_joined(keywords),
        exclude=_joined(exclude),
        publish=bool(publish),
    )
    return Subscription(
        channel_id=channel_id,
        guild_id=guild_id,
        spec=spec,
        managed_by=managed_by,
        paused=bool(paused),
        paused_reason=paused_reason,
        cursor=cursor,
        last_run_at=last_run_at,
        items_delivered=items_delivered,
        consecutive_failures=consecutive_failures,
        last_error=last_error,
        created_at=created_at,
        updated_at=updated_at,
        alert_state=alert_state,
        channel_kind=channel_kind,
    )


def _joined(text: str | None) -> tuple[str, ...]:
    return tuple(t for t in (text or "").split(TOPIC_SEP) if t)
