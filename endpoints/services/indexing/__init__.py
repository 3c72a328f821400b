"""Index runs: request (create or join), dispatch after commit, claim, perform, finish, recover.

Invariants (enforced by constraints on EndpointIndex): per endpoint at most one PENDING and one
STARTED run. A request that finds a PENDING run joins it. A run is claimed PENDING -> STARTED by a
conditional update that also bumps `attempts`; every later write of the run is conditional on that
`attempts` value, so a run recovered by the sweeper can never be finished twice.

One concern per module: `requests` (create or join, wait), `dispatch` (to the worker, by task
name so that this package never imports `endpoints.tasks`; one message per attempt, see its
docstring), `runs` (claim, perform, finish), `lease` (heartbeat of a STARTED run), `fetch`
(INDEX_ENDPOINT and what is stored of its answer), `retry` (the retry policy), `preview` (dry
runs), `recurring` (the recurring index, spread over its interval) and `housekeeping` (sweeper,
purge, and the record and claim of each run).
"""

from .dispatch import PERFORM_TASK, broker_epoch, broker_epochs_gone, index_dispatch
from .failures import IndexFailure
from .housekeeping import (
    SweepResult,
    endpoint_indexes_purge,
    endpoint_indexes_sweep,
    housekeeping_claim,
    housekeeping_record,
)
from .preview import IndexPreview, endpoint_index_preview
from .recurring import RecurringTick, endpoints_recurring_index, index_backlog, recurring_slot
from .requests import endpoint_index_join_by_hook, endpoint_index_request, endpoint_index_wait
from .retry import retry_delay
from .runs import DATABASE_ERRORS, endpoint_index_run

__all__ = [
    "DATABASE_ERRORS",
    "PERFORM_TASK",
    "IndexFailure",
    "IndexPreview",
    "RecurringTick",
    "SweepResult",
    "broker_epoch",
    "broker_epochs_gone",
    "endpoint_index_join_by_hook",
    "endpoint_index_preview",
    "endpoint_index_request",
    "endpoint_index_run",
    "endpoint_index_wait",
    "endpoint_indexes_purge",
    "endpoint_indexes_sweep",
    "endpoints_recurring_index",
    "housekeeping_claim",
    "housekeeping_record",
    "index_backlog",
    "index_dispatch",
    "recurring_slot",
    "retry_delay",
]
