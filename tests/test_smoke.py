from tests import factories


def test_factories_build_a_consistent_endpoint(db):
    endpoint = factories.EndpointFactory()
    assert endpoint.organization_id == endpoint.environment.organization_id
    assert endpoint.environment.api_key.startswith("tr_dev_")


def test_settings_are_read_from_an_env_file_and_real_variables_win(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env_file = tmp_path / "kongflow.env"
    env_file.write_text("KONGFLOW_INDEX_MAX_ATTEMPTS=3\nKONGFLOW_HOOK_DELAY_SECONDS=9\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("KONGFLOW_")}
    env.update(KONGFLOW_ENV_FILE=str(env_file), KONGFLOW_HOOK_DELAY_SECONDS="1")
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    code = "from django.conf import settings as s; print(s.KONGFLOW_INDEX_MAX_ATTEMPTS, s.KONGFLOW_HOOK_DELAY_SECONDS)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True
    )
    assert out.stdout.split() == ["3", "1.0"], out.stderr


def test_a_missing_env_file_is_a_clear_error(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "KONGFLOW_ENV_FILE": str(tmp_path / "absent.env"), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    out = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings as s; s.DEBUG"],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "absent.env does not exist" in out.stderr
