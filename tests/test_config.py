"""kongflow.config: a bad value is ImproperlyConfigured naming the variable and the value; the
database is DATABASE_URL, else the embedded PostgreSQL `make run` announced in var/."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from kongflow.config import Env, database


@pytest.fixture
def env(monkeypatch):
    for name in ("DATABASE_URL", "KONGFLOW_TEST_VALUE"):
        monkeypatch.delenv(name, raising=False)
    return Env()


@pytest.mark.parametrize(
    ("method", "raw", "message"),
    [
        ("int", "abc", "KONGFLOW_TEST_VALUE must be an integer (got 'abc')"),
        ("int", "1.5", "KONGFLOW_TEST_VALUE must be an integer (got '1.5')"),
        ("float", "12abc", "KONGFLOW_TEST_VALUE must be a number (got '12abc')"),
        ("bool", "maybe", "KONGFLOW_TEST_VALUE must be a boolean (on/off, true/false, yes/no, 1/0) (got 'maybe')"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_value(env, monkeypatch, method, raw, message):
    monkeypatch.setenv("KONGFLOW_TEST_VALUE", raw)
    with pytest.raises(ImproperlyConfigured) as error:
        getattr(env, method)("KONGFLOW_TEST_VALUE", default=1)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("method", "raw", "value"),
    [("int", " 7 ", 7), ("float", "2.5", 2.5), ("bool", "off", False), ("bool", "Yes", True), ("bool", "", False)],
)
def test_good_values_and_defaults_are_read(env, monkeypatch, method, raw, value):
    assert getattr(env, method)("KONGFLOW_TEST_VALUE", default=3) == 3
    monkeypatch.setenv("KONGFLOW_TEST_VALUE", raw)
    assert getattr(env, method)("KONGFLOW_TEST_VALUE", default=3) == value


def test_a_bad_list_item_names_the_variable(env, monkeypatch):
    monkeypatch.setenv("KONGFLOW_TEST_VALUE", "5,x")
    with pytest.raises(ImproperlyConfigured, match=r"^KONGFLOW_TEST_VALUE is not valid \(got '5,x'"):
        env.list("KONGFLOW_TEST_VALUE", cast=float, default=[])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("foo", "DATABASE_URL must be a PostgreSQL URL, postgres://USER:PASSWORD@HOST:PORT/NAME (got 'foo')"),
        ("sqlite:///db.sqlite3", "DATABASE_URL must be a PostgreSQL URL"),
        ("postgres://kongflow:s3cret@db:port/kongflow", "got 'postgres://kongflow:***@db:port/kongflow'"),
    ],
)
def test_a_bad_database_url_is_refused_without_its_password(env, monkeypatch, tmp_path, url, message):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(ImproperlyConfigured) as error:
        database(env, tmp_path)
    assert message in str(error.value)
    assert "s3cret" not in str(error.value)


def test_database_url_wins_over_the_embedded_server(env, monkeypatch, tmp_path):
    _announce_embedded_server(tmp_path, "postgres://postgres@/kongflow?host=/elsewhere")
    monkeypatch.setenv("DATABASE_URL", "postgres://kongflow:pw@127.0.0.1:5432/kongflow")
    assert database(env, tmp_path)["HOST"] == "127.0.0.1"


def test_without_database_url_the_embedded_server_in_var_is_used(env, tmp_path):
    _announce_embedded_server(tmp_path, f"postgres://postgres@/kongflow?host={tmp_path}/postgres")
    config = database(env, tmp_path)
    assert (config["NAME"], config["USER"], config["OPTIONS"]["host"]) == (
        "kongflow",
        "postgres",
        f"{tmp_path}/postgres",
    )


def test_without_either_the_error_says_to_run_make_run_or_set_database_url(env, tmp_path):
    # A URL file left behind by a server that is not running (no postmaster.pid) is not used.
    (tmp_path / "database_url").write_text("postgres://postgres@/kongflow?host=/gone\n")
    with pytest.raises(ImproperlyConfigured) as error:
        database(env, tmp_path)
    assert str(error.value) == (
        f"DATABASE_URL is not set and no embedded PostgreSQL is running in {tmp_path} "
        "(start one with `make run` in another terminal, or set DATABASE_URL)"
    )


def _announce_embedded_server(var_dir, url):
    """What kongflow.embedded_db leaves in var/ while its server runs."""
    (var_dir / "postgres").mkdir()
    (var_dir / "postgres" / "postmaster.pid").write_text("1\n")
    (var_dir / "database_url").write_text(url + "\n")
