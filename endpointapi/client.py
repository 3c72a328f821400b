"""``EndpointApiClient``: the server side of the Trigger.dev v2 endpoint protocol (reference §1).

One client per endpoint URL + API key. Every call is a POST to that URL, the operation chosen by the
``x-trigger-action`` header. Results are frozen dataclasses from :mod:`endpointapi.types`; failures
are :mod:`endpointapi.errors` subclasses carrying the v2 server's wording.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urljoin

import orjson
import requests

from endpointapi import guard, schemas, transport
from endpointapi.errors import (
    UNAUTHORIZED_MESSAGE,
    ActionNotSupported,
    EndpointApiError,
    EndpointConnectionError,
    EndpointHTTPError,
    EndpointRedirect,
    EndpointRedirectLoop,
    EndpointRedirectWithoutLocation,
    EndpointUnauthorized,
    InvalidEndpointResponse,
    InvalidIndexDocument,
    InvalidJSON,
    Issue,
    format_issues,
)
from endpointapi.types import (
    SAFE_ACTIONS,
    Action,
    ClientConfig,
    DeliverEventResult,
    Exchange,
    ExecuteJobResult,
    HttpSourceResult,
    IndexResult,
    IndexUnchanged,
    InitializeTriggerResult,
    NormalizedResponse,
    Pong,
    PreprocessRunResult,
    ProbeResult,
    RequestRecord,
    ValidateResult,
    WebhookDeliveryResult,
)

__all__ = ["MAX_REDIRECTS", "EndpointApiClient", "redirect_allowed"]

logger = logging.getLogger("endpointapi")

T = TypeVar("T")

MAX_REDIRECTS = 5
CROSS_ORIGIN_HINT = (
    "The API key is only sent to the origin the endpoint was registered with: register that URL instead."
)
RAW_PREVIEW_CHARS = 2000
#: ``raw`` of an error whose body is withheld (see ``EndpointApiClient._raw``).
WITHHELD_BODY = (
    "(body withheld: the answer came from a private address and is not a Trigger.dev endpoint's; "
    "an operator can read it in the console)"
)
EXCHANGE_HEADER_CHARS = 500
#: The SDK's answer to an action it does not know (end of its switch statement).
SDK_UNKNOWN_ACTION_MESSAGE = "Method not allowed"


def redirect_allowed(registered_url: str, target_url: str) -> bool:
    """The key only goes to the registered origin: same scheme, host and port, or the upgrade of
    http on its default port (80) to https on its default port (443) of the same host. Anything
    else is another origin and is not followed."""
    try:
        registered, target = guard.parse_url(registered_url), guard.parse_url(target_url)
    except guard.InvalidUrl:
        return False
    if registered.origin == target.origin:
        return True
    return registered.origin == ("http", target.host, 80) and target.origin == ("https", registered.host, 443)


def _json_header(value: Any) -> str:
    # ASCII-only so the value is a valid header; JSON.parse() on the SDK side undoes the escapes.
    return json.dumps(value, separators=(",", ":"))


def _header_value(value: str) -> str | bytes:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode_json(body: bytes) -> Any:
    """JSON.parse semantics: NaN/Infinity are not JSON. Raises ValueError.

    orjson decodes a 300 KB index document in half the standard library's time. What it refuses
    (lone surrogates, numbers beyond a double, UTF-16 bodies, nesting past 1024) the standard
    library decodes or refuses as before; integers past 64 bits become floats, as in JSON.parse."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body, parse_constant=_reject_constant)


def _preview(body: bytes) -> str:
    return body[: RAW_PREVIEW_CHARS * 4].decode("utf-8", errors="replace")[:RAW_PREVIEW_CHARS]


def _zod_error_message(issues: list[Issue]) -> str:
    """``ZodError.message``: the issue list as indented JSON."""
    return json.dumps([issue.to_json() for issue in issues], indent=2, ensure_ascii=False)


def _versions(response: transport.RawResponse) -> tuple[str | None, str | None]:
    return (
        response.headers.get("trigger-version") or None,
        response.headers.get("trigger-sdk-version") or None,
    )


