"""`manage.py reindex --all --wait` over many endpoints, indexed by a real worker: a live progress
bar on a terminal, plain lines otherwise, and a summary table."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests import factories


class FakeTerminal(StringIO):
    def isatty(self):
        return True


@pytest.fixture
def many_endpoints(transactional_db, dev_environment, sdk_basic):
    for number in range(6):
        factories.EndpointFactory(environment=dev_environment, slug=f"ok-{number}", url=sdk_basic.url)
    for number in range(2):
        factories.EndpointFactory(
            environment=dev_environment, slug=f"down-{number}", url="http://127.0.0.1:9/api/trigger"
        )


def test_a_terminal_gets_a_live_bar_and_a_summary(celery_worker, many_endpoints):
    out, err = StringIO(), FakeTerminal()
    with pytest.raises(CommandError, match="2 of 8 index"):
        call_command("reindex", "--all", "--wait", "--timeout", "60", stdout=out, stderr=err)
    frames = err.getvalue().split("\r\x1b[K")
    assert frames[1].startswith("[") and "0/8  done 0  failed 0  pending 8" in frames[1]
    assert len(frames) == 1 + 1 + 8  # initial frame, then one per finished run
    assert frames[-1] == "[" + "█" * 22 + "▒" * 8 + "] 8/8  done 6  failed 2  pending 0\n"
    table = out.getvalue()
    assert table.count("SUCCESS") == 6 and table.count("FAILURE") == 2
    assert "CONNECTION_FAILED: Could not connect to endpoint http://127.0.0.1:9/api/trigger" in table
    assert "8 endpoint(s): 6 succeeded, 2 failed, 0 unfinished." in table


def test_a_pipe_gets_one_plain_line_per_finished_run(celery_worker, many_endpoints):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("reindex", "--all", "--wait", "--timeout", "60", stdout=out, stderr=err)
    lines = err.getvalue().splitlines()
    assert "\r" not in err.getvalue()
    finished = [line for line in lines if ": requested" not in line]
    assert len(finished) == 8
    assert finished[-1].startswith("[8/8] ")
    assert sorted(line.split(": ")[1] for line in finished) == ["FAILURE"] * 2 + ["SUCCESS"] * 6
