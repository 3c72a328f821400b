"""pydantic v2 models of what endpoints send back, mirroring the zod schemas of ``@trigger.dev/core``.

Parsing follows zod's semantics, because ``EndpointIndex.data`` and the error texts users see were
produced by zod in the original server:

* unknown keys are dropped (``extra="ignore"``), never rejected;
* types are strict (``"true"`` is not a boolean, ``1`` is not a string) and an optional key may be
  absent but not ``null``, except where zod says ``any``;
* ``JobMetadata.internal`` defaults to ``false``, a source without ``version`` is version ``"1"``;
* validation problems become :class:`~endpointapi.errors.Issue` objects with zod's paths and messages
  (``Required``, ``Expected string, received number``, ``Number must be greater than or equal to 20``...).

Event filters, request filters, ``params``, ``metadata``, ``schema`` and payloads are opaque JSON here:
matching them is the event-dispatch service's job.
"""

from __future__ import annotations

import dataclasses
import json
import types
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    GetCoreSchemaHandler,
    PlainValidator,
    Strict,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError, core_schema

from endpointapi.errors import Issue

__all__ = [
    "ConcurrencyLimitOptions",
    "CronSchedule",
    "DisplayProperty",
    "DynamicScheduleMetadata",
    "DynamicTrigger",
    "DynamicTriggerMetadata",
    "ErrorWithStack",
    "EventExample",
    "EventRule",
    "EventSpecification",
    "ExecuteJobRunMetadata",
    "HttpEndpointMetadata",
    "HttpSourceResponse",
    "IndexDocument",
    "IntegrationConfig",
    "IntegrationMetadata",
    "IntervalSchedule",
    "InvokeTrigger",
    "JobMetadata",
    "JobRef",
    "NormalizedResponseModel",
    "PongError",
    "PongOk",
    "PongResponse",
    "PreprocessRunResponse",
    "RawEvent",
    "RegisterTriggerBody",
    "RunJobResponseHead",
    "ScheduledTrigger",
    "SourceMetadataV1",
    "SourceMetadataV2",
    "StaticTrigger",
    "ValidateError",
    "ValidateOk",
    "ValidateResponse",
    "WebhookDeliveryResponse",
    "WebhookMetadata",
    "issues_from_error",
    "parse",
    "zod_type",
]

M = TypeVar("M")

# -- zod-like primitives ----------------------------------------------------------------------------


def zod_type(value: Any) -> str:
    """zod's ``getParsedType`` name for a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "nan" if value != value else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def _invalid_type(expected: str, value: Any) -> PydanticCustomError:
    received = zod_type(value)
    return PydanticCustomError(
        "invalid_type",
        "Expected {expected}, received {received}",
        {"expected": expected, "received": received},
    )


def _check_number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid_type("number", value)
    return value


def _check_int(value: Any) -> int:
    number = _check_number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise PydanticCustomError(
                "invalid_type",
                "Expected integer, received float",
                {"expected": "integer", "received": "float"},
            )
        number = int(number)
    return number


def _too_small(minimum: int, inclusive: bool) -> PydanticCustomError:
    words = "greater than or equal to" if inclusive else "greater than"
    return PydanticCustomError(
        "too_small",
        "Number must be {words} {minimum}",
        {"words": words, "minimum": minimum, "type": "number", "inclusive": inclusive},
    )


def _check_positive_int(value: Any) -> int:
    number = _check_int(value)
    if number <= 0:
        raise _too_small(0, inclusive=False)
    return number


INTERVAL_MIN_SECONDS = 20
INTERVAL_MAX_SECONDS = 2_592_000


def _check_interval_seconds(value: Any) -> int:
    """``z.number().int().positive().min(20).max(2_592_000)`` (the first failing check is reported)."""
    number = _check_positive_int(value)
    if number < INTERVAL_MIN_SECONDS:
        raise _too_small(INTERVAL_MIN_SECONDS, inclusive=True)
    if number > INTERVAL_MAX_SECONDS:
        raise PydanticCustomError(
            "too_big",
            "Number must be less than or equal to {maximum}",
            {"maximum": INTERVAL_MAX_SECONDS, "type": "number", "inclusive": True},
        )
    return number


@dataclasses.dataclass(frozen=True, slots=True)
class Check(PlainValidator):
    """A ``PlainValidator`` whose check returns its input unchanged (or, for integers, as ``int``),
    serialized as ``serialize_as`` by pydantic-core itself.

    ``PlainValidator`` wraps the source type's serializer in a Python function called for every
    value; for a 500-job document that made ``to_wire()`` cost as much as its validation."""

    serialize_as: core_schema.ExpectedSerializationTypes = "any"

    def __get_pydantic_core_schema__(self, source_type: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.func,  # type: ignore[arg-type]  # the checks here take the value alone
            serialization=core_schema.simple_ser_schema(self.serialize_as),
        )


def _enum(*options: str) -> Check:
    joined = " | ".join(f"'{option}'" for option in options)

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise _invalid_type(joined, value)
        if value not in options:
            raise PydanticCustomError(
                "invalid_enum_value",
                "Invalid enum value. Expected {expected}, received '{received}'",
                {"expected": joined, "received": value, "options": list(options)},
            )
        return value

    check.zod_expected = joined  # type: ignore[attr-defined]  # read by _zod_expected()
    return Check(check, serialize_as="str")


def _not_null(expected: str) -> BeforeValidator:
    """zod's ``.optional()`` allows an absent key but not ``null`` (``expected="union"``: a plain union)."""

    def check(value: Any) -> Any:
        if value is None:
            if expected == "union":
                raise PydanticCustomError("invalid_union", "Invalid input")
            raise _invalid_type(expected, value)
        return value

    return BeforeValidator(check)


def _is_refinement(error: Any) -> bool:
    """A failed zod *check* (the value had the right type): zod calls that result "dirty"."""
    ctx = error.get("ctx") or {}
    return error["type"] in ("too_small", "too_big") or ctx.get("expected") == "integer"


def _union_invalid_input(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """zod reports a failed (non-discriminated) union as one ``Invalid input`` issue, unless a member
    matched the type and only failed a check (e.g. ``0`` for ``.positive()``): then that check's issue."""
    try:
        return handler(value)
    except ValidationError as exc:
        dirty = next((error for error in exc.errors() if _is_refinement(error)), None)
        if dirty is not None:
            raise PydanticCustomError(dirty["type"], dirty["msg"], dirty.get("ctx")) from None
        raise PydanticCustomError("invalid_union", "Invalid input") from None


def _discriminated(key: str, *tags: str | bool) -> Discriminator:
    """A discriminated union with zod's error (``Invalid discriminator value. Expected 'a' | 'b'``).

    Tags are pydantic ``Tag`` names, so booleans (``ok: true|false``) are mapped to "true"/"false".
    """
    rendered = " | ".join(f"'{tag}'" if isinstance(tag, str) else str(tag).lower() for tag in tags)

    def tag_of(value: Any) -> str | None:
        if isinstance(value, BaseModel):  # serialisation
            raw = getattr(value, key, None)
        elif isinstance(value, dict):
            raw = value.get(key)
        else:
            # Let the first member report "Expected object, received ..." like zod does.
            first = tags[0]
            return first if isinstance(first, str) else str(first).lower()
        for tag in tags:
            if type(raw) is type(tag) and raw == tag:
                return tag if isinstance(tag, str) else str(tag).lower()
        return None

    return Discriminator(
        tag_of,
        custom_error_type="invalid_union_discriminator",
        custom_error_message=f"Invalid discriminator value. Expected {rendered}",
        custom_error_context={"discriminator": key, "options": json.dumps(list(tags))},
    )


#: Strict, so validated by pydantic-core itself (no Python call per value); its ``string_type`` and
#: ``bool_type`` errors become zod's ``invalid_type`` issues (:func:`issues_from_error`).
ZStr = Annotated[str, Strict()]
ZBool = Annotated[bool, Strict()]
ZNumber = Annotated[int | float, Check(_check_number)]
ZPositiveInt = Annotated[int, Check(_check_positive_int, serialize_as="int")]
OptStr = Annotated[ZStr | None, _not_null("string")]
OptBool = Annotated[ZBool | None, _not_null("boolean")]
StrOrStrList = Annotated[ZStr | list[ZStr], WrapValidator(_union_invalid_input)]
#: EventFilter / RequestFilter: zod records, kept as opaque JSON objects.
JsonObject = dict[str, Any]
OptJsonObject = Annotated[JsonObject | None, _not_null("object")]


class WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown keys dropped."""

    model_config = ConfigDict(
        extra="ignore", alias_generator=to_camel, populate_by_name=True, frozen=True, protected_namespaces=()
    )

    def to_wire(self) -> dict[str, Any]:
        """JSON-able dict as zod would return it: camelCase, keys absent when they were absent."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# -- shared pieces ----------------------------------------------------------------------------------


class DisplayProperty(WireModel):
    label: ZStr
    text: ZStr
    url: OptStr = None
    image_url: Annotated[list[ZStr] | None, _not_null("array")] = None


OptProperties = Annotated[list[DisplayProperty] | None, _not_null("array")]


class EventExample(WireModel):
    id: ZStr
    icon: OptStr = None
    name: ZStr
    payload: Any = None


class EventSpecification(WireModel):
    name: StrOrStrList
    title: ZStr
    source: ZStr
    icon: ZStr
    filter: OptJsonObject = None
    properties: OptProperties = None
    schema_: Any = Field(default=None, alias="schema")
    examples: Annotated[list[EventExample] | None, _not_null("array")] = None


class EventRule(WireModel):
    event: StrOrStrList
    source: ZStr
    payload: OptJsonObject = None
    context: OptJsonObject = None


class IntegrationMetadata(WireModel):
    id: ZStr
    name: ZStr
    instructions: OptStr = None


class IntegrationConfig(WireModel):
    id: ZStr
    metadata: IntegrationMetadata
    auth_source: Annotated[Literal["HOSTED", "LOCAL", "RESOLVER"], _enum("HOSTED", "LOCAL", "RESOLVER")]


class JobRef(WireModel):
    id: ZStr
    version: ZStr


OptJobRef = Annotated[JobRef | None, _not_null("object")]


# -- triggers ---------------------------------------------------------------------------------------


class TriggerHelpNoRuns(WireModel):
    text: ZStr
    link: OptStr = None


class TriggerHelp(WireModel):
    no_runs: Annotated[TriggerHelpNoRuns | None, _not_null("object")] = None


class DynamicTrigger(WireModel):
    type: Literal["dynamic"]
    id: ZStr


class StaticTrigger(WireModel):
    type: Literal["static"]
    title: StrOrStrList
    properties: OptProperties = None
    rule: EventRule
    link: OptStr = None
    help: Annotated[TriggerHelp | None, _not_null("object")] = None


class IntervalOptions(WireModel):
    seconds: Annotated[int, Check(_check_interval_seconds, serialize_as="int")]


class CronOptions(WireModel):
    cron: ZStr


class IntervalSchedule(WireModel):
    type: Literal["interval"]
    options: IntervalOptions
    account_id: OptStr = None
    metadata: Any = None


class CronSchedule(WireModel):
    type: Literal["cron"]
    options: CronOptions
    account_id: OptStr = None
    metadata: Any = None


Schedule = Annotated[
    Annotated[IntervalSchedule, Tag("interval")] | Annotated[CronSchedule, Tag("cron")],
    _discriminated("type", "interval", "cron"),
]


class ScheduledTrigger(WireModel):
    type: Literal["scheduled"]
    schedule: Schedule


class InvokeTrigger(WireModel):
    type: Literal["invoke"]


Trigger = Annotated[
    Annotated[DynamicTrigger, Tag("dynamic")]
    | Annotated[StaticTrigger, Tag("static")]
    | Annotated[ScheduledTrigger, Tag("scheduled")]
    | Annotated[InvokeTrigger, Tag("invoke")],
    _discriminated("type", "dynamic", "static", "scheduled", "invoke"),
]


# -- jobs -------------------------------------------------------------------------------------------


class ConcurrencyLimitOptions(WireModel):
    id: ZStr
    limit: ZNumber


ConcurrencyLimit = Annotated[ConcurrencyLimitOptions | ZPositiveInt, WrapValidator(_union_invalid_input)]


class JobMetadata(WireModel):
    id: ZStr
    name: ZStr
    version: ZStr
    event: EventSpecification
    trigger: Trigger
    integrations: dict[str, IntegrationConfig]
    internal: ZBool = False
    enabled: ZBool
    start_position: Annotated[Literal["initial", "latest"], _enum("initial", "latest")]
    preprocess_runs: ZBool
    concurrency_limit: Annotated[ConcurrencyLimit | None, _not_null("union")] = None

    @model_validator(mode="before")
    @classmethod
    def _default_internal(cls, data: Any) -> Any:
        # zod's .default(false) puts the key in the output; marking it "set" keeps it in to_wire().
        if isinstance(data, dict) and "internal" not in data:
            return {**data, "internal": False}
        return data


# -- sources, webhooks, dynamic triggers/schedules, http endpoints ----------------------------------

_CHANNEL = _enum("HTTP", "SQS", "SMTP")
Channel = Annotated[Literal["HTTP", "SQS", "SMTP"], _CHANNEL]


class SourceMetadataV1(WireModel):
    version: Literal["1"]
    channel: Channel
    integration: IntegrationConfig
    key: ZStr
    params: Any = None
    events: list[ZStr]
    register_source_job: OptJobRef = None


class SourceMetadataV2(WireModel):
    version: Literal["2"]
    channel: Channel
    integration: IntegrationConfig
    key: ZStr
    params: Any = None
    options: dict[str, list[ZStr]]
    register_source_job: OptJobRef = None


def _add_missing_version(value: Any) -> Any:
    """``addMissingVersionField``: SDK 2.0.x sources carry no ``version``."""
    if isinstance(value, dict) and "version" not in value:
        return {**value, "version": "1"}
    return value


SourceMetadata = Annotated[
    Annotated[SourceMetadataV1, Tag("1")] | Annotated[SourceMetadataV2, Tag("2")],
    _discriminated("version", "1", "2"),
    BeforeValidator(_add_missing_version),
]


class HttpEndpointRef(WireModel):
    id: ZStr


class WebhookMetadata(WireModel):
    key: ZStr
    params: Any = None
    config: dict[str, list[ZStr]]
    integration: IntegrationConfig
    http_endpoint: HttpEndpointRef


class DynamicTriggerMetadata(WireModel):
    id: ZStr
    jobs: list[JobRef]
    register_source_job: OptJobRef = None


class DynamicScheduleMetadata(WireModel):
    id: ZStr
    jobs: list[JobRef]


class HttpEndpointMetadata(WireModel):
    id: ZStr
    version: ZStr
    enabled: ZBool
    title: OptStr = None
    icon: OptStr = None
    properties: OptProperties = None
    event: EventSpecification
    immediate_response_filter: OptJsonObject = None
    skip_triggering_runs: OptBool = None
    source: ZStr


class IndexDocument(WireModel):
    """T23 ``IndexEndpointResponseSchema``: the union of every SDK 2.0 - 2.3 shape."""

    jobs: list[JobMetadata]
    sources: list[SourceMetadata]
    webhooks: list[WebhookMetadata]
    dynamic_triggers: list[DynamicTriggerMetadata]
    dynamic_schedules: list[DynamicScheduleMetadata]
    http_endpoints: list[HttpEndpointMetadata]

    @model_validator(mode="before")
    @classmethod
    def _default_optional_lists(cls, data: Any) -> Any:
        # Optional in the schema (SDK < 2.2.5 / 2.2.8); the stored index data always has both lists.
        if isinstance(data, dict):
            missing: dict[str, list[Any]] = {key: [] for key in ("webhooks", "httpEndpoints") if key not in data}
            if missing:
                return {**data, **missing}
        return data


# -- answers to the other actions -------------------------------------------------------------------


class ErrorWithStack(WireModel):
    message: ZStr
    name: OptStr = None
    stack: OptStr = None


class PongOk(WireModel):
    ok: Literal[True]
    trigger_version: OptStr = None
    trigger_sdk_version: OptStr = None


class PongError(WireModel):
    ok: Literal[False]
    error: ZStr
    trigger_version: OptStr = None
    trigger_sdk_version: OptStr = None


PongResponse = Annotated[
    Annotated[PongOk, Tag("true")] | Annotated[PongError, Tag("false")], _discriminated("ok", True, False)
]


class ValidateOk(WireModel):
    ok: Literal[True]
    endpoint_id: ZStr
    trigger_version: OptStr = None


class ValidateError(WireModel):
    ok: Literal[False]
    error: ZStr
    trigger_version: OptStr = None


ValidateResponse = Annotated[
    Annotated[ValidateOk, Tag("true")] | Annotated[ValidateError, Tag("false")],
    _discriminated("ok", True, False),
]


class PreprocessRunResponse(WireModel):
    abort: ZBool
    properties: OptProperties = None


class RegisterTriggerBody(WireModel):
    """INITIALIZE_TRIGGER answer; the source may be v1 or v2 (T23 only accepted v1, a latent bug)."""

    rule: EventRule
    source: SourceMetadata
    account_id: OptStr = None


class NormalizedResponseModel(WireModel):
    status: ZNumber
    body: Any = None
    headers: Annotated[dict[str, ZStr] | None, _not_null("object")] = None


class RawEvent(WireModel):
    name: ZStr
    payload: Any = None
    context: Any = None
    #: zod fills a ULID when absent; we leave it absent and let the events service assign one.
    id: OptStr = None
    timestamp: Any = None
    source: OptStr = None
    payload_type: Annotated[
        Annotated[Literal["JSON", "REQUEST"], _enum("JSON", "REQUEST")] | None,
        _not_null("'JSON' | 'REQUEST'"),
    ] = None


class HttpSourceResponse(WireModel):
    response: NormalizedResponseModel
    events: list[RawEvent]
    metadata: Any = None


class WebhookDeliveryResponse(WireModel):
    response: NormalizedResponseModel
    verified: ZBool
    error: OptStr = None


RUN_JOB_STATUSES = (
    "AUTO_YIELD_EXECUTION",
    "AUTO_YIELD_EXECUTION_WITH_COMPLETED_TASK",
    "YIELD_EXECUTION",
    "AUTO_YIELD_RATE_LIMIT",
    "ERROR",
    "UNRESOLVED_AUTH_ERROR",
    "INVALID_PAYLOAD",
    "RESUME_WITH_TASK",
    "RESUME_WITH_PARALLEL_TASK",
    "RETRY_WITH_TASK",
    "CANCELED",
    "SUCCESS",
)


class RunJobResponseHead(WireModel):
    """Only the discriminator is checked; the runs service interprets the rest of the body."""

    status: Annotated[str, _enum(*RUN_JOB_STATUSES)]


class ExecuteJobRunMetadata(WireModel):
    success_subscription: OptBool = None
    failed_subscription: OptBool = None


# -- validation entry point -------------------------------------------------------------------------

_ADAPTERS: dict[int, tuple[Any, TypeAdapter[Any]]] = {}


def _adapter(schema: Any) -> TypeAdapter[Any]:
    # Keyed by identity: annotated unions are not hashable. The schema is kept alive with its adapter.
    entry = _ADAPTERS.get(id(schema))
    if entry is None:
        entry = _ADAPTERS[id(schema)] = (schema, TypeAdapter(schema))
    return entry[1]


def parse(schema: type[M] | Any, data: Any) -> tuple[M | None, list[Issue]]:
    """Validate ``data`` (decoded JSON) against a model or annotated union.

    Returns ``(value, [])`` or ``(None, issues)`` with zod-style paths and messages.
    """
    try:
        return _adapter(schema).validate_python(data), []
    except ValidationError as exc:
        return None, issues_from_error(exc, data, schema)


def _clean_path(loc: tuple[str | int, ...], data: Any) -> tuple[str | int, ...]:
    """Drop pydantic's union-member tags from ``loc`` by walking the input alongside it."""
    path: list[str | int] = []
    node = data
    last = len(loc) - 1
    for position, segment in enumerate(loc):
        in_dict = isinstance(node, dict) and isinstance(segment, str) and segment in node
        in_list = isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node)
        if in_dict or in_list:
            path.append(segment)
            node = node[segment]
        elif position == last and isinstance(node, dict) and isinstance(segment, str):
            path.append(segment)  # a missing key
            node = None
        # anything else is a discriminated-union tag, not part of the data
    return tuple(path)


