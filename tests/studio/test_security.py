"""Only the page this process opened may talk to the studio: token, Host (DNS rebinding), Origin, no CORS."""

from __future__ import annotations

import pytest

from getmusic_cli.studio.security import refusal


def test_refusal_rules():
    ok = {"host": "127.0.0.1:8123"}
    assert refusal({**ok, "x-studio-token": "abc"}, "", "abc", 8123) is None
    assert refusal(ok, "token=abc", "abc", 8123) is None
    assert refusal({"host": "localhost:8123"}, "token=abc", "abc", 8123) is None
    assert refusal({"host": "LOCALHOST:8123"}, "token=abc", "abc", 8123) is None
    assert "token" in refusal(ok, "", "abc", 8123)
    assert "token" in refusal(ok, "token=abd", "abc", 8123)
    assert "token" in refusal(ok, "token=abc&token=abc", "abc", 8123)  # one token, not a list
    assert "token" in refusal({**ok, "x-studio-token": ""}, "token=abc", "abc", 8123)  # the header wins
    for host in ("evil.example:8123", "127.0.0.1:8124", "127.0.0.1", "localhost", "", "127.0.0.1:8123.evil.example"):
        assert "127.0.0.1" in refusal({"host": host}, "token=abc", "abc", 8123), host
    assert "other sites" in refusal({**ok, "origin": "http://evil.example"}, "token=abc", "abc", 8123)
    assert "other sites" in refusal({**ok, "origin": "null"}, "token=abc", "abc", 8123)
    assert refusal({**ok, "origin": "http://127.0.0.1:8123"}, "token=abc", "abc", 8123) is None


@pytest.mark.parametrize("path", ["/", "/static/studio.js", "/static/studio.css", "/api/state", "/api/job"])
def test_every_route_needs_the_token(client, path):
    refused = client.get(path, token=False)
    assert refused.status == 403
    assert "token" in refused.json()["error"]
    wrong = client.get(path, token=False, headers={"X-Studio-Token": client.server.token + "x"})
    assert wrong.status == 403
    assert client.get(path, token=False, query_token=True).status == 200
    assert client.get(path).status == 200


def test_posts_need_the_token_too(client):
    for path in ("/api/open", "/api/map", "/api/generate", "/api/undo", "/api/accept", "/api/cancel"):
        reply = client.post(path, token=False)
        assert reply.status == 403, path
    assert client.server.studio.current is None  # nothing was opened


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "attacker.test", "[::1]:{port}"])
def test_a_foreign_host_header_is_refused_even_with_the_token(client, host):
    reply = client.get("/api/state", host=host.format(port=client.server.port))
    assert reply.status == 403
    assert "127.0.0.1 or localhost" in reply.json()["error"]


def test_localhost_is_accepted(client):
    assert client.get("/api/state", host=f"localhost:{client.server.port}").status == 200


def test_other_origins_are_refused_and_no_cors_header_is_ever_sent(client):
    evil = {"Origin": "http://evil.example"}
    assert client.get("/api/state", headers=evil).status == 403
    preflight = client.request(
        "OPTIONS", "/api/generate", headers={**evil, "Access-Control-Request-Method": "POST"}, token=False
    )
    assert preflight.status == 403
    same = client.get("/api/state", headers={"Origin": f"http://127.0.0.1:{client.server.port}"})
    assert same.status == 200
    for reply in (preflight, same, client.get("/")):
        assert not [h for h in reply.headers if h.startswith("access-control-")]


def test_safety_headers_and_page(client):
    page = client.get("/", token=False, query_token=True)
    assert page.status == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.body.decode()
    assert f"studio.js?token={client.server.token}" in html
    assert "http://" not in html and "https://" not in html  # nothing loaded from elsewhere


def test_binds_to_loopback_only(server):
    assert server.sock.getsockname()[0] == "127.0.0.1"
    assert server.url.startswith(f"http://127.0.0.1:{server.port}/?token=")
    assert len(server.token) >= 32
