"""Webhook subscriptions: create, update, delete, disable, rotate the signing secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from ipaddress import ip_address
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from endpointapi import ForbiddenAddress
from endpointapi.guard import INFRASTRUCTURE_HINT, InvalidUrl, IPAddress, parse_url
from endpointapi.transport import sanitize_url
from endpoints.errors import KongflowError
from endpoints.models import RuntimeEnvironment, WebhookSubscription
from endpoints.services.clients import outbound_policy

from .dispatch import delivery_dispatch
from .recording import record_webhook_disabled
from .signing import generate_secret
from .types import ALL, EVENT_TYPES


class InvalidSubscription(KongflowError):
    pass


class SubscriptionNotFound(KongflowError):
    status_code = 404
    default_message = "Event subscription not found"


#: What `localhost` (and `*.localhost`, RFC 6761) means, without asking DNS.
LOCALHOST_ADDRESSES: tuple[IPAddress, ...] = (ip_address("127.0.0.1"), ip_address("::1"))


def validate_url(url: str, *, environment: RuntimeEnvironment | None = None) -> str:
    """Read by the parser the delivery requests it with (`endpointapi.guard.parse_url`: http(s), no
    credentials, nothing ambiguous). With `environment`, a host that is a literal address (any
    spelling) or `localhost` is also checked against that environment's outbound policy and refused
    at once; a host name is checked at each delivery, when it is resolved (DNS can change)."""
    try:
        target = parse_url(url)
    except InvalidUrl as exc:
        raise InvalidSubscription(f"url: {exc}") from exc
    if environment is None:
        return url
    if target.address is not None:
        addresses: tuple[IPAddress, ...] = (target.address,)
    elif target.host.rstrip(".") == "localhost" or target.host.rstrip(".").endswith(".localhost"):
        addresses = LOCALHOST_ADDRESSES
    else:
        return url
    policy = outbound_policy(environment=environment)
    for address in addresses:
        if (service := policy.infrastructure_at(address, target.port)) is not None:
            raise InvalidSubscription(
                f"url: {sanitize_url(url)} is {address} port {target.port}, {service.name}, which no webhook may use. "
                f"{INFRASTRUCTURE_HINT}"
            )
        reason = policy.refusal(address)
        if reason is not None:
            raise InvalidSubscription(
                f"url: {sanitize_url(url)} is {address}, {reason} address, which this environment may not call. "
                f"{ForbiddenAddress.default_hint}"
            )
    return url


def validate_events(events: list[str]) -> list[str]:
    if not events:
        raise InvalidSubscription('events: list at least one event type, or "*"')
    unknown = sorted({e for e in events if e != ALL and e not in EVENT_TYPES})
    if unknown:
        raise InvalidSubscription(f"events: unknown event type(s) {', '.join(unknown)}")
    return sorted(set(events))


def subscription_get(*, environment: RuntimeEnvironment, subscription_id: str) -> WebhookSubscription:
    subscription = WebhookSubscription.objects.filter(environment=environment, id=subscription_id).first()
    if subscription is None:
        raise SubscriptionNotFound()
    return subscription


def subscription_room_check(*, environment: RuntimeEnvironment) -> None:
    """Raise InvalidSubscription when the environment has KONGFLOW_MAX_SUBSCRIPTIONS subscriptions
    (active or not: a disabled one can be enabled again). Each event fans out to one delivery per
    subscription, so this bounds what one registration can send."""
    limit: int = settings.KONGFLOW_MAX_SUBSCRIPTIONS
    count = WebhookSubscription.objects.filter(environment=environment).count()
    if count >= limit:
        raise InvalidSubscription(
            f"This environment has {count} event subscriptions, the most KONGFLOW_MAX_SUBSCRIPTIONS allows "
            f"({limit}): delete one, or subscribe one URL to several event types"
        )


def subscription_create(
    *, environment: RuntimeEnvironment, url: str, events: list[str], description: str = ""
) -> WebhookSubscription:
    """A new active subscription with a fresh `whsec_` secret; it receives events recorded from now on.
    Raises InvalidSubscription (nothing written) for a bad URL or event list, or past the
    environment's KONGFLOW_MAX_SUBSCRIPTIONS: counted under the environment row's lock, so that
    concurrent creates cannot exceed it."""
    url = validate_url(url, environment=environment)
    events = validate_events(events)
    with transaction.atomic():
        # FOR NO KEY UPDATE: serialises the creates of this environment; inserts of rows that
        # reference it (FOR KEY SHARE) are not blocked.
        list(RuntimeEnvironment.objects.select_for_update(no_key=True).filter(id=environment.id).values_list("id"))
        subscription_room_check(environment=environment)
        return WebhookSubscription.objects.create(
            environment=environment, url=url, events=events, description=description, secret=generate_secret()
        )


def subscription_update(*, subscription: WebhookSubscription, changes: dict[str, Any]) -> WebhookSubscription:
    """Change url, events, description or is_active. Disabling records `webhook.disabled`;
    re-enabling resumes the pending deliveries."""
    fields: list[str] = []
    if "url" in changes:
        subscription.url = validate_url(changes["url"], environment=subscription.environment)
        fields.append("url")
    if "events" in changes:
        subscription.events = validate_events(changes["events"])
        fields.append("events")
    if "description" in changes:
        subscription.description = changes["description"]
        fields.append("description")
    enabling = changes.get("is_active") is True and not subscription.is_active
    if "is_active" in changes and changes["is_active"] != subscription.is_active:
        subscription.is_active = bool(changes["is_active"])
        subscription.disabled_at = None if subscription.is_active else timezone.now()
        subscription.disabled_reason = "" if subscription.is_active else "Disabled by a user"
        subscription.failing_since = None
        fields += ["is_active", "disabled_at", "disabled_reason", "failing_since"]
    disabling = changes.get("is_active") is False and "is_active" in fields
    with transaction.atomic():
        subscription.save(update_fields=[*fields, "updated_at"])
        if disabling:
            record_webhook_disabled(
                subscription=subscription, environment=subscription.environment, reason=subscription.disabled_reason
            )
        if enabling:
            transaction.on_commit(partial(delivery_dispatch, subscription_id=subscription.id))
    return subscription


def subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Delete the subscription with its deliveries and attempts (the events stay in the outbox)."""
    subscription.delete()


