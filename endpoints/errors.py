"""Application errors. The API's exception handler renders each as `{"error": message}` (v2 style)."""

from __future__ import annotations


class KongflowError(Exception):
    status_code = 400
    default_message = "Bad request"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class EndpointRegistrationError(KongflowError):
    """PING failed or the upsert failed; the message is the original's wording, shown to the CLI."""


class EndpointNotFound(KongflowError):
    status_code = 404
    default_message = "Endpoint not found"


class EndpointIndexNotFound(KongflowError):
    status_code = 404
    default_message = "EndpointIndex not found"


class InvalidHookIdentifier(KongflowError):
    status_code = 403
    default_message = "Index hook identifier is invalid"


class EndpointDisabled(KongflowError):
    """A deploy hook for an endpoint switched off after failing too often (`services.health`)."""

    status_code = 409

    def __init__(self, *, slug: str, failures: int) -> None:
        super().__init__(
            f'Endpoint "{slug}" is disabled after {failures} consecutive failed indexes: deploy hooks are '
            "refused until it is enabled. Register it again (the CLI or POST /api/v1/endpoints), index it "
            f"successfully (POST /api/v1/endpoints/{slug}/index) or press Enable on its page in the console."
        )


class InvalidEnvironmentOptions(KongflowError):
    pass


class ApiKeyAlreadyRotated(KongflowError):
    """The key changed since the operator confirmed the rotation (a resubmitted form)."""
