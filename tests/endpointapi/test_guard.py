"""`endpointapi.guard` and the pinned transport: one parser, one resolution, every address checked,
the connection made to the checked address (no second DNS lookup), TLS still checked by host name."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from endpointapi import AddressPolicy, ClientConfig, EndpointApiClient, ForbiddenAddress, transport
from endpointapi.errors import EndpointConnectionError, EndpointRedirect
from endpointapi.guard import InvalidUrl, Service, classify, parse_host_port, parse_networks, parse_url, resolve
from tests.endpointapi.conftest import RawServer, read_request
from tests.support.outbound import LOOPBACK, dns_lookups, socket_connects

KEY = "tr_prod_guardKey0001"


def answer(body: bytes = b'{"ok":true}', status: str = "200 OK", extra: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


class FakeDNS:
    """Answers from a script, one list per lookup (the last repeats); counts the lookups."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers[min(len(self.calls), len(self.answers)) - 1]


def policy(dns: FakeDNS | None = None, **kwargs) -> AddressPolicy:
    return AddressPolicy(allowed_networks=LOOPBACK, resolver=dns, **kwargs)


def client(url: str, address_policy: AddressPolicy, **kwargs) -> EndpointApiClient:
    config = ClientConfig(address_policy=address_policy, retries=0, connect_timeout=1, read_timeout=2)
    return EndpointApiClient(url=url, api_key=KEY, config=config, **kwargs)


@pytest.fixture
def recorded(raw_server):
    """A loopback server answering {"ok": true} and recording each request head."""
    heads: list[bytes] = []

    def handler(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        while not stop.is_set():
            request = read_request(conn)
            if not request:
                return
            heads.append(request)
            server.send(conn, answer())

    server = raw_server(handler)
    server.heads = heads
    return server


# -- parsing: every spelling means one address ------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://0X7F000001/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://0177.0.0.01/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://127.0.1/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://127.0.0.1./", "127.0.0.1"),
        ("http://0/", "0.0.0.0"),
        ("http://2852039166/", "169.254.169.254"),
        ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
        ("http://[0:0:0:0:0:FFFF:7F00:0001]/", "::ffff:7f00:1"),
        ("http://LocalHost:3000/", "localhost"),
        ("http://bücher.example/", "xn--bcher-kva.example"),
    ],
)
def test_numeric_spellings_are_read_as_the_address_they_mean(url, host):
    assert parse_url(url).host == host


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1\\@evil.example/",  # WHATWG: host 127.0.0.1; urlsplit: evil.example
        "http://evil.example\\@127.0.0.1/",
        "http://user:pass@example.com/",
        "http://@example.com/",
        "http://example.com:0/",
        "http://example.com:65536/",
        "http://1.2.3.4.5/",
        "http://example.1/",  # a name ending in a number is an (invalid) IPv4 address to WHATWG
        "http://256.256.256.256/",
        "http://0x100000000/",
        "http://[fe80::1%25eth0]/",
        "http://exa mple.com/",
        "http://example.com/\t",
        "http://a..b/",
        "ftp://example.com/",
        "http:example.com/",
        "//example.com/",
        "",
    ],
)
def test_ambiguous_or_unusable_urls_are_refused(url):
    with pytest.raises(InvalidUrl):
        parse_url(url)


def test_the_request_goes_to_the_host_that_was_validated():
    target = parse_url("http://Example.COM:8080/a/b?c=d#frag")
    assert (target.host, target.port, target.path, target.url) == (
        "example.com",
        8080,
        "/a/b?c=d",
        "http://example.com:8080/a/b?c=d",
    )


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback"),
        ("10.1.2.3", "a private"),
        ("100.64.0.1", "a carrier-grade NAT"),
        ("169.254.169.254", "a link-local"),
        ("::ffff:169.254.169.254", "a link-local"),
        ("64:ff9b::a9fe:a9fe", "a link-local"),
        ("2002:a00:1::", "a private"),
        ("fd12::1", "a unique-local"),
        ("fe80::1", "a link-local"),
        ("ff02::1", "a multicast"),
        ("239.1.1.1", "a multicast"),
        ("0.0.0.0", "an unspecified"),
        ("::", "an unspecified"),
        ("2001:db8::1", "a documentation"),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        # local-use NAT64 (RFC 8215) and SIIT (RFC 2765): the embedded IPv4 first, then the prefix
        ("64:ff9b:1::a00:1", "a private"),
        ("64:ff9b:1::7f00:1", "a loopback"),
        ("64:ff9b:1::808:808", "a local-use NAT64"),
        ("64:ff9b:1:ffff::808:808", "a local-use NAT64"),
        ("::ffff:0:a9fe:a9fe", "a link-local"),
        ("::ffff:0:7f00:1", "a loopback"),
        ("::ffff:0:808:808", "an IPv4-translated"),
    ],
)
def test_classification(address, kind):
    assert classify(ipaddress.ip_address(address)) == kind


