import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from endpoints.errors import InvalidEnvironmentOptions
from endpoints.models import EnvironmentType
from endpoints.services.environments import environment_get_or_create


class Command(BaseCommand):
    help = "Get or create an organisation/project environment and print it as one JSON line (with its keys)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization")
        parser.add_argument("project")
        parser.add_argument("--type", required=True, choices=EnvironmentType.values, dest="env_type")
        parser.add_argument("--api-key", help="Use this secret key (tr_<dev|prod|stg|prev>_…) instead of a new one.")

    def handle(
        self, *args: Any, organization: str, project: str, env_type: str, api_key: str | None, **options: Any
    ) -> None:
        try:
            environment, _ = environment_get_or_create(
                organization=organization, project=project, env_type=env_type, api_key=api_key
            )
        except InvalidEnvironmentOptions as exc:
            raise CommandError(exc.message) from exc
        line = {
            "organizationId": environment.organization_id,
            "projectId": environment.project_id,
            "environmentId": environment.id,
            "type": environment.type,
            "apiKey": environment.api_key,
            "pkApiKey": environment.pk_api_key,
        }
        self.stdout.write(json.dumps(line))
