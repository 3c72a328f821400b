"""The anchor: an EMULATION of the original's per-job sequential registration (not its code).

The original registers job by job with Prisma: for each job an integration lookup/upsert, the job
upsert, the version upsert, its examples, its integration links, the dispatcher, the schedule source
and the `latest` alias, each a separate statement (§5.11: ≈ 20-30 statements per job). This writes
the same rows as Kongflow's registry for the `many` documents, one `update_or_create` at a time.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from endpoints import models as m


def register_sequentially(endpoint: m.Endpoint, data: dict[str, Any]) -> None:
    env = endpoint.environment
    with transaction.atomic():
        for item in data["jobs"]:
            if not item.get("enabled", True):
                continue
            integration_ids = {}
            for key, config in (item.get("integrations") or {}).items():
                meta = config["metadata"]
                definition, _ = m.IntegrationDefinition.objects.get_or_create(
                    id=meta["id"], defaults={"name": meta.get("name") or meta["id"]}
                )
                integration, _ = m.Integration.objects.get_or_create(
                    organization_id=endpoint.organization_id,
                    slug=config["id"],
                    defaults={"title": meta.get("name"), "definition": definition},
                )
                integration_ids[key] = integration.id
            job, _ = m.Job.objects.update_or_create(
                project_id=endpoint.project_id,
                slug=item["id"],
                defaults={"title": item.get("name") or item["id"], "organization_id": endpoint.organization_id},
            )
            trigger = item.get("trigger") or {}
            version, _ = m.JobVersion.objects.update_or_create(
                job=job,
                version=item["version"],
                environment=env,
                defaults={
                    "event_specification": {k: v for k, v in (item.get("event") or {}).items() if k != "examples"},
                    "trigger": trigger,
                    "endpoint": endpoint,
                    "organization_id": endpoint.organization_id,
                    "project_id": endpoint.project_id,
                    "status": "ACTIVE",
                },
            )
            for example in (item.get("event") or {}).get("examples") or []:
                m.EventExample.objects.update_or_create(
                    job_version=version,
                    slug=example["id"],
                    defaults={"name": example.get("name") or example["id"], "payload": example.get("payload")},
                )
            for key, integration_id in integration_ids.items():
                m.JobIntegration.objects.update_or_create(
                    version=version, key=key, defaults={"job": job, "integration_id": integration_id}
                )
            dispatcher, _ = m.EventDispatcher.objects.update_or_create(
                dispatchable_id=job.id,
                environment=env,
                defaults={
                    "event": [],
                    "source": "trigger.dev",
                    "dispatchable": {"type": "JOB_VERSION", "id": version.id},
                    "manual": trigger.get("type") == "scheduled",
                },
            )
            if trigger.get("type") == "scheduled":
                m.ScheduleSource.objects.update_or_create(
                    key=job.id,
                    environment=env,
                    defaults={
                        "schedule": trigger.get("schedule") or {},
                        "endpoint": endpoint,
                        "dispatcher": dispatcher,
                    },
                )
            m.JobAlias.objects.update_or_create(
                job=job, environment=env, name="latest", defaults={"value": item["version"], "version": version}
            )