def test_allowed_networks_open_only_themselves():
    allowed = AddressPolicy(allowed_networks=parse_networks("10.0.0.0/8"))
    assert allowed.refusal(ipaddress.ip_address("10.9.9.9")) is None
    assert allowed.refusal(ipaddress.ip_address("::ffff:10.9.9.9")) is None  # mapped form of an allowed one
    assert allowed.refusal(ipaddress.ip_address("192.168.0.1")) == "a private"
    assert AddressPolicy(allow_private=True).refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert allowed.refusal(ipaddress.ip_address("::ffff:0:10.9.9.9")) is None  # SIIT form of an allowed one
    assert allowed.refusal(ipaddress.ip_address("64:ff9b:1::10.9.9.9")) is None  # local-use NAT64 form
    with pytest.raises(ValueError, match="'not-a-network' is not a network"):
        parse_networks("10.0.0.0/8,not-a-network")
    listed = parse_networks(["10.0.0.0/8", "fd00::/8", "172.28.0.0/16"])
    assert parse_networks("10.0.0.0/8\n fd00::/8,, 172.28.0.0/16") == listed  # commas or white space


@pytest.mark.parametrize(
    ("value", "expected"),
    [("db.internal:5432", ("db.internal", 5432)), ("0.0.0.0:8000", ("0.0.0.0", 8000)), ("[::1]:80", ("::1", 80))],
)
def test_parse_host_port(value, expected):
    assert parse_host_port(value) == expected


@pytest.mark.parametrize("value", ["db.internal", "db:notaport", ":5432", "db:5432/x", "user@db:5432", "db:0"])
def test_parse_host_port_refuses_what_is_not_host_port(value):
    with pytest.raises(ValueError, match="is not host:port"):
        parse_host_port(value)


# -- infrastructure: host:port pairs refused whatever the policy allows -------------------------------

_ip = ipaddress.ip_address


@pytest.mark.parametrize(
    ("service", "address", "covered"),
    [
        # a loopback service: every loopback spelling, and 0.0.0.0 (which Linux connects to loopback)
        ("127.0.0.1:5432", "127.0.0.1:5432", True),
        ("127.0.0.1:5432", "127.0.0.2:5432", True),
        ("127.0.0.1:5432", "[::1]:5432", True),
        ("[::1]:5432", "127.9.9.9:5432", True),
        ("127.0.0.1:5432", "[::ffff:127.0.0.1]:5432", True),
        ("127.0.0.1:5432", "[64:ff9b:1::7f00:1]:5432", True),
        ("127.0.0.1:5432", "0.0.0.0:5432", True),
        ("127.0.0.1:5432", "127.0.0.1:3000", False),  # pairs, not addresses: other ports stay open
        ("127.0.0.1:5432", "10.0.0.1:5432", False),
        # another address: that address only
        ("10.0.0.5:5432", "10.0.0.5:5432", True),
        ("10.0.0.5:5432", "[::ffff:10.0.0.5]:5432", True),
        ("10.0.0.5:5432", "10.0.0.6:5432", False),
        ("10.0.0.5:5432", "127.0.0.1:5432", False),
        # bound to every address: every address of this machine (loopback is one), none elsewhere
        ("0.0.0.0:8000", "127.0.0.1:8000", True),
        ("0.0.0.0:8000", "[::1]:8000", True),
        ("[::]:8000", "127.0.0.3:8000", True),
        ("0.0.0.0:8000", "127.0.0.1:8001", False),
        ("0.0.0.0:8000", "8.8.8.8:8000", False),
        ("0.0.0.0:8000", "10.255.255.254:8000", False),
    ],
)
def test_a_service_covers_its_pair_in_every_spelling(service, address, covered):
    host, port = parse_host_port(service)
    target_host, target_port = parse_host_port(address)
    mine = Service(name="the database", address=ipaddress.ip_address(host), port=port)
    assert mine.covers(ipaddress.ip_address(target_host), target_port) is covered


