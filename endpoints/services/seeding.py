"""Fill a database with a realistic fleet and its history, fast (`manage.py seedscale`).

Rows go into the real tables with COPY (psycopg's `cursor.copy`), one transaction per chunk: first
the tenants with their registries, then the history run by run across the fleet, oldest first (ids
follow time, so inserts land near the end of each index, as in production).

What it writes: organizations with a project and PRODUCTION / STAGING / DEVELOPMENT environments,
endpoints with a health mix (failing, degraded, never indexed, deleted), their jobs and versions
(some with an older DISABLED version), `latest` aliases, examples, integration links and
dispatchers, index runs over the last `days` (SUCCESS runs carry their document, stats and diff;
FAILURE runs an error and the failed exchange), registry events, and for one environment in ten a
webhook subscription with its deliveries and attempts. Foreign keys and constraints are checked
by PostgreSQL as for any other write.

Seeded organizations have slugs starting with `seedscale-`; any other organization is a real
tenant, and seeding refuses to run beside one unless forced.
"""

from __future__ import annotations

import hashlib
import json
import random
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from endpoints.ids import new_ids
from endpoints.models import (
    DeliveryStatus,
    Endpoint,
    EndpointHealth,
    EndpointIndex,
    EnvironmentType,
    EventDispatcher,
    EventExample,
    EventSequence,
    IndexSource,
    IndexStatus,
    Integration,
    IntegrationDefinition,
    Job,
    JobAlias,
    JobIntegration,
    JobVersion,
    JobVersionStatus,
    Organization,
    Project,
    RegistryEvent,
    RuntimeEnvironment,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from endpoints.models.tenancy import hash_key
from endpoints.services.diff import COLLECTIONS
from endpoints.services.indexing.recurring import RECURRING_TYPES, recurring_interval, recurring_slot
from kongflow.encryption import encrypt

SEED_PREFIX = "seedscale-"
#: Endpoints per transaction: small enough for memory, large enough for COPY to stream.
CHUNK = 1000
HISTORY_CHUNK = 5000
INTEGRATIONS = ("stripe", "slack", "github")
ENVIRONMENTS = (
    (EnvironmentType.PRODUCTION, "prod"),
    (EnvironmentType.STAGING, "staging"),
    (EnvironmentType.DEVELOPMENT, "dev"),
)
# Health of live endpoints (per thousand) and the share soft-deleted; the rest are HEALTHY.
HEALTH_MIX = ((EndpointHealth.FAILING, 60), (EndpointHealth.DEGRADED, 60), (EndpointHealth.NEVER_INDEXED, 30))
DELETED_PER_THOUSAND = 20
ERRORS = (
    ("TIMEOUT", "The endpoint did not answer within 30 s"),
    ("CONNECTION_FAILED", "Connection refused"),
    ("HTTP_ERROR", "The endpoint answered 502 Bad Gateway"),
    ("INVALID_DOCUMENT", 'Your Jobs have issues:\n- Job "job-3": version must be a semantic version'),
)


class SeedRefused(Exception):
    """The database holds real tenants (without `force`) or was seeded already."""


@dataclass
class SeedResult:
    rows: dict[str, int] = field(default_factory=dict)


def scale_seed(
    *,
    endpoints: int,
    jobs_per_endpoint: int,
    runs_per_endpoint: int,
    events_per_endpoint: int | None = None,
    days: float = 7.0,
    force: bool = False,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
) -> SeedResult:
    """Seed `endpoints` endpoints with their registry and history (see the module docstring).

    `events_per_endpoint` defaults to one registry event per run. Raises SeedRefused when the
    database holds an organization not made by seedscale (unless `force`), or seeded ones already.
    """
    if min(endpoints, jobs_per_endpoint, runs_per_endpoint) < 0 or days <= 0:
        raise ValueError("Counts must be 0 or more and days more than 0.")
    seeded = Organization.objects.filter(slug__startswith=SEED_PREFIX).count()
    if seeded:
        raise SeedRefused(
            f"This database was seeded already ({seeded} {SEED_PREFIX}* organizations): "
            "seed an empty database (drop and recreate it) instead."
        )
    real = Organization.objects.exclude(slug__startswith=SEED_PREFIX).count()
    if real and not force:
        raise SeedRefused(
            f"This database holds {real} real organization(s) (not made by seedscale): "
            "refusing to add a fleet beside them; pass --force to do it anyway."
        )
    events = runs_per_endpoint if events_per_endpoint is None else events_per_endpoint
    seeder = _Seeder(jobs=jobs_per_endpoint, runs=runs_per_endpoint, events=events, days=days, seed=seed)
    for name, _ in INTEGRATIONS_DEFINED:
        IntegrationDefinition.objects.get_or_create(id=name, defaults={"name": name.title()})
    done = 0
    for chunk in _chunks(_layout(endpoints), CHUNK):
        with transaction.atomic():
            seeder.write(chunk)
        done += len(chunk)
        if progress is not None:
            progress(f"{done}/{endpoints} endpoints and their registries")
    for run in range(runs_per_endpoint):
        for start in range(0, len(seeder.histories), HISTORY_CHUNK):
            with transaction.atomic():
                seeder.write_history(run, seeder.histories[start : start + HISTORY_CHUNK])
        if progress is not None:
            progress(f"run {run + 1}/{runs_per_endpoint} of every endpoint, with its events")
    with transaction.atomic():
        seeder.write_sequences()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return SeedResult(rows=dict(seeder.counts))


INTEGRATIONS_DEFINED = tuple((name, name.title()) for name in INTEGRATIONS)


@dataclass(frozen=True)
class _Slot:
    """One endpoint to seed: organization number, environment type and slug, app number."""

    org: int
    env_type: str
    env_slug: str
    app: int


def _layout(count: int) -> list[_Slot]:
    """A large tenant (a tenth of the fleet in one PRODUCTION environment, from 1,000 endpoints
    up), then small ones: one project with 1 to 5 apps, each an endpoint in each environment."""
    slots: list[_Slot] = []
    large = count // 10 if count >= 1000 else 0
    slots += [_Slot(0, EnvironmentType.PRODUCTION, "prod", app) for app in range(large)]
    org = 1
    while len(slots) < count:
        apps = 1 + org % 5
        for env_type, env_slug in ENVIRONMENTS:
            slots += [_Slot(org, env_type, env_slug, app) for app in range(apps)]
        org += 1
    return slots[:count]


def _chunks(slots: list[_Slot], size: int) -> Iterator[list[_Slot]]:
    """Runs of about `size` slots that never split an organization."""
    chunk: list[_Slot] = []
    for slot in slots:
        if len(chunk) >= size and chunk[-1].org != slot.org:
            yield chunk
            chunk = []
        chunk.append(slot)
    if chunk:
        yield chunk


# -- COPY text ------------------------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class Raw(str):
    """Text already in COPY form (a document escaped once and written many times)."""


def _json(value: Any) -> Raw:
    return Raw(json.dumps(value, separators=(",", ":")).translate(_ESCAPES))


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, Raw):
        return value
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return _json(value)


