"""Indexing in the test process (no worker), and the `evolving` SDK endpoint's deploys."""

from endpoints.models import IndexSource
from endpoints.services.indexing import endpoint_index_request, endpoint_index_run
from tests.conftest import PROD_KEY
from tests.support.sdk import sdk_endpoint


def index_now(endpoint, **kwargs):
    """Request an index run and perform it in this process (no worker)."""
    index = endpoint_index_request(endpoint=endpoint, source=IndexSource.MANUAL, **kwargs)
    assert endpoint_index_run(index_id=index.id) is None
    index.refresh_from_db()
    return index


def deploy(variant):
    """The `evolving` SDK endpoint (PRODUCTION key) at deploy `variant` ("1", "2", "3", …)."""
    return sdk_endpoint(
        api_key=PROD_KEY, endpoint_id="evolving", scenario="evolving", extra_args=["--variant", variant]
    )


def index_deployed(endpoint, variant):
    """Index `endpoint` once, served by the `evolving` SDK endpoint at `variant`."""
    with deploy(variant) as sdk:
        endpoint.url = sdk.url
        endpoint.save()
        return index_now(endpoint)
