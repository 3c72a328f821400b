from collections.abc import Iterator

import pytest

from tests.compat.cases import CASES, Case, running
from tests.support.sdk import RunningEndpoint


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def case(request) -> Case:
    return CASES[request.param]


@pytest.fixture(scope="module")
def basic(case: Case) -> Iterator[RunningEndpoint]:
    yield from running(case, "basic")


@pytest.fixture(scope="module")
def sources(case: Case) -> Iterator[RunningEndpoint]:
    yield from running(case, "sources")
