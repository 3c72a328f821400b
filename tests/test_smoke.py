from tests import factories


def test_factories_build_a_consistent_endpoint(db):
    endpoint = factories.EndpointFactory()
    assert endpoint.organization_id == endpoint.environment.organization_id
    assert endpoint.environment.api_key.startswith("tr_dev_")
