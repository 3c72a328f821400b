"""Alert channels: create, list, get, delete (per environment; at most KONGFLOW_MAX_ALERT_CHANNELS)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet

from endpoints.errors import KongflowError
from endpoints.models import AlertChannel, AlertChannelType, RuntimeEnvironment
from endpoints.services.events.subscriptions import InvalidSubscription, validate_url


class InvalidAlertChannel(KongflowError):
    pass


class AlertChannelNotFound(KongflowError):
    status_code = 404
    default_message = "Alert channel not found"


def alert_channels_of(*, environment: RuntimeEnvironment) -> QuerySet[AlertChannel]:
    return AlertChannel.objects.filter(environment=environment).order_by("created_at", "id")


def alert_channel_get(*, environment: RuntimeEnvironment, channel_id: str) -> AlertChannel:
    channel = AlertChannel.objects.filter(environment=environment, id=channel_id).first()
    if channel is None:
        raise AlertChannelNotFound()
    return channel


def alert_channel_validate(*, environment: RuntimeEnvironment, type: str, email: str = "", url: str = "") -> None:
    """Raise InvalidAlertChannel unless the target suits the type: an e-mail address, or a URL that
    webhooks may call from this environment (the same rule and outbound policy as subscriptions)."""
    if type == AlertChannelType.EMAIL:
        if url:
            raise InvalidAlertChannel('url: only for "slack" channels')
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidAlertChannel("email: enter a valid e-mail address") from None
    elif type == AlertChannelType.SLACK:
        if email:
            raise InvalidAlertChannel('email: only for "email" channels')
        if not url:
            raise InvalidAlertChannel("url: required for a slack channel")
        try:
            validate_url(url, environment=environment)
        except InvalidSubscription as exc:
            raise InvalidAlertChannel(exc.message) from None
    else:
        raise InvalidAlertChannel('type: "email" or "slack"')


def alert_room_check(*, environment: RuntimeEnvironment) -> None:
    """Raise InvalidAlertChannel when the environment has KONGFLOW_MAX_ALERT_CHANNELS channels."""
    limit: int = settings.KONGFLOW_MAX_ALERT_CHANNELS
    count = AlertChannel.objects.filter(environment=environment).count()
    if count >= limit:
        raise InvalidAlertChannel(
            f"This environment has {count} alert channels, the most KONGFLOW_MAX_ALERT_CHANNELS allows ({limit})"
        )


def alert_channel_create(*, environment: RuntimeEnvironment, type: str, email: str = "", url: str = "") -> AlertChannel:
    """A new channel, announced every transition from now on. Raises InvalidAlertChannel (nothing
    written) for a bad target, one the environment already has, or past the cap: counted under the
    environment row's lock, so that concurrent creates cannot exceed it."""
    alert_channel_validate(environment=environment, type=type, email=email, url=url)
    with transaction.atomic():
        # FOR NO KEY UPDATE: serialises the creates of this environment (as subscription_create does).
        list(RuntimeEnvironment.objects.select_for_update(no_key=True).filter(id=environment.id).values_list("id"))
        alert_room_check(environment=environment)
        for existing in alert_channels_of(environment=environment):  # few (capped); URLs are encrypted
            if existing.type == type and (existing.email.lower() == email.lower() if email else existing.url == url):
                raise InvalidAlertChannel(f"This environment already has this alert channel ({existing.id})")
        return AlertChannel.objects.create(environment=environment, type=type, email=email, url=url or None)


def alert_channel_delete(*, channel: AlertChannel) -> None:
    """Delete the channel with its notifications."""
    channel.delete()
