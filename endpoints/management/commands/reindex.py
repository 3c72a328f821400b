"""Bulk re-indexing for operators: progress on stderr, a summary table on stdout."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from endpoints.models import Endpoint, EndpointIndex, IndexSource, IndexStatus
from endpoints.selectors import endpoints_for_reindex
from endpoints.services.indexing import endpoint_index_preview, endpoint_index_request, endpoint_index_wait


class Command(BaseCommand):
    help = "Request an index of endpoints (by slug or id, by environment, or all live endpoints)."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--endpoint", help="Endpoint slug or id.")
        target.add_argument("--environment", help="Every live endpoint of this environment id.")
        target.add_argument("--all", action="store_true", help="Every live endpoint.")
        parser.add_argument("--reason", default="manage.py reindex")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Fetch, validate and show the diff and what would be disabled; write nothing.",
        )
        parser.add_argument("--force", action="store_true", help="Skip the suspicious-shrink guard.")
        parser.add_argument("--wait", action="store_true", help="Wait for each run; exit 1 if any failed.")
        parser.add_argument("--timeout", type=float, default=120.0, help="Seconds to wait for each run (--wait).")

    def handle(self, *args, **options) -> None:
        endpoints = list(
            endpoints_for_reindex(
                endpoint=options["endpoint"], environment_id=options["environment"], all_endpoints=options["all"]
            )
        )
        if not endpoints:
            raise CommandError("No live endpoint matches.")
        if options["dry_run"]:
            self._dry_run(endpoints)
            return
        rows, failed = [], 0
        for number, endpoint in enumerate(endpoints, 1):
            index = endpoint_index_request(
                endpoint=endpoint, source=IndexSource.MANUAL, reason=options["reason"], force=options["force"]
            )
            self.stderr.write(f"[{number}/{len(endpoints)}] {endpoint.slug}: requested {index.id}")
            if options["wait"]:
                index = endpoint_index_wait(index_id=index.id, timeout=options["timeout"])
                self.stderr.write(f"[{number}/{len(endpoints)}] {endpoint.slug}: {index.status}")
                failed += index.status != IndexStatus.SUCCESS
            rows.append(self._row(endpoint, index))
        self._table(["ENDPOINT", "ENVIRONMENT", "INDEX", "STATUS", "JOBS", "DETAIL"], rows)
        if failed:
            raise CommandError(f"{failed} of {len(endpoints)} index(es) did not succeed.")

    def _row(self, endpoint: Endpoint, index: EndpointIndex) -> list[str]:
        jobs = str((index.stats or {}).get("jobs", "")) if index.status == IndexStatus.SUCCESS else ""
        detail = (index.error or {}).get("code", "") if index.status == IndexStatus.FAILURE else ""
        if not index.is_final and not detail:
            detail = "still running" if index.status == IndexStatus.STARTED else "queued"
        return [endpoint.slug, endpoint.environment.type, index.id, index.status, jobs, detail]

    def _dry_run(self, endpoints: list[Endpoint]) -> None:
        rows = []
        for number, endpoint in enumerate(endpoints, 1):
            self.stderr.write(f"[{number}/{len(endpoints)}] {endpoint.slug}: fetching")
            preview = endpoint_index_preview(endpoint=endpoint)
            if preview.error:
                rows.append([endpoint.slug, "FAILURE", preview.error["code"], preview.error["message"].splitlines()[0]])
                continue
            jobs = preview.diff["jobs"]
            disabled = ", ".join(f"{j.slug}@{j.version}" for j in preview.plan.jobs_to_disable) or "-"
            summary = f"+{len(jobs['added'])} -{len(jobs['removed'])} ~{len(jobs['changed'])} jobs; disable: {disabled}"
            rows.append([endpoint.slug, "WOULD SHRINK" if preview.shrink else "OK", "", summary])
            for slug, paths in jobs["changed"].items():
                self.stdout.write(f"  {endpoint.slug}: {slug} changed: {', '.join(paths)}")
        self._table(["ENDPOINT", "RESULT", "CODE", "CHANGES"], rows)
        self.stdout.write("Dry run: nothing was written.")

    def _table(self, header: list[str], rows: list[list[str]]) -> None:
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )
