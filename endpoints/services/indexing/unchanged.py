"""The free re-index: a document identical to the latest SUCCESS run's, on an unchanged registry.

"Identical" is the same `document_hash` (canonical JSON: key and keyed-item order do not count).
"Nothing changed the registry since" is precise: the organization's registry generation
(`endpoints.services.registry.generation`) is still the one the latest SUCCESS run recorded after
its own writes. Every transaction that changes a registry row of the organization bumps it —
applies of this endpoint or of any other endpoint of the organization, and any other writer of
registry rows — so applying the document again would write nothing and report the same stats.

A forced run (`force`) and a previous run without a recorded generation (made before this existed)
never skip. A skipped run is still a complete
SUCCESS: the previous run's stats, an empty diff, this document and its hash.

Cheaper still, the common case in production: the endpoint answers the very bytes of the latest
SUCCESS run's body (`body_hash`, SHA-256 of the raw body). Those bytes were decoded, validated,
NUL-scanned and hashed when they were first received, so when the skip is possible
(:func:`same_body_candidate`) the client is asked to compare before decoding anything, and the run
copies the previous run's document inside its final UPDATE instead of sending it again. A body
that differs in any byte (key order, whitespace) takes the normal path and may still skip the
registry writes through its `document_hash`.
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


def same_body_candidate(*, index: EndpointIndex, previous: EndpointIndex | None) -> str | None:
    """The body hash to compare the answer with before decoding it, when an identical body could
    skip; else None. `previous` comes with `registry_generation_now` (the selector's
    `organization_id`); :func:`unchanged_since` checks again in the run's transaction."""
    if index.force or previous is None or not previous.body_hash or previous.document_hash is None:
        return None
    if previous.registry_generation is None or previous.stats is None:
        return None
    if getattr(previous, "registry_generation_now", None) != previous.registry_generation:
        return None
    return previous.body_hash


def empty_diff() -> dict[str, Any]:
    """What `document_diff` returns for two documents with the same hash."""
    return {collection: {"added": [], "removed": [], "changed": {}} for collection in COLLECTIONS}
