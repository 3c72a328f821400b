"""Seed a realistic fleet and its history for benchmarks (COPY-fast; see endpoints.services.seeding)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from endpoints.services.seeding import SeedRefused, scale_seed


class Command(BaseCommand):
    help = (
        "Fill the database with N endpoints, their jobs, index runs and registry events (for benchmarks). "
        "Refuses a database holding organizations not made by seedscale unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--endpoints", type=int, required=True)
        parser.add_argument("--jobs-per-endpoint", type=int, default=20)
        parser.add_argument("--runs-per-endpoint", type=int, default=20)
        parser.add_argument(
            "--events-per-endpoint", type=int, default=None, help="Registry events per endpoint (default: one per run)."
        )
        parser.add_argument("--days", type=float, default=7.0, help="Days of history the runs and events span.")
        parser.add_argument("--force", action="store_true", help="Seed even beside real organizations.")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(step: str) -> None:
            self.stderr.write(f"{step} ({time.monotonic() - started:.0f} s)")

        try:
            result = scale_seed(
                endpoints=options["endpoints"],
                jobs_per_endpoint=options["jobs_per_endpoint"],
                runs_per_endpoint=options["runs_per_endpoint"],
                events_per_endpoint=options["events_per_endpoint"],
                days=options["days"],
                force=options["force"],
                progress=progress,
            )
        except (SeedRefused, ValueError) as exc:
            raise CommandError(str(exc)) from None
        for table, rows in sorted(result.rows.items()):
            self.stdout.write(f"{table:32} {rows:>10}")
        self.stdout.write(f"Seeded in {time.monotonic() - started:.1f} s.")