def test_infrastructure_is_refused_whatever_the_policy_allows_even_through_a_name(recorded):
    """`recorded` listens on 127.0.0.1:<port>: as the service's own, a name resolving to it is refused."""
    port = recorded.sock.getsockname()[1]
    dns = FakeDNS(["127.0.0.1"])
    everything = AddressPolicy(
        allow_private=True,
        allowed_networks=parse_networks("0.0.0.0/0,::/0"),
        infrastructure=(Service(name="Kongflow's database", address=ipaddress.ip_address("127.0.0.1"), port=port),),
        resolver=dns,
    )
    for url in (f"http://db-alias.example:{port}/", f"http://[::1]:{port}/", f"http://127.0.0.2:{port}/"):
        with socket_connects() as connects, pytest.raises(ForbiddenAddress) as excinfo:
            client(url, everything).ping("x")
        assert connects == []
        assert f"port {port}, Kongflow's database, which no endpoint may use" in excinfo.value.message
        assert "own infrastructure" in excinfo.value.hint
    assert recorded.heads == []
    assert client(recorded.url, replace(everything, infrastructure=())).ping("x").ok  # the same pair, not listed


# -- resolution: once, every address checked, the connection pinned ---------------------------------


def test_a_name_resolving_to_any_refused_address_is_refused_before_connecting():
    dns = FakeDNS(["93.184.216.34", "10.0.0.7"])
    with socket_connects() as connects, pytest.raises(ForbiddenAddress) as excinfo:
        client("https://mixed.example/api/trigger", AddressPolicy(resolver=dns)).ping("x")
    error = excinfo.value
    assert (error.code, error.retryable, error.address) == ("FORBIDDEN_ADDRESS", False, "10.0.0.7")
    assert "ENDPOINTAPI_ALLOWED_NETWORKS" in error.hint
    assert connects == [] and len(dns.calls) == 1


def test_the_connection_is_pinned_to_the_checked_address_dns_rebinding_cannot_move_it(recorded):
    """The name resolves once (to loopback, allowed here); a second lookup would say 10.0.0.1."""
    port = recorded.sock.getsockname()[1]
    dns = FakeDNS(["127.0.0.1"], ["10.0.0.1"])
    c = client(f"http://rebind.test:{port}/api/trigger", policy(dns))
    with socket_connects() as connects, dns_lookups() as lookups:
        assert c.ping("x").ok
    assert dns.calls == [("rebind.test", port)]
    assert "rebind.test" not in lookups  # the system resolver was never asked for the name
    assert connects == [("127.0.0.1", port)]
    assert b"\r\nHost: rebind.test:" in recorded.heads[0]  # virtual hosting still works


def test_a_refused_address_falls_back_to_the_next_checked_one(recorded):
    port = recorded.sock.getsockname()[1]
    dns = FakeDNS(["127.0.0.2", "127.0.0.1"])  # nothing listens on 127.0.0.2
    with socket_connects() as connects:
        assert client(f"http://two.test:{port}/api/trigger", policy(dns)).ping("x").ok
    assert connects == [("127.0.0.2", port), ("127.0.0.1", port)]


