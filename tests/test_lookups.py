"""`__anyof`: membership in a list sent as one array parameter."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from endpoints.models import Job
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

AWKWARD = ["plain", 'quote"d', "com,ma", "{braces}", "back\\slash", "spa ce", "NULL", ""]


def test_anyof_matches_exactly_the_listed_values_whatever_they_contain():
    project = ProjectFactory()
    for slug in [*AWKWARD, "other"]:
        Job.objects.create(slug=slug, title=slug, project=project, organization_id=project.organization_id)
    jobs = Job.objects.filter(project=project)
    with CaptureQueriesContext(connection) as queries:
        found = set(jobs.filter(slug__anyof=AWKWARD).values_list("slug", flat=True))
    assert found == set(AWKWARD)
    assert "= ANY(" in queries.captured_queries[0]["sql"]
    assert not jobs.filter(slug__anyof=[]).exists()
    assert set(jobs.exclude(slug__anyof=AWKWARD).values_list("slug", flat=True)) == {"other"}


def test_anyof_on_a_foreign_key_takes_ids():
    project = ProjectFactory()
    job = Job.objects.create(slug="a", title="a", project=project, organization_id=project.organization_id)
    assert list(Job.objects.filter(project_id__anyof=[project.id, "nope"])) == [job]
    assert list(Job.objects.filter(project__anyof=[project.id])) == [job]
