from django.apps import AppConfig
from django.core import checks


class EndpointsConfig(AppConfig):
    name = "endpoints"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from endpoints.checks import encryption_keys_check

        checks.register(encryption_keys_check, checks.Tags.security, deploy=True)