def _withheld(response: transport.RawResponse) -> bool:
    if response.headers.get("trigger-version"):
        return False
    if guard.classify(ipaddress.ip_address(response.address)) is None:
        return False  # a public address: anyone could read it anyway
    try:
        _decode_json(response.body)
    except (ValueError, RecursionError):
        return True
    return False


def _platform_timeout(response: transport.RawResponse) -> bool:
    """Answers of a serverless platform that killed the function (§5.8)."""
    status, headers = response.status_code, response.headers
    if status in (408, 504) or headers.get("x-vercel-error") == "FUNCTION_INVOCATION_TIMEOUT":
        return True  # Vercel
    if status == 502 and b"TIME_LIMIT" in response.body:
        return True  # Deno Deploy
    return status == 503 and b"Worker exceeded resource limits" in response.body and "cf-ray" in headers


class EndpointApiClient:
    """Talks to one endpoint. Thread-safe; cheap to create (the HTTP session is shared per process)."""

    def __init__(
        self,
        *,
        url: str,
        api_key: str,
        config: ClientConfig | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self._api_key = api_key
        self.config = config or ClientConfig()
        self._session = session

    def __repr__(self) -> str:
        return f"EndpointApiClient(url={transport.sanitize_url(self.url)!r})"

    # -- actions the endpoints service uses ---------------------------------------------------------

    def ping(self, endpoint_id: str) -> Pong:
        """PING: liveness and identity. ``{"ok": false, "error"}`` answers come back as ``Pong(ok=False)``."""

        def handle(response: transport.RawResponse) -> Pong:
            self._check_status(Action.PING, response)
            pong = self._parse_small(Action.PING, response, schemas.PongResponse)
            version, sdk_version = _versions(response)
            return Pong(
                ok=pong.ok,
                error=getattr(pong, "error", None),
                trigger_version=version or pong.trigger_version,
                trigger_sdk_version=sdk_version or pong.trigger_sdk_version,
            )

        return self._call(Action.PING, handle, headers={"x-trigger-endpoint-id": _header_value(endpoint_id)})

    def validate(self) -> ValidateResult:
        """VALIDATE: like PING, but learns the endpoint id (SDK >= 2.0.4)."""

        def handle(response: transport.RawResponse) -> ValidateResult:
            self._check_status(Action.VALIDATE, response)
            answer = self._parse_small(Action.VALIDATE, response, schemas.ValidateResponse)
            version, sdk_version = _versions(response)
            return ValidateResult(
                ok=answer.ok,
                endpoint_id=getattr(answer, "endpoint_id", None),
                error=getattr(answer, "error", None),
                trigger_version=version or answer.trigger_version,
                trigger_sdk_version=sdk_version,
            )

        return self._call(Action.VALIDATE, handle)

    def index_endpoint(self) -> IndexResult:
        """INDEX_ENDPOINT. Same-origin redirects are followed like for every action; the result's
        ``url`` is where the document was found, for the caller to store (§5.4)."""
        result = self._index(known_body_hash=None)
        assert isinstance(result, IndexResult)  # nothing to compare the body with
        return result

    def index_endpoint_unless(self, body_hash: str) -> IndexResult | IndexUnchanged:
        """INDEX_ENDPOINT, unless the endpoint answers 2xx with the very bytes whose SHA-256 is
        ``body_hash`` (a body validated before): then :class:`IndexUnchanged`, without decoding or
        validating anything. Any other answer is handled exactly like :meth:`index_endpoint`."""
        return self._index(known_body_hash=body_hash)

    def _index(self, *, known_body_hash: str | None) -> IndexResult | IndexUnchanged:
        def handle(response: transport.RawResponse) -> IndexResult | IndexUnchanged:
            self._check_status(Action.INDEX_ENDPOINT, response)
            body_hash = hashlib.sha256(response.body).hexdigest()
            version, sdk_version = _versions(response)
            if body_hash == known_body_hash:
                return IndexUnchanged(
                    body_hash=body_hash,
                    trigger_version=version,
                    trigger_sdk_version=sdk_version,
                    duration=response.duration,
                    url=response.url,
                )
            body = self._json(Action.INDEX_ENDPOINT, response)
            document, issues = schemas.parse(schemas.IndexDocument, body)
            if document is None:
                raise InvalidIndexDocument.from_issues(
                    issues, body, action=Action.INDEX_ENDPOINT, url=self.url, status_code=response.status_code
                )
            return IndexResult(
                document=document,
                trigger_version=version,
                trigger_sdk_version=sdk_version,
                duration=response.duration,
                body_hash=body_hash,
                body=response.body,
                url=response.url,
            )

        return self._call(Action.INDEX_ENDPOINT, handle, read_timeout=self.config.index_read_timeout)

    def probe_execution_timeout(self, timeout_ms: int = 120_000) -> ProbeResult:
        """PROBE_EXECUTION_TIMEOUT: the SDK sleeps ``timeout_ms`` then answers; a platform that kills
        the function first answers with its own signature, reported as ``platform_timeout=True``."""

        def handle(response: transport.RawResponse) -> ProbeResult:
            duration_ms = int(response.duration * 1000)
            version, sdk_version = _versions(response)
            if 200 <= response.status_code < 300 or _platform_timeout(response):
                ok = 200 <= response.status_code < 300
                return ProbeResult(
                    status_code=response.status_code,
                    duration_ms=duration_ms,
                    ok=ok,
                    platform_timeout=not ok,
                    trigger_version=version,
                    trigger_sdk_version=sdk_version,
                )
            self._check_status(Action.PROBE_EXECUTION_TIMEOUT, response)
            raise AssertionError("unreachable")  # _check_status raises for every non-2xx status

        return self._call(
            Action.PROBE_EXECUTION_TIMEOUT,
            handle,
            json_body={"timeout": timeout_ms},
            read_timeout=timeout_ms / 1000 + self.config.read_timeout,
        )

    # -- actions other services use -----------------------------------------------------------------

    def execute_job(self, body: dict[str, Any]) -> ExecuteJobResult:
        """EXECUTE_JOB with a RunJobBody; the answer's ``status`` is checked, the rest is kept as sent."""

        def handle(response: transport.RawResponse) -> ExecuteJobResult:
            self._check_status(Action.EXECUTE_JOB, response)
            data = self._json(Action.EXECUTE_JOB, response)  # kept whole: the runs service reads it
            head = self._validate(Action.EXECUTE_JOB, response, schemas.RunJobResponseHead, data)
            version, sdk_version = _versions(response)
            return ExecuteJobResult(
                status=head.status,
                body=data,
                run_metadata=self._run_metadata(response),
                trigger_version=version,
                trigger_sdk_version=sdk_version,
                duration=response.duration,
            )

        return self._call(Action.EXECUTE_JOB, handle, json_body=body)

    def preprocess_run(self, body: dict[str, Any]) -> PreprocessRunResult:
        """PREPROCESS_RUN (only v2.0/2.1 servers sent it)."""

        def handle(response: transport.RawResponse) -> PreprocessRunResult:
            answer = self._answer(Action.PREPROCESS_RUN, response, schemas.PreprocessRunResponse)
            version, sdk_version = _versions(response)
            properties = None if answer.properties is None else [p.to_wire() for p in answer.properties]
            return PreprocessRunResult(
                abort=answer.abort,
                properties=properties,
                trigger_version=version,
                trigger_sdk_version=sdk_version,
            )

        return self._call(Action.PREPROCESS_RUN, handle, json_body=body)

    def initialize_trigger(
        self, *, id: str, params: Any, account_id: str | None = None, metadata: Any = None
    ) -> InitializeTriggerResult:
        """INITIALIZE_TRIGGER: the rule and source of a dynamic trigger for ``params``."""
        body: dict[str, Any] = {"id": id, "params": params}
        if account_id is not None:
            body["accountId"] = account_id
        if metadata is not None:
            body["metadata"] = metadata

        def handle(response: transport.RawResponse) -> InitializeTriggerResult:
            answer = self._answer(Action.INITIALIZE_TRIGGER, response, schemas.RegisterTriggerBody)
            version, sdk_version = _versions(response)
            return InitializeTriggerResult(
                rule=answer.rule.to_wire(),
                source=answer.source.to_wire(),
                account_id=answer.account_id,
                trigger_version=version,
                trigger_sdk_version=sdk_version,
            )

        return self._call(Action.INITIALIZE_TRIGGER, handle, json_body=body)

    def deliver_http_source_request(
        self,
        *,
        key: str,
        secret: str,
        params: Any,
        data: Any,
        url: str,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        dynamic_id: str | None = None,
        auth: Mapping[str, Any] | None = None,
        metadata: Any = None,
    ) -> HttpSourceResult:
        """DELIVER_HTTP_SOURCE_REQUEST: hand a received webhook to the source's handler."""
        extra: dict[str, str | bytes] = {
            "x-ts-key": _header_value(key),
            "x-ts-secret": _header_value(secret),
            "x-ts-params": _json_header({} if params is None else params),
            "x-ts-data": _json_header({} if data is None else data),
            "x-ts-http-url": _header_value(url),
            "x-ts-http-method": _header_value(method),
            "x-ts-http-headers": _json_header(dict(headers)),
        }
        if auth is not None:
            extra["x-ts-auth"] = _json_header(dict(auth))
        if dynamic_id:
            extra["x-ts-dynamic-id"] = _header_value(dynamic_id)
        if metadata is not None:
            extra["x-ts-metadata"] = _json_header(metadata)

        def handle(response: transport.RawResponse) -> HttpSourceResult:
            answer = self._answer(Action.DELIVER_HTTP_SOURCE_REQUEST, response, schemas.HttpSourceResponse)
            version, sdk_version = _versions(response)
            return HttpSourceResult(
                events=[event.to_wire() for event in answer.events],
                response=self._normalized(answer.response, response),
                metadata=answer.metadata,
                trigger_version=version,
                trigger_sdk_version=sdk_version,
            )

        return self._call(Action.DELIVER_HTTP_SOURCE_REQUEST, handle, headers=extra, raw_body=body)

    def deliver_http_endpoint_request_for_response(
        self, *, key: str, url: str, method: str, headers: Mapping[str, str], body: bytes
    ) -> NormalizedResponse:
        """DELIVER_HTTP_ENDPOINT_REQUEST_FOR_RESPONSE: how should an HTTP endpoint call be answered?"""
        extra: dict[str, str | bytes] = {
            "x-ts-key": _header_value(key),
            "x-ts-http-url": _header_value(url),
            "x-ts-http-method": _header_value(method),
            "x-ts-http-headers": _json_header(dict(headers)),
        }

        def handle(response: transport.RawResponse) -> NormalizedResponse:
            action = Action.DELIVER_HTTP_ENDPOINT_REQUEST_FOR_RESPONSE
            answer = self._answer(action, response, schemas.NormalizedResponseModel)
            return self._normalized(answer, response)

        return self._call(Action.DELIVER_HTTP_ENDPOINT_REQUEST_FOR_RESPONSE, handle, headers=extra, raw_body=body)

    def deliver_webhook_request(
        self,
        *,
        key: str,
        secret: str,
        params: Any,
        url: str,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        dynamic_id: str | None = None,
    ) -> WebhookDeliveryResult:
        """DELIVER_WEBHOOK_REQUEST: let the endpoint verify a webhook and generate its events."""
        extra: dict[str, str | bytes] = {
            "x-ts-key": _header_value(key),
            "x-ts-secret": _header_value(secret),
            "x-ts-params": _json_header({} if params is None else params),
            "x-ts-http-url": _header_value(url),
            "x-ts-http-method": _header_value(method),
            "x-ts-http-headers": _json_header(dict(headers)),
        }
        if dynamic_id:
            extra["x-ts-dynamic-id"] = _header_value(dynamic_id)

        def handle(response: transport.RawResponse) -> WebhookDeliveryResult:
            answer = self._answer(Action.DELIVER_WEBHOOK_REQUEST, response, schemas.WebhookDeliveryResponse)
            version, sdk_version = _versions(response)
            return WebhookDeliveryResult(
                response=self._normalized(answer.response, response),
                verified=answer.verified,
                error=answer.error,
                trigger_version=version,
                trigger_sdk_version=sdk_version,
            )

        return self._call(Action.DELIVER_WEBHOOK_REQUEST, handle, headers=extra, raw_body=body)

    def run_notification(self, body: dict[str, Any]) -> None:
        """RUN_NOTIFICATION: tell the endpoint a run finished (its answer body is not used)."""

        def handle(response: transport.RawResponse) -> None:
            self._check_status(Action.RUN_NOTIFICATION, response)

        self._call(Action.RUN_NOTIFICATION, handle, json_body=body)

    def deliver_event(self, event: dict[str, Any]) -> DeliverEventResult:
        """DELIVER_EVENT: no released 2.x SDK handles it, so this raises :class:`ActionNotSupported`
        against real endpoints; kept for completeness of the protocol."""

        def handle(response: transport.RawResponse) -> DeliverEventResult:
            self._check_status(Action.DELIVER_EVENT, response)
            data = self._json(Action.DELIVER_EVENT, response)
            version, sdk_version = _versions(response)
            return DeliverEventResult(body=data, trigger_version=version, trigger_sdk_version=sdk_version)

        return self._call(Action.DELIVER_EVENT, handle, json_body=event)

    # -- request loop -------------------------------------------------------------------------------

    def _call(
        self,
        action: Action,
        handle: Callable[[transport.RawResponse], T],
        *,
        headers: Mapping[str, str | bytes] | None = None,
        json_body: Any = None,
        raw_body: bytes | None = None,
        read_timeout: float | None = None,
    ) -> T:
        request_headers: dict[str, str | bytes] = {
            "x-trigger-api-key": _header_value(self._api_key),
            "x-trigger-action": action.value,
            "x-trigger-version": self.config.api_version,
            "user-agent": self.config.user_agent,
            "accept": "application/json",
        }
        body: bytes | None = None
        if json_body is not None:
            request_headers["content-type"] = "application/json"
            body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        elif raw_body is not None:
            request_headers["content-type"] = "application/octet-stream"
            body = bytes(raw_body)
        request_headers.update(headers or {})

        attempts = 1 + (self.config.retries if action in SAFE_ACTIONS else 0)
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(
                    action,
                    handle,
                    request_headers,
                    body,
                    read_timeout=read_timeout or self.config.read_timeout,
                    attempt=attempt,
                )
            except EndpointConnectionError as exc:
                # Only fast failures (refused, reset) are retried here: retrying a timeout would
                # double the wait of a request handler; the worker retries indexes with a backoff.
                if not exc.retryable or attempt == attempts:
                    raise
                time.sleep(self.config.retry_backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _attempt(
        self,
        action: Action,
        handle: Callable[[transport.RawResponse], T],
        headers: dict[str, str | bytes],
        body: bytes | None,
        *,
        read_timeout: float,
        attempt: int,
    ) -> T:
        url = self.url
        for hop in range(MAX_REDIRECTS + 1):
            started = time.perf_counter()
            try:
                response = transport.send(
                    self._session or transport.shared_session(),
                    url,
                    action=action.value,
                    endpoint_url=self.url,
                    policy=self.config.address_policy,
                    headers=headers,
                    body=body,
                    connect_timeout=self.config.connect_timeout,
                    read_timeout=read_timeout,
                    max_bytes=self.config.max_response_bytes,
                )
            except EndpointApiError as exc:
                elapsed = time.perf_counter() - started
                self._record(action, exc.code, exc.status_code, elapsed, url, attempt)
                self._with_exchange(exc, action, url, headers, body, None, elapsed)
                raise
            if 300 <= response.status_code < 400:
                redirect = self._redirect(action, response, url, hop)
                self._record(action, EndpointRedirect.code, response.status_code, response.duration, url, attempt)
                if isinstance(redirect, EndpointRedirect):
                    raise self._with_exchange(redirect, action, url, headers, body, response, response.duration)
                url = redirect
                continue
            try:
                result = handle(response)
            except EndpointApiError as exc:
                self._record(action, exc.code, response.status_code, response.duration, url, attempt)
                self._with_exchange(exc, action, url, headers, body, response, response.duration)
                raise
            self._record(action, "ok", response.status_code, response.duration, url, attempt)
            return result
        raise AssertionError("unreachable")  # _redirect() stops after MAX_REDIRECTS hops

    def _redirect(
        self, action: Action, response: transport.RawResponse, url: str, hop: int
    ) -> str | EndpointRedirect:
        """The next URL to POST to, or the error to raise (at most MAX_REDIRECTS hops).

        Followed redirects keep the POST and its body (the endpoint protocol has no GET). The key
        only ever goes to the origin the endpoint was registered with (:func:`redirect_allowed`);
        any other origin ends the call with an error naming the target. Each hop is checked by the
        guard like the first request (a same-origin hop may still resolve elsewhere).
        """
        location = response.headers.get("location")
        context: dict[str, Any] = {
            "action": action.value,
            "url": self.url,
            "status_code": response.status_code,
            "location": location,
        }
        if location is None:
            return EndpointRedirectWithoutLocation(
                f"Endpoint {self.url} is redirecting but no location header is present", **context
            )
        target = urljoin(url, location)  # a relative Location is resolved against the current URL
        if not redirect_allowed(self.url, target):
            return EndpointRedirect(
                f"Endpoint {self.url} is redirecting to {transport.sanitize_url(target)}, another origin",
                hint=CROSS_ORIGIN_HINT,
                **context,
            )
        if hop >= MAX_REDIRECTS:
            return EndpointRedirectLoop(f"Endpoint {self.url} is redirecting too many times", **context)
        return target

    def _with_exchange(
        self,
        error: EndpointApiError,
        action: Action,
        url: str,
        headers: Mapping[str, str | bytes],
        body: bytes | None,
        response: transport.RawResponse | None,
        duration: float,
    ) -> EndpointApiError:
        """Attach the exchange to the error (bounded, key masked) so callers can show and store it."""
        if error.exchange is None:
            error.exchange = Exchange(
                action=action.value,
                method="POST",
                url=transport.sanitize_url(url),
                request_headers={name: self._masked_header(name, value) for name, value in headers.items()},
                request_body=self._preview(body) if body else None,
                status_code=response.status_code if response is not None else None,
                response_headers=(
                    {name: value[:EXCHANGE_HEADER_CHARS] for name, value in list(response.headers.items())[:40]}
                    if response is not None
                    else {}
                ),
                response_body=self._preview(response.body) if response is not None else None,
                duration_ms=round(duration * 1000),
                error=error.message if response is None else None,
            )
        return error

    def _masked_header(self, name: str, value: str | bytes) -> str:
        text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
        if name.lower() == "x-trigger-api-key":
            prefix = text.rsplit("_", 1)[0] + "_" if "_" in text else ""
            return f"{prefix}…{text[-4:]}"
        return self._redact(text)[:EXCHANGE_HEADER_CHARS]

    def _record(
        self, action: Action, outcome: str, status_code: int | None, duration: float, url: str, attempt: int
    ) -> None:
        logger.log(
            logging.INFO if outcome == "ok" else logging.WARNING,
            "endpointapi.request",
            extra={
                "action": action.value,
                "outcome": outcome,
                "status_code": status_code,
                "duration_ms": round(duration * 1000),
                "url": transport.sanitize_url(url),
                "attempt": attempt,
            },
        )
        callback = self.config.on_request
        if callback is None:
            return
        try:
            callback(RequestRecord(action=action.value, outcome=outcome, status_code=status_code, duration=duration))
        except Exception:
            logger.warning("endpointapi.on_request_failed", exc_info=True, extra={"action": action.value})

    # -- response helpers ---------------------------------------------------------------------------

    def _check_status(self, action: Action, response: transport.RawResponse) -> None:
        """Raise for anything but 2xx, with the v2 server's messages."""
        status = response.status_code
        if 200 <= status < 300:
            return
        context: dict[str, Any] = {
            "action": action.value,
            "url": self.url,
            "status_code": status,
            "raw": self._raw(response),
        }
        body_message = self._error_message(response)
        if status == 401:
            raise EndpointUnauthorized(body_message or UNAUTHORIZED_MESSAGE, **context)
        if status == 405 and body_message == SDK_UNKNOWN_ACTION_MESSAGE:
            raise ActionNotSupported(
                f"The endpoint's SDK does not support {action.value} (endpoint {self.url} answered 405)",
                **context,
            )
        raise EndpointHTTPError(
            f"Could not connect to endpoint {self.url}. Status code: {status}",
            body_message=body_message,
            **context,
        )

    def _redact(self, text: str) -> str:
        """An endpoint may echo request headers back (debug error pages): keep the key out of errors."""
        return text.replace(self._api_key, "[redacted]") if self._api_key else text

    def _preview(self, body: bytes) -> str:
        return self._redact(_preview(body))

    def _raw(self, response: transport.RawResponse) -> str | None:
        """The body for an error's ``raw`` (shown to the endpoint's owner), unless the answer came
        from a non-public address and is not a Trigger.dev endpoint's (no ``trigger-version``
        header, not JSON): then it could be another internal service's, which the owner must not
        read through Kongflow. The exchange (operators only) keeps it."""
        if _withheld(response):
            return WITHHELD_BODY
        return self._preview(response.body) or None

    def _error_message(self, response: transport.RawResponse) -> str | None:
        """``message`` of an ``ErrorWithStackSchema`` body, if the body is one."""
        try:
            data = _decode_json(response.body)
        except ValueError:
            return None
        error, _ = schemas.parse(schemas.ErrorWithStack, data)
        return self._redact(error.message) if error is not None else None

    def _json(self, action: Action, response: transport.RawResponse) -> Any:
        """Decode the body as JSON whatever the content type (Next.js sends none)."""
        try:
            return _decode_json(response.body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python can decode
            raise InvalidJSON(
                action=action.value,
                url=self.url,
                status_code=response.status_code,
                raw=self._raw(response),
            ) from None

    def _answer(self, action: Action, response: transport.RawResponse, schema: type[T]) -> T:
        """A 2xx answer, decoded and validated against ``schema``."""
        self._check_status(action, response)
        return self._validate(action, response, schema, self._json(action, response))

    def _parse_small(self, action: Action, response: transport.RawResponse, schema: Any) -> Any:
        """PING/VALIDATE: schema failures read ``Endpoint <url> responded with error: <zod message>``."""
        return self._validate(
            action,
            response,
            schema,
            self._json(action, response),
            message=lambda issues: f"Endpoint {self.url} responded with error: {_zod_error_message(issues)}",
        )

    def _validate(
        self,
        action: Action,
        response: transport.RawResponse,
        schema: type[T],
        data: Any,
        *,
        message: Callable[[list[Issue]], str] | None = None,
    ) -> T:
        value, issues = schemas.parse(schema, data)
        if value is None:
            raise InvalidEndpointResponse(
                message(issues)
                if message
                else f"Endpoint {self.url} sent an invalid {action.value} response: {format_issues(issues)}",
                issues=issues,
                action=action.value,
                url=self.url,
                status_code=response.status_code,
                raw=self._raw(response),
            )
        return value

    @staticmethod
    def _run_metadata(response: transport.RawResponse) -> dict[str, Any] | None:
        header = response.headers.get("x-trigger-run-metadata")
        if not header:
            return None
        try:
            data = _decode_json(header.encode("utf-8", errors="replace"))
        except ValueError:
            return None
        metadata, _ = schemas.parse(schemas.ExecuteJobRunMetadata, data)
        return metadata.to_wire() if metadata is not None else None

    @staticmethod
    def _normalized(answer: schemas.NormalizedResponseModel, response: transport.RawResponse) -> NormalizedResponse:
        version, sdk_version = _versions(response)
        return NormalizedResponse(
            status=answer.status,
            body=answer.body,
            headers=answer.headers,
            trigger_version=version,
            trigger_sdk_version=sdk_version,
        )