def subscription_disable(*, subscription_id: str, reason: str) -> bool:
    """Disable an active subscription and record `webhook.disabled`, in one transaction."""
    with transaction.atomic():
        subscription = (
            WebhookSubscription.objects.select_for_update(of=("self",))
            .select_related("environment")
            .filter(id=subscription_id, is_active=True)
            .first()
        )
        if subscription is None:
            return False
        subscription.is_active = False
        subscription.disabled_at = timezone.now()
        subscription.disabled_reason = reason[:500]
        subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"])
        record_webhook_disabled(subscription=subscription, environment=subscription.environment, reason=reason)
    return True


@dataclass(frozen=True)
class Rotation:
    subscription: WebhookSubscription
    secret: str
    previous_secret_expires_at: Any


def subscription_rotate_secret(*, subscription: WebhookSubscription, grace_seconds: int | None = None) -> Rotation:
    """A new secret; during the grace period deliveries are signed with the new and the old one."""
    grace = settings.KONGFLOW_WEBHOOK_SECRET_GRACE_SECONDS if grace_seconds is None else grace_seconds
    if grace < 0:
        raise InvalidSubscription("graceSeconds: must not be negative")
    now = timezone.now()
    subscription.previous_secret = subscription.secret if grace > 0 else None
    subscription.previous_secret_expires_at = now + timedelta(seconds=grace) if grace > 0 else None
    subscription.secret = generate_secret()
    subscription.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return Rotation(subscription, subscription.secret, subscription.previous_secret_expires_at)


def signing_secrets(subscription: WebhookSubscription, *, now: Any = None) -> list[str]:
    """The secrets a delivery is signed with right now: the current one, then the previous during its grace."""
    now = now or timezone.now()
    current = [subscription.secret]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires is not None and expires > now:
        current.append(subscription.previous_secret)
    return current
