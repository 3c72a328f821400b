"""Bulk re-indexing for operators: progress on stderr, a summary table on stdout."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from endpoints.management.progress import Progress
from endpoints.models import FINAL_STATUSES, Endpoint, EndpointIndex, IndexSource, IndexStatus
from endpoints.selectors import endpoint_index_statuses, endpoints_for_reindex
from endpoints.services.indexing import endpoint_index_preview, endpoint_index_request

DETAIL_WIDTH = 100


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
            help="Fetch, validate, show the diff and what would be disabled; write nothing; exit 1 if a fetch fails.",
        )
        parser.add_argument("--force", action="store_true", help="Skip the suspicious-shrink guard.")
        parser.add_argument(
            "--wait", action="store_true", help="Wait for the runs (progress on stderr); exit 1 if any failed."
        )
        parser.add_argument(
            "--timeout", type=float, default=120.0, help="--wait gives up when no run finished for this many seconds."
        )

    def handle(self, *args: Any, **options: Any) -> None:
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
        tty = options["wait"] and self.stderr.isatty()
        runs: list[tuple[Endpoint, EndpointIndex]] = []
        for number, endpoint in enumerate(endpoints, 1):
            index = endpoint_index_request(
                endpoint=endpoint, source=IndexSource.MANUAL, reason=options["reason"], force=options["force"]
            )
            runs.append((endpoint, index))
            if not tty:
                self.stderr.write(f"[{number}/{len(endpoints)}] {endpoint.slug}: requested {index.id}")
        if options["wait"]:
            runs = self._wait(runs, stall_timeout=options["timeout"], tty=tty)
        self._table(["ENDPOINT", "ENVIRONMENT", "INDEX", "STATUS", "JOBS", "DETAIL"], [self._row(*run) for run in runs])
        if not options["wait"]:
            return
        statuses = [index.status for _, index in runs]
        succeeded, failed = statuses.count(IndexStatus.SUCCESS), statuses.count(IndexStatus.FAILURE)
        unfinished = len(runs) - succeeded - failed
        self.stdout.write(f"{len(runs)} endpoint(s): {succeeded} succeeded, {failed} failed, {unfinished} unfinished.")
        if failed or unfinished:
            raise CommandError(f"{failed + unfinished} of {len(runs)} index(es) did not succeed.")

    def _wait(
        self, runs: list[tuple[Endpoint, EndpointIndex]], *, stall_timeout: float, tty: bool
    ) -> list[tuple[Endpoint, EndpointIndex]]:
        """Poll every run until all are final, or until none finished for `stall_timeout` seconds."""
        slugs = {index.id: endpoint.slug for endpoint, index in runs}
        waiting = set(slugs)
        progress = Progress(len(runs), tty=tty, write=self._write_progress)
        last_change, interval = time.monotonic(), 0.1
        while waiting:
            for index_id, status in endpoint_index_statuses(index_ids=waiting).items():
                if status in FINAL_STATUSES:
                    waiting.discard(index_id)
                    progress.finished(slugs[index_id], status, ok=status == IndexStatus.SUCCESS)
                    last_change, interval = time.monotonic(), 0.1
            if not waiting or time.monotonic() - last_change >= stall_timeout:
                break
            time.sleep(interval)
            interval = min(interval * 1.5, 0.5)
        progress.close()
        finals = {
            index.id: index
            for index in EndpointIndex.objects.filter(id__in=list(slugs)).defer("data", "diff", "source_data")
        }
        return [(endpoint, finals[index.id]) for endpoint, index in runs]

    def _write_progress(self, text: str, ending: str) -> None:
        # Not in stderr's default style (red on a terminal): progress is not an error.
        self.stderr.write(text, style_func=_plain, ending=ending)
        self.stderr.flush()

    def _row(self, endpoint: Endpoint, index: EndpointIndex) -> list[str]:
        jobs = str((index.stats or {}).get("jobs", "")) if index.status == IndexStatus.SUCCESS else ""
        if index.status == IndexStatus.FAILURE:
            error = index.error or {}
            detail = _clip(f"{error.get('code', '')}: {one_line(error.get('message', ''))}")
        elif index.status == IndexStatus.STARTED:
            detail = "still running"
        elif index.status == IndexStatus.PENDING:
            detail = "queued"
        else:
            detail = ""
        return [endpoint.slug, endpoint.environment.type, index.id, index.status, jobs, detail]

    def _dry_run(self, endpoints: list[Endpoint]) -> None:
        rows, failed = [], 0
        for number, endpoint in enumerate(endpoints, 1):
            self.stderr.write(f"[{number}/{len(endpoints)}] {endpoint.slug}: fetching")
            preview = endpoint_index_preview(endpoint=endpoint)
            if preview.error or preview.diff is None or preview.plan is None:
                failed += 1
                error = preview.error or {}
                rows.append([endpoint.slug, "FAILURE", error.get("code", ""), one_line(error.get("message", ""))])
                continue
            jobs = preview.diff["jobs"]
            disabled = ", ".join(f"{j.slug}@{j.version}" for j in preview.plan.jobs_to_disable) or "-"
            summary = f"+{len(jobs['added'])} -{len(jobs['removed'])} ~{len(jobs['changed'])} jobs; disable: {disabled}"
            rows.append([endpoint.slug, "WOULD SHRINK" if preview.shrink else "OK", "", summary])
            for slug, paths in jobs["changed"].items():
                self.stdout.write(f"  {endpoint.slug}: {slug} changed: {', '.join(paths)}")
        self._table(["ENDPOINT", "RESULT", "CODE", "DETAIL"], rows)
        self.stdout.write("Dry run: nothing was written.")
        if failed:
            raise CommandError(f"{failed} of {len(endpoints)} fetch(es) failed.")

    def _table(self, header: list[str], rows: list[list[str]]) -> None:
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            )


def one_line(message: str) -> str:
    """A multi-line error (one line per problem) as one table cell: `Your Jobs have issues: Job "a": …; Job "b": …`."""
    lines = [line.strip().removeprefix("- ") for line in message.splitlines() if line.strip()]
    if not lines:
        return ""
    head, problems = lines[0], lines[1:]
    return f"{head} {'; '.join(problems)}" if problems else head


def _plain(text: str) -> str:
    return text


def _clip(text: str) -> str:
    return text if len(text) <= DETAIL_WIDTH else text[: DETAIL_WIDTH - 1] + "…"