_STRICT_PRIMITIVES: dict[Any, str] = {str: "string", bool: "boolean"}
_EXPECTED_BY_ERROR = {
    "model_type": "object",
    "model_attributes_type": "object",
    "dict_type": "object",
    "list_type": "array",
    "string_type": "string",
    "bool_type": "boolean",
}
_ZOD_PRIMITIVES: dict[Any, str] = {
    _check_number: "number",
    _check_int: "number",
    _check_positive_int: "number",
    _check_interval_seconds: "number",
}


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` layers and ``| None``; return the bare type and the collected metadata."""
    metadata: list[Any] = []
    while True:
        if get_origin(tp) is Annotated:
            metadata.extend(tp.__metadata__)
            tp = tp.__origin__
            continue
        if get_origin(tp) in (Union, types.UnionType):
            members = [arg for arg in get_args(tp) if arg is not type(None)]
            if len(members) == 1 and len(members) != len(get_args(tp)):
                tp = members[0]
                continue
        return tp, metadata


def _field_type(schema: Any, loc: tuple[str | int, ...]) -> Any:
    """The declared type at a pydantic ``loc`` (tags included), or ``None`` if it cannot be followed."""
    tp = schema
    for segment in loc:
        bare, _ = _unwrap(tp)
        origin = get_origin(bare)
        if origin is list:
            tp = get_args(bare)[0]
        elif origin is dict:
            tp = get_args(bare)[1]
        elif origin in (Union, types.UnionType):
            tagged = [m for m in get_args(bare) if any(isinstance(x, Tag) and x.tag == segment for x in _unwrap(m)[1])]
            if not tagged:
                return None
            tp = tagged[0]
        elif isinstance(bare, type) and issubclass(bare, BaseModel):
            field = next((f for n, f in bare.model_fields.items() if segment in (n, f.alias)), None)
            if field is None:
                return None
            tp = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
        else:
            return None
    return tp


def _zod_expected(tp: Any) -> str | None:
    """What zod would name as ``expected`` for a missing value of this type; "union" for plain unions."""
    bare, metadata = _unwrap(tp)
    for item in reversed(metadata):
        if isinstance(item, WrapValidator) and item.func is _union_invalid_input:
            return "union"
        if isinstance(item, Discriminator):
            return "object"
        if isinstance(item, PlainValidator):
            return getattr(item.func, "zod_expected", None) or _ZOD_PRIMITIVES.get(item.func)
    if bare is str or bare is bool:
        return _STRICT_PRIMITIVES[bare]
    if get_origin(bare) is list:
        return "array"
    if get_origin(bare) is dict or (isinstance(bare, type) and issubclass(bare, BaseModel | dict)):
        return "object"
    return None


def _missing_issue(schema: Any, loc: tuple[str | int, ...], path: tuple[str | int, ...]) -> Issue:
    expected = _zod_expected(_field_type(schema, loc)) if schema is not None else None
    if expected == "union":  # zod tries every member, each says "Required", the union says:
        return Issue(path=path, message="Invalid input", code="invalid_union")
    details = {"expected": expected, "received": "undefined"} if expected else {"received": "undefined"}
    return Issue(path=path, message="Required", code="invalid_type", details=details)


def issues_from_error(exc: ValidationError, data: Any, schema: Any = None) -> list[Issue]:
    """pydantic errors -> zod issues (codes, paths and messages as zod 3.22 words them)."""
    issues = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        path = _clean_path(loc, data)
        kind = error["type"]
        ctx = dict(error.get("ctx") or {})
        message = error["msg"]
        details: dict[str, Any] = {}
        if kind == "missing":
            issues.append(_missing_issue(schema, loc, path))
            continue
        if kind in ("model_type", "model_attributes_type", "dict_type", "list_type", "string_type", "bool_type"):
            expected = _EXPECTED_BY_ERROR[kind]
            received = zod_type(error.get("input"))
            kind, message = "invalid_type", f"Expected {expected}, received {received}"
            details = {"expected": expected, "received": received}
        elif kind == "invalid_union_discriminator":
            path = (*path, ctx["discriminator"])
            details = {"options": json.loads(ctx["options"])}
        elif kind == "invalid_enum_value":
            details = {"received": ctx["received"], "options": ctx["options"]}
        elif kind in ("invalid_type", "too_small", "too_big"):
            details = {key: value for key, value in ctx.items() if key != "words"}
            if kind in ("too_small", "too_big"):
                details["exact"] = False
        elif kind != "invalid_union":
            kind = "custom"
        issues.append(Issue(path=path, message=message, code=kind, details=details))
    return issues
