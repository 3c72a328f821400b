"""The worker survives losing Redis while it holds unacknowledged messages (kongflow/celery.py)."""

from __future__ import annotations

import pytest
from kombu import Connection
from redis.exceptions import ConnectionError as RedisConnectionError

import kongflow.celery  # noqa: F401  # installs the workaround


def test_a_channel_whose_connection_is_closed_raises_a_connection_error_kombu_ignores():
    connection = Connection("redis://127.0.0.1:6379/15")
    channel = connection.channel()
    try:
        assert channel._connparams()["host"] == "127.0.0.1"  # an open connection is untouched
        channel.connection.client = None  # what kombu leaves behind while closing a lost connection
        with pytest.raises(RedisConnectionError):
            channel._connparams()
        assert RedisConnectionError in connection.connection_errors  # so `maybe_close_channel` ignores it
        connection.maybe_close_channel(channel)  # closing (and restoring unacked messages) no longer crashes
    finally:
        connection.release()