class _Table:
    """Rows of one model in COPY text form, for the columns named (every NOT NULL one)."""

    def __init__(self, model: type[models.Model], columns: Iterable[str]) -> None:
        self.model, self.columns = model, list(columns)
        by_name = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(self.columns) - set(by_name)
        missing = [
            name
            for name, f in by_name.items()
            if name not in self.columns and not f.null and not isinstance(f, models.AutoField)
        ]
        if unknown or missing:
            raise ValueError(f"{model.__name__}: unknown columns {sorted(unknown)}, missing {missing}")
        self.column_sql = ", ".join(connection.ops.quote_name(str(by_name[name].column)) for name in self.columns)
        self.lines: list[str] = []

    def add(self, *values: Any) -> None:
        self.lines.append("\t".join([_text(value) for value in values]))

    def flush(self, counts: dict[str, int]) -> None:
        if self.lines:
            _copy(self.model, self.column_sql, self.lines)
            counts[self.model._meta.db_table] = counts.get(self.model._meta.db_table, 0) + len(self.lines)
        self.lines = []


def _copy(model: type[models.Model], column_sql: str, lines: list[str]) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({column_sql}) FROM STDIN") as copy:
        for start in range(0, len(lines), 2000):
            copy.write("\n".join(lines[start : start + 2000]) + "\n")


# -- what a chunk writes ----------------------------------------------------------------------------