def test_each_redirect_hop_is_resolved_and_checked_again(raw_server):
    def redirect_then_ok(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        while not stop.is_set() and read_request(conn):
            server.send(conn, answer(b"", "307 Temporary Redirect", "Location: /next\r\n"))

    server = raw_server(redirect_then_ok)
    port = server.sock.getsockname()[1]
    dns = FakeDNS(["127.0.0.1"], ["10.0.0.1"])  # the second hop's lookup turns private
    with pytest.raises(ForbiddenAddress) as excinfo:
        client(f"http://hop.test:{port}/api/trigger", policy(dns)).execute_job({"run": 1})
    assert excinfo.value.address == "10.0.0.1"
    assert len(dns.calls) == 2 and server.connections == 1


def test_unresolvable_names_are_retryable_connection_errors():
    def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(EndpointConnectionError) as excinfo:
        client("http://nowhere.test/api/trigger", AddressPolicy(resolver=nxdomain)).ping("x")
    assert excinfo.value.retryable and "could not be resolved" in excinfo.value.hint


def test_send_needs_the_pinning_session():
    with pytest.raises(TypeError):
        transport.send(
            requests.Session(),
            "http://127.0.0.1:9/",
            policy=AddressPolicy(allow_private=True),
            headers={},
            body=None,
            connect_timeout=1,
            read_timeout=1,
            max_bytes=10,
        )


def test_a_generic_post_for_non_endpoint_callers(recorded):
    """What outbound webhooks use: any headers and body, the same guard, timeouts and size cap."""
    response = transport.send(
        transport.shared_session(),
        recorded.url,
        policy=policy(),
        headers={"content-type": "application/json", "x-signature": "abc"},
        body=b'{"hello":"world"}',
        connect_timeout=1,
        read_timeout=2,
        max_bytes=1024,
        action="WEBHOOK",
    )
    assert (response.status_code, response.body) == (200, b'{"ok":true}')
    head = recorded.heads[0]
    assert head.startswith(b"POST /api/trigger HTTP/1.1") and b"x-signature: abc" in head
    assert head.endswith(b'{"hello":"world"}')
    with pytest.raises(ForbiddenAddress):
        transport.send(
            transport.shared_session(),
            recorded.url,
            policy=AddressPolicy(),
            headers={},
            body=None,
            connect_timeout=1,
            read_timeout=1,
            max_bytes=10,
        )


def test_cross_origin_redirect_error_names_the_target(raw_server):
    def elsewhere(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        read_request(conn)
        server.send(conn, answer(b"", "308 Permanent Redirect", "Location: http://127.0.0.1:9/steal\r\n"))

    server = raw_server(elsewhere)
    with socket_connects() as connects, pytest.raises(EndpointRedirect) as excinfo:
        client(server.url, policy()).ping("x")
    assert "is redirecting to http://127.0.0.1:9/steal, another origin" in excinfo.value.message
    assert "register that URL instead" in excinfo.value.hint
    assert ("127.0.0.1", 9) not in connects


def test_http_to_https_on_another_port_of_the_same_host_is_not_followed(raw_server):
    """Only http:80 -> https:443 is an upgrade; http:P -> https:Q of the same host is another origin."""
    tls = raw_server(lambda conn, stop, server: None, scheme="https")
    tls_port = tls.sock.getsockname()[1]

    def upgrade(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        read_request(conn)
        location = f"Location: https://127.0.0.1:{tls_port}/api/trigger\r\n"
        server.send(conn, answer(b"", "301 Moved Permanently", location))

    plain = raw_server(upgrade)
    with socket_connects() as connects, pytest.raises(EndpointRedirect) as excinfo:
        client(plain.url, policy()).ping("x")
    assert f"is redirecting to https://127.0.0.1:{tls_port}/api/trigger, another origin" in excinfo.value.message
    assert ("127.0.0.1", tls_port) not in connects
    assert ("127.0.0.1", plain.sock.getsockname()[1]) in connects


def test_a_redirect_to_an_infrastructure_pair_is_refused_before_connecting(raw_server):
    """A redirect is only followed to the same origin, so it reaches the service's own pair when the
    name resolves elsewhere on the hop (DNS rebinding): every hop is resolved and checked again."""
    requests_seen: list[bytes] = []

    def moved(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        requests_seen.append(read_request(conn))
        server.send(conn, answer(b"", "307 Temporary Redirect", "Location: /elsewhere\r\n"))

    server = raw_server(moved)
    port = server.sock.getsockname()[1]
    database = Service(name="Kongflow's database", address=ipaddress.ip_address("10.0.0.5"), port=port)
    dns = FakeDNS(["127.0.0.1"], ["10.0.0.5"])  # the registered URL's lookup, then the hop's
    everything = AddressPolicy(allow_private=True, infrastructure=(database,), resolver=dns)
    with socket_connects() as connects, pytest.raises(ForbiddenAddress) as excinfo:
        client(f"http://rebind.test:{port}/api/trigger", everything).ping("x")
    assert f"resolves to 10.0.0.5 port {port}, Kongflow's database" in excinfo.value.message
    assert connects == [("127.0.0.1", port)] and len(requests_seen) == 1  # the hop never connected
    assert dns.calls == [("rebind.test", port), ("rebind.test", port)]


# -- TLS: connected by address, verified by name ----------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=pinned.test",
             "-addext", "subjectAltName=DNS:pinned.test", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl unavailable: {exc}")
    return cert, key


@pytest.mark.parametrize(("name", "ok"), [("pinned.test", True), ("other.test", False)])
def test_tls_sends_the_name_and_verifies_the_certificate_against_it(raw_server, certificate, name, ok):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, server_name, ctx: names.append(server_name)

    def tls(conn: socket.socket, stop: threading.Event, server: RawServer) -> None:
        try:
            wrapped = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return
        read_request(wrapped)
        wrapped.sendall(answer())

    server = raw_server(tls, scheme="https")
    port = server.sock.getsockname()[1]
    session = transport.new_session()
    session.verify = str(cert)
    c = client(f"https://{name}:{port}/api/trigger", policy(FakeDNS(["127.0.0.1"])), session=session)
    if ok:
        assert c.ping("x").ok
    else:
        with pytest.raises(EndpointConnectionError, match="Could not connect"):
            c.ping("x")
    assert names == [name]  # SNI is the name, though the socket went to 127.0.0.1


def test_resolve_returns_the_checked_addresses_in_order():
    target = parse_url("http://multi.test/")
    dns = FakeDNS(["127.0.0.1", "::1", "127.0.0.1"])
    assert resolve(target, policy(dns)) == ["127.0.0.1", "::1"]
