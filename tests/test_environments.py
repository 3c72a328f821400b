import json
import re

import pytest
from django.core.management import CommandError, call_command

from endpoints.models import RuntimeEnvironment


def run(*args: str) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("createenvironment", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


@pytest.mark.django_db
def test_createenvironment_prints_one_json_line_with_keys_of_the_right_shape():
    line = run("Acme", "Web App", "--type", "PRODUCTION")
    assert set(line) == {"organizationId", "projectId", "environmentId", "type", "apiKey", "pkApiKey"}
    assert line["type"] == "PRODUCTION"
    assert re.fullmatch(r"tr_prod_[A-Za-z0-9]{20}", line["apiKey"])
    assert re.fullmatch(r"pk_prod_[A-Za-z0-9]{20}", line["pkApiKey"])


@pytest.mark.django_db
def test_createenvironment_is_idempotent():
    first = run("Acme", "Web App", "--type", "DEVELOPMENT")
    second = run("Acme", "Web App", "--type", "DEVELOPMENT")
    assert first == second
    assert RuntimeEnvironment.objects.count() == 1


@pytest.mark.django_db
def test_createenvironment_pins_a_known_key_and_rejects_one_of_another_type():
    line = run("Acme", "Web", "--type", "STAGING", "--api-key", "tr_stg_abcdef123")
    assert line["apiKey"] == "tr_stg_abcdef123"
    again = run("Acme", "Web", "--type", "STAGING", "--api-key", "tr_stg_abcdef123")
    assert again["environmentId"] == line["environmentId"]
    with pytest.raises(CommandError, match="tr_prev_"):
        call_command("createenvironment", "Acme", "Web", "--type", "PREVIEW", "--api-key", "tr_dev_abc")
    assert RuntimeEnvironment.objects.count() == 1