@dataclass
class _History:
    """An endpoint's runs to write: statuses and creation times (epoch seconds), oldest first."""

    env: dict[str, Any]
    app: tuple[int, int]
    endpoint_id: str
    slug: str
    statuses: list[str]
    times: list[float]


@dataclass
class _App:
    """What an app's endpoints share across environments: jobs and the document they declare."""

    job_ids: list[str]
    job_slugs: list[str]
    versions: list[str]
    document: bytes  # COPY text, compressed: a fleet's documents would not fit in memory
    document_hash: str
    added_diff: Raw


class _Seeder:
    def __init__(self, *, jobs: int, runs: int, events: int, days: float, seed: int) -> None:
        self.jobs, self.runs, self.events = jobs, runs, events
        self.rng = random.Random(seed)
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now - timedelta(days=days)
        self.span = (self.now - self.start).total_seconds() - 300  # the last run ended 5 minutes ago
        self.counts: dict[str, int] = {}
        counters = ("sources", "webhooks", "dynamicTriggers", "dynamicSchedules", "disabledJobs", "httpEndpoints")
        self.stats = _json({"jobs": jobs, **dict.fromkeys(counters, 0)})
        self.empty_diff = _json({c: {"added": [], "removed": [], "changed": {}} for c in COLLECTIONS})
        self.tables: dict[str, _Table] = {}
        self.histories: list[_History] = []
        self.apps: dict[tuple[int, int], _App] = {}
        # Registry ids follow this clock (a millisecond a call), so that they are inserted in key
        # order, as the service inserts them; run and event ids take their own time.
        self.clock = self.start.timestamp()

    def ids(self, count: int) -> list[str]:
        self.clock += 0.001
        return new_ids(count, seconds=self.clock)

    def table(self, model: type[models.Model], *columns: str) -> _Table:
        key = model._meta.db_table
        if key not in self.tables:
            self.tables[key] = _Table(model, columns)
        return self.tables[key]

    def at(self, fraction: float) -> datetime:
        return self.start + timedelta(seconds=self.span * fraction)

    def write(self, chunk: list[_Slot]) -> None:
        """Tenants, endpoints and their registries; the runs wait for `write_history`."""
        environments: dict[tuple[int, str], dict[str, Any]] = {}
        apps = self.apps
        organizations: dict[int, dict[str, str]] = {}
        for slot in chunk:
            if slot.org not in organizations:
                organizations[slot.org] = self.organization(slot.org)
            org = organizations[slot.org]
            if (slot.org, slot.env_slug) not in environments:
                environments[(slot.org, slot.env_slug)] = self.environment(org, slot)
            if (slot.org, slot.app) not in apps:
                apps[(slot.org, slot.app)] = self.app(org, slot.app)
            self.endpoint(org, environments[(slot.org, slot.env_slug)], apps[(slot.org, slot.app)], slot)
        self.flush()

    def flush(self) -> None:
        # Parents first: the foreign keys are deferred to the commit anyway, but the order reads well.
        for table in self.tables.values():
            table.flush(self.counts)

    def write_history(self, run: int, histories: list[_History]) -> None:
        """Run number `run` of each endpoint (with its events and deliveries), in time order: the
        history is written slice by slice, as it happened, so inserts stay near the end of indexes."""
        documents: dict[tuple[int, int], Raw] = {}
        for history in sorted(histories, key=lambda h: h.times[run] if run < len(h.times) else 0):
            if run >= len(history.statuses):
                continue
            if history.app not in documents:
                documents[history.app] = Raw(zlib.decompress(self.apps[history.app].document).decode())
            self.history(history, run, documents[history.app])
        self.flush()

    def write_sequences(self) -> None:
        environments = {id(h.env): h.env for h in self.histories}
        for env in environments.values():
            if env["sequence"]:
                self.table(EventSequence, "environment_id", "last_sequence").add(env["id"], env["sequence"])
        self.flush()

    def organization(self, number: int) -> dict[str, str]:
        slug = f"{SEED_PREFIX}{number}"
        org_id, project_id = self.ids(2)
        created = self.start - timedelta(days=1)
        self.table(
            Organization, "id", "created_at", "updated_at", "slug", "title", "allowed_networks", "registry_generation"
        ).add(org_id, created, created, slug, f"Seeded {number}", "", self.runs)
        self.table(Project, "id", "created_at", "updated_at", "slug", "name", "organization_id").add(
            project_id, created, created, f"{slug}-app", f"App {number}", org_id
        )
        integration_ids = self.ids(len(INTEGRATIONS))
        for integration_id, name in zip(integration_ids, INTEGRATIONS, strict=True):
            self.table(
                Integration,
                "id",
                "created_at",
                "updated_at",
                "slug",
                "title",
                "setup_status",
                "auth_source",
                "connection_type",
                "definition_id",
                "organization_id",
            ).add(integration_id, created, created, name, name.title(), "COMPLETE", "LOCAL", "DEVELOPER", name, org_id)
        return {"id": org_id, "project_id": project_id, **dict(zip(INTEGRATIONS, integration_ids, strict=True))}

    def environment(self, org: dict[str, str], slot: _Slot) -> dict[str, Any]:
        env_id = self.ids(1)[0]
        short = {"PRODUCTION": "prod", "STAGING": "stg", "DEVELOPMENT": "dev"}[slot.env_type]
        api_key = f"tr_{short}_seed{env_id[-16:]}"
        created = self.start - timedelta(days=1)
        self.table(
            RuntimeEnvironment,
            "id",
            "created_at",
            "updated_at",
            "slug",
            "type",
            "api_key",
            "pk_api_key",
            "api_key_hash",
            "auto_enable_internal_sources",
            "organization_id",
            "project_id",
        ).add(
            env_id,
            created,
            created,
            slot.env_slug,
            slot.env_type,
            encrypt(api_key),
            f"pk_{short}_seed{env_id[-16:]}",
            hash_key(api_key),
            True,
            org["id"],
            org["project_id"],
        )
        env = {"id": env_id, "type": slot.env_type, "key_hash": hash_key(api_key), "sequence": 0, "subscription": None}
        if self.rng.random() < 0.1:
            env["subscription"] = self.subscription(env_id, created)
        return env

    def subscription(self, env_id: str, created: datetime) -> str:
        subscription_id = self.ids(1)[0]
        self.table(
            WebhookSubscription,
            "id",
            "created_at",
            "updated_at",
            "environment_id",
            "url",
            "events",
            "description",
            "secret",
            "is_active",
            "disabled_reason",
        ).add(
            subscription_id,
            created,
            created,
            env_id,
            "https://hooks.example.com/kongflow",
            ["*"],
            "seeded",
            encrypt(f"whsec_seed{subscription_id}"),
            True,
            "",
        )
        return subscription_id

    def app(self, org: dict[str, str], app: int) -> _App:
        slugs = [f"app-{app}-job-{j}" for j in range(self.jobs)]
        versions = [f"1.{self.rng.randrange(5)}.0" for _ in slugs]
        job_ids = self.ids(len(slugs))
        created = self.start
        jobs = self.table(
            Job, "id", "created_at", "updated_at", "slug", "title", "internal", "organization_id", "project_id"
        )
        for job_id, slug in zip(job_ids, slugs, strict=True):
            jobs.add(
                job_id, created, created, slug, slug.replace("-", " ").title(), False, org["id"], org["project_id"]
            )
        document = {
            "jobs": [
                _job_document(slug, version, INTEGRATIONS[j % 3])
                for j, (slug, version) in enumerate(zip(slugs, versions, strict=True))
            ],
            **{
                collection: []
                for collection in ("sources", "webhooks", "dynamicTriggers", "dynamicSchedules", "httpEndpoints")
            },
        }
        text = json.dumps(document, separators=(",", ":"))
        added: dict[str, dict[str, Any]] = {c: {"added": [], "removed": [], "changed": {}} for c in COLLECTIONS}
        added["jobs"]["added"] = slugs
        return _App(
            job_ids=job_ids,
            job_slugs=slugs,
            versions=versions,
            document=zlib.compress(text.translate(_ESCAPES).encode(), 1),
            document_hash=hashlib.sha256(text.encode()).hexdigest(),
            added_diff=_json(added),
        )

    def endpoint(self, org: dict[str, str], env: dict[str, Any], app: _App, slot: _Slot) -> None:
        endpoint_id = self.ids(1)[0]
        slug = f"app-{slot.app}"
        deleted = self.rng.randrange(1000) < DELETED_PER_THOUSAND
        health = EndpointHealth.HEALTHY
        draw = self.rng.randrange(1000)
        for state, share in HEALTH_MIX:
            if draw < share:
                health = state
                break
            draw -= share
        statuses = self.statuses(health)
        times = [self.at((r + self.rng.random() * 0.8) / max(len(statuses), 1)) for r in range(len(statuses))]
        failures = 0
        for status in reversed(statuses):
            if status != IndexStatus.FAILURE:
                break
            failures += 1
        successes = [t for s, t in zip(statuses, times, strict=True) if s == IndexStatus.SUCCESS]
        if statuses and not successes:
            health = EndpointHealth.FAILING
        failing_since = times[len(statuses) - failures] if failures else None
        url = f"https://{slug}.{org['id'][-8:]}.example.com/api/trigger"
        self.table(
            Endpoint,
            "id",
            "created_at",
            "updated_at",
            "slug",
            "url",
            "environment_id",
            "organization_id",
            "project_id",
            "version",
            "sdk_version",
            "run_chunk_execution_limit",
            "start_task_threshold",
            "before_execute_task_threshold",
            "before_complete_task_threshold",
            "after_complete_task_threshold",
            "health",
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "last_index_status",
            "last_index_at",
            "deleted_at",
            "url_before_delete",
            "answered_key_hash",
            "answered_key_since",
            "health_since",
            "disabled_at",
            "recurring_index_at",
        ).add(
            endpoint_id,
            self.start,
            times[-1] if times else self.start,
            slug,
            None if deleted else url,
            env["id"],
            org["id"],
            org["project_id"],
            "2.3.19",
            "2.3.19",
            60_000,
            750,
            1500,
            750,
            750,
            health,
            failures,
            failing_since,
            successes[-1] if successes else None,
            statuses[-1] if statuses else None,
            times[-1] if times else None,
            self.now - timedelta(hours=1) if deleted else None,
            url if deleted else None,
            env["key_hash"],
            self.start,
            times[-1] if times else None,
            None,
            self.recurring_at(endpoint_id, env, deleted),
        )
        if statuses:
            self.registry(org, env, app, endpoint_id)
            self.histories.append(
                _History(env, (slot.org, slot.app), endpoint_id, slug, statuses, [t.timestamp() for t in times])
            )

    def recurring_at(self, endpoint_id: str, env: dict[str, Any], deleted: bool) -> datetime | None:
        """The endpoint's next recurring slot, as the recurring index keeps it (NULL: not recurring)."""
        if deleted or env["type"] not in RECURRING_TYPES:
            return None
        return recurring_slot(endpoint_id=endpoint_id, after=self.now, interval=recurring_interval())

    def statuses(self, health: str) -> list[str]:
        if health == EndpointHealth.NEVER_INDEXED or not self.runs:
            return []
        runs: list[str] = [
            IndexStatus.FAILURE if self.rng.random() < 0.03 else IndexStatus.SUCCESS for _ in range(self.runs)
        ]
        runs[-1] = IndexStatus.SUCCESS
        if health == EndpointHealth.DEGRADED:
            runs[-1] = IndexStatus.FAILURE
        elif health == EndpointHealth.FAILING:
            for r in range(max(0, self.runs - 3 - self.rng.randrange(6)), self.runs):
                runs[r] = IndexStatus.FAILURE
        return runs

    def registry(self, org: dict[str, str], env: dict[str, Any], app: _App, endpoint_id: str) -> None:
        """The rows the endpoint's indexes wrote: a version of each job (every fifth also an older,
        DISABLED one), its example and integration link, the `latest` alias and the dispatcher."""
        created = self.start
        count = len(app.job_ids)
        old = [j for j in range(count) if j % 5 == 0 and app.versions[j] != "1.0.0"]
        ids = self.ids(count + len(old))
        versions = self.table(
            JobVersion,
            "id",
            "created_at",
            "updated_at",
            "version",
            "event_specification",
            "trigger",
            "job_id",
            "endpoint_id",
            "environment_id",
            "organization_id",
            "project_id",
            "start_position",
            "preprocess_runs",
            "status",
        )
        scope = (endpoint_id, env["id"], org["id"], org["project_id"])
        for j, version_id in enumerate(ids[:count]):
            spec, trigger = _event_and_trigger(app.job_slugs[j])
            versions.add(
                version_id,
                created,
                created,
                app.versions[j],
                spec,
                trigger,
                app.job_ids[j],
                *scope,
                "LATEST",
                False,
                "ACTIVE",
            )
        for j, version_id in zip(old, ids[count:], strict=True):
            spec, trigger = _event_and_trigger(app.job_slugs[j])
            versions.add(
                version_id,
                created,
                created,
                "1.0.0",
                spec,
                trigger,
                app.job_ids[j],
                *scope,
                "LATEST",
                False,
                JobVersionStatus.DISABLED,
            )
        extra = self.ids(4 * count)
        aliases = self.table(
            JobAlias, "id", "created_at", "updated_at", "name", "value", "version_id", "job_id", "environment_id"
        )
        examples = self.table(
            EventExample, "id", "created_at", "updated_at", "slug", "name", "icon", "payload", "job_version_id"
        )
        links = self.table(
            JobIntegration, "id", "created_at", "updated_at", "key", "version_id", "job_id", "integration_id"
        )
        dispatchers = self.table(
            EventDispatcher,
            "id",
            "created_at",
            "updated_at",
            "event",
            "source",
            "payload_filter",
            "manual",
            "dispatchable_id",
            "dispatchable",
            "enabled",
            "environment_id",
        )
        for j in range(count):
            version_id, job_id, integration = ids[j], app.job_ids[j], INTEGRATIONS[j % 3]
            aliases.add(extra[4 * j], created, created, "latest", app.versions[j], version_id, job_id, env["id"])
            examples.add(extra[4 * j + 1], created, created, "example", "Example", "user", _EXAMPLE_PAYLOAD, version_id)
            links.add(extra[4 * j + 2], created, created, integration, version_id, job_id, org[integration])
            dispatchers.add(
                extra[4 * j + 3],
                created,
                created,
                [f"{app.job_slugs[j]}.requested"],
                "trigger.dev",
                {},
                False,
                job_id,
                {"type": "JOB_VERSION", "id": version_id},
                True,
                env["id"],
            )

    def history(self, history: _History, run: int, document: Raw) -> None:
        app = self.apps[history.app]
        runs = self.table(
            EndpointIndex,
            "id",
            "created_at",
            "updated_at",
            "endpoint_id",
            "source",
            "reason",
            "status",
            "data",
            "stats",
            "error",
            "force",
            "attempts",
            "max_attempts",
            "dispatched_at",
            "started_at",
            "finished_at",
            "requests",
            "coalesced",
            "document_hash",
            "body_hash",
            "diff",
            "registry_generation",
            "worker",
            "dispatches",
            "dispatch_epoch",
            "exchange",
            "warnings",
        )
        status, created = history.statuses[run], datetime.fromtimestamp(history.times[run], tz=UTC)
        run_id = new_ids(1, seconds=history.times[run])[0]
        first_success = IndexStatus.SUCCESS not in history.statuses[:run]
        started = created + timedelta(milliseconds=self.rng.randrange(5, 200))
        finished = started + timedelta(milliseconds=self.rng.lognormvariate(5.0, 0.6))
        source, reason = (
            (IndexSource.INTERNAL, "Recurring index") if self.rng.random() < 0.8 else (IndexSource.API, None)
        )
        ok = status == IndexStatus.SUCCESS
        code, message = ERRORS[self.rng.randrange(len(ERRORS))]
        runs.add(
            run_id,
            created,
            finished,
            history.endpoint_id,
            source,
            reason,
            status,
            document if ok else None,
            self.stats if ok else None,
            None if ok else {"code": code, "message": message, "hint": ""},
            False,
            1 if ok else 7,
            7,
            created,
            started,
            finished,
            1,
            Raw("[]"),
            app.document_hash if ok else None,
            app.document_hash if ok else None,
            (app.added_diff if first_success else self.empty_diff) if ok else None,
            self.runs if ok else None,
            "worker-1:4242",
            1 if ok else 7,
            "seed",
            None if ok else _exchange(code),
            Raw("[]"),
        )
        self.registry_events(history, run, run_id, created)

    def registry_events(self, history: _History, run: int, run_id: str, created: datetime) -> None:
        """The events of run `run`: event n belongs to run n * runs // events."""
        env, runs = history.env, len(history.statuses)
        events = self.table(RegistryEvent, "id", "environment_id", "sequence", "type", "version", "data", "occurred_at")
        environment = {"id": env["id"], "type": env["type"]}
        ok = history.statuses[run] == IndexStatus.SUCCESS
        for _ in range(-(-self.events * run // runs), -(-self.events * (run + 1) // runs)):
            env["sequence"] += 1
            at = created + timedelta(seconds=1)
            event_id = new_ids(1, prefix="evt_", seconds=at.timestamp())[0]
            data = {
                "sequence": env["sequence"],
                "environment": environment,
                "endpoint": {"id": history.endpoint_id, "slug": history.slug},
                "index": {"id": run_id, "source": "INTERNAL", "reason": "Recurring index", "attempts": 1},
            }
            if ok:
                data.update(
                    stats={"jobs": self.jobs},
                    errors=[],
                    diff={"jobs": {"added": 0, "removed": 0, "changed": 0}},
                    unchanged=True,
                )
            else:
                data["error"] = {"code": "TIMEOUT", "message": "The endpoint did not answer within 30 s", "hint": ""}
            kind = "endpoint.indexed" if ok else "endpoint.index_failed"
            events.add(event_id, env["id"], env["sequence"], kind, 1, data, at)
            if env["subscription"]:
                self.delivery(env["subscription"], event_id, at)

    def delivery(self, subscription_id: str, event_id: str, at: datetime) -> None:
        delivery_id = new_ids(1, prefix="whd_", seconds=at.timestamp())[0]
        sent = at + timedelta(milliseconds=self.rng.randrange(50, 500))
        self.table(
            WebhookDelivery,
            "id",
            "created_at",
            "updated_at",
            "subscription_id",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "delivered_at",
        ).add(delivery_id, at, sent, subscription_id, event_id, DeliveryStatus.DELIVERED, 1, None, sent, sent)
        self.table(
            WebhookAttempt,
            "started_at",
            "succeeded",
            "status_code",
            "duration_ms",
            "response_preview",
            "error",
            "delivery_id",
        ).add(sent, True, 200, self.rng.randrange(20, 300), '{"ok":true}', "", delivery_id)


_EXAMPLE_PAYLOAD = {"id": "usr_123", "email": "ada@example.com", "plan": "pro", "createdAt": "2024-01-01T00:00:00Z"}


def _event_and_trigger(slug: str) -> tuple[dict[str, Any], dict[str, Any]]:
    event = f"{slug}.requested"
    spec = {"name": event, "title": "Requested", "source": "trigger.dev", "icon": "custom-event"}
    trigger = {
        "type": "static",
        "title": "Requested",
        "rule": {"event": event, "source": "trigger.dev", "payload": {}},
        "properties": [{"label": "Event", "text": event}],
    }
    return spec, trigger


def _job_document(slug: str, version: str, integration: str) -> dict[str, Any]:
    """A job as an SDK 2.x endpoint declares it in INDEX_ENDPOINT (about 600 bytes)."""
    spec, trigger = _event_and_trigger(slug)
    return {
        "id": slug,
        "name": slug.replace("-", " ").title(),
        "version": version,
        "event": {
            **spec,
            "examples": [{"id": "example", "name": "Example", "icon": "user", "payload": _EXAMPLE_PAYLOAD}],
        },
        "trigger": trigger,
        "integrations": {
            integration: {
                "id": integration,
                "metadata": {"id": integration, "name": integration.title()},
                "authSource": "LOCAL",
            }
        },
        "startPosition": "latest",
        "enabled": True,
        "preprocessRuns": False,
    }


def _exchange(code: str) -> dict[str, Any]:
    """The failed HTTP exchange a FAILURE run keeps for the inspector (key masked)."""
    headers = {"x-trigger-action": "INDEX_ENDPOINT", "x-trigger-api-key": "tr_prod_…seed"}
    exchange: dict[str, Any] = {"request": {"method": "POST", "headers": headers}, "durationMs": 30_000}
    if code == "HTTP_ERROR":
        exchange["response"] = {
            "status": 502,
            "headers": {"content-type": "text/html"},
            "body": "<html>Bad gateway</html>",
        }
        exchange["durationMs"] = 120
    else:
        exchange["error"] = "timed out" if code == "TIMEOUT" else "connection refused"
    return exchange
