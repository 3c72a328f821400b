"""Registry events: a transactional outbox (`outbox`, `recording`), read by pull consumers
(`selectors`) and delivered as Standard Webhooks (`subscriptions`, `delivery`, `signing`, `http`),
fairly between tenants (`slots`).

Invariants: an event is written in the transaction of the change it describes (never for a
rolled-back change); per environment, sequences are allocated under a row lock on the
environment's counter, so committed sequences are gap-free and commit in order; a delivery row
per (subscription, event) is written in the same transaction, so the sweeper finds anything that
was not delivered even if the on-commit dispatch was lost.
"""

from .delivery import DrainResult, retry_delay, subscription_drain, webhook_deliveries_resend, webhook_deliveries_sweep
from .dispatch import DELIVER_TASK, delivery_dispatch
from .outbox import NewEvent, OutboxOutsideTransaction, events_record
from .retention import registry_events_purge
from .selectors import registry_events_after, subscriptions_of
from .subscriptions import (
    InvalidSubscription,
    SubscriptionNotFound,
    subscription_create,
    subscription_delete,
    subscription_disable,
    subscription_get,
    subscription_room_check,
    subscription_rotate_secret,
    subscription_update,
)
from .types import EVENT_TYPES

__all__ = [
    "DELIVER_TASK",
    "EVENT_TYPES",
    "DrainResult",
    "InvalidSubscription",
    "NewEvent",
    "OutboxOutsideTransaction",
    "SubscriptionNotFound",
    "delivery_dispatch",
    "events_record",
    "registry_events_after",
    "registry_events_purge",
    "retry_delay",
    "subscription_create",
    "subscription_delete",
    "subscription_disable",
    "subscription_drain",
    "subscription_get",
    "subscription_room_check",
    "subscription_rotate_secret",
    "subscription_update",
    "subscriptions_of",
    "webhook_deliveries_resend",
    "webhook_deliveries_sweep",
]
