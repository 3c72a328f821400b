"""manage.py reindex: target selection, dry run, progress on stderr and a table on stdout."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from endpoints.models import EndpointIndex, Job
from tests import factories


def reindex(*args):
    out, err = StringIO(), StringIO()
    call_command("reindex", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_reindex_by_slug_requests_a_manual_run(endpoint):
    out, err = reindex("--endpoint", endpoint.slug, "--reason", "operator")
    index = EndpointIndex.objects.get()
    assert (index.source, index.reason, index.status) == ("MANUAL", "operator", "PENDING")
    assert f"[1/1] {endpoint.slug}: requested {index.id}" in err
    assert out.splitlines()[0].split() == ["ENDPOINT", "ENVIRONMENT", "INDEX", "STATUS", "JOBS", "DETAIL"]
    assert index.id in out


def test_reindex_by_environment_and_all_skip_deleted_endpoints(environment):
    live = factories.EndpointFactory(environment=environment)
    factories.EndpointFactory(environment=environment, url=None)
    factories.EndpointFactory()  # another environment
    reindex("--environment", environment.id)
    assert list(EndpointIndex.objects.values_list("endpoint_id", flat=True)) == [live.id]
    reindex("--all")
    assert EndpointIndex.objects.values("endpoint_id").distinct().count() == 2


def test_reindex_needs_a_target_that_exists(db):
    with pytest.raises(CommandError, match="No live endpoint"):
        reindex("--endpoint", "nope")


def test_dry_run_shows_the_diff_and_writes_nothing(dev_environment, sdk_basic):
    factories.EndpointFactory(environment=dev_environment, slug="my-endpoint", url=sdk_basic.url)
    out, _ = reindex("--endpoint", "my-endpoint", "--dry-run")
    assert "+3 -0 ~0 jobs; disable: -" in out
    assert "Dry run: nothing was written." in out
    assert not EndpointIndex.objects.exists() and not Job.objects.exists()


def test_dry_run_reports_an_unreachable_endpoint_and_exits_non_zero(environment):
    factories.EndpointFactory(environment=environment, slug="gone", url="http://127.0.0.1:9/api/trigger")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 of 1 fetch"):
        call_command("reindex", "--endpoint", "gone", "--dry-run", stdout=out, stderr=err)
    header, row = out.getvalue().splitlines()[:2]
    assert header.split() == ["ENDPOINT", "RESULT", "CODE", "DETAIL"]
    assert row.split()[:3] == ["gone", "FAILURE", "CONNECTION_FAILED"]
    assert "Could not connect to endpoint http://127.0.0.1:9/api/trigger" in row
    assert not EndpointIndex.objects.exists()


def test_a_multi_line_error_becomes_one_cell_with_every_problem():
    from endpoints.management.commands.reindex import one_line

    message = 'Your Jobs have issues:\n- Job "a": Required at "trigger"\n- Job "b": Invalid url at "x"'
    assert one_line(message) == 'Your Jobs have issues: Job "a": Required at "trigger"; Job "b": Invalid url at "x"'


class FakeTerminal(StringIO):
    def isatty(self):
        return True


def test_wait_gives_up_on_runs_that_stall_and_says_so(environment):
    factories.EndpointFactory(environment=environment, slug="a")
    factories.EndpointFactory(environment=environment, slug="b")
    out, err = StringIO(), FakeTerminal()
    with pytest.raises(CommandError, match="2 of 2 index"):
        call_command("reindex", "--all", "--wait", "--timeout", "0.3", stdout=out, stderr=err)
    assert err.getvalue().startswith("\r\x1b[K[")
    assert err.getvalue().endswith("0/2  done 0  failed 0  pending 2\n")
    assert "requested" not in err.getvalue()  # the bar replaces the per-run lines on a terminal
    assert out.getvalue().count("queued") == 2
    assert "2 endpoint(s): 0 succeeded, 0 failed, 2 unfinished." in out.getvalue()


def test_the_progress_bar_counts_done_failed_and_pending():
    from endpoints.management.progress import Counts, render_bar

    assert render_bar(Counts(total=10, done=5, failed=2), width=10) == (
        "[█████▒▒░░░]  7/10  done 5  failed 2  pending 3"
    )
    assert render_bar(Counts(total=3, done=3), width=6) == "[██████] 3/3  done 3  failed 0  pending 0"
