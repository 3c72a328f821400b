from endpoints.services.semver import version_key, version_max


def test_numeric_components_compare_as_numbers():
    assert version_max(["1.9.0", "1.10.0", "1.2.0"]) == "1.10.0"
    assert version_key("10.0.0") > version_key("9.99.99")
    assert version_key("1.0.10") > version_key("1.0.9")


def test_prereleases_rank_below_their_release():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]
    assert sorted(reversed(ordered), key=version_key) == ordered  # the SemVer 2.0 §11 example
    assert version_key("1.0.0+build.7") > version_key("1.0.0-rc.1")


def test_loose_and_non_semver_strings_still_order_totally():
    assert version_key("v2.0.0") > version_key("1.9.9")
    assert version_key("1.2") < version_key("1.2.1")
    assert version_max(["latest", "beta", "0.0.1"]) == "0.0.1"  # anything parseable beats free text
    assert version_max(["beta", "alpha"]) == "beta"  # free text falls back to string order
    assert version_max([]) is None
