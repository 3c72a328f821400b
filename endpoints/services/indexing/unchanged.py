"""The free re-index: a document identical to the latest SUCCESS run's, on an unchanged registry.

"Identical" is the same `document_hash` (canonical JSON: key and keyed-item order do not count).
"Nothing changed the registry since" is precise: the organization's registry generation
(`endpoints.services.registry.generation`) is still the one the latest SUCCESS run recorded after
its own writes. Every transaction that changes a registry row of the organization bumps it —
applies of this endpoint or of any other endpoint of the organization, and any other writer of
registry rows — so applying the document again would write nothing and report the same stats.

A forced run (`force`), a previous run without a recorded generation (made before this existed)
and SQLite (where every apply counts as a change) never skip. A skipped run is still a complete
SUCCESS: the previous run's stats, an empty diff, this document and its hash.
"""

from __future__ import annotations

from typing import Any

from endpoints.models import Endpoint, EndpointIndex
from endpoints.services.diff import COLLECTIONS
from endpoints.services.registry import registry_generation_current


def unchanged_since(
    *, index: EndpointIndex, endpoint: Endpoint, previous: EndpointIndex | None, data_hash: str
) -> bool:
    """True when the run may skip the registry writes and the diff (see the module docstring)."""
    if index.force or previous is None or previous.registry_generation is None:
        return False
    if previous.document_hash != data_hash or previous.stats is None:
        return False
    return registry_generation_current(organization_id=endpoint.organization_id) == previous.registry_generation


def empty_diff() -> dict[str, Any]:
    """What `document_diff` returns for two documents with the same hash."""
    return {collection: {"added": [], "removed": [], "changed": {}} for collection in COLLECTIONS}
