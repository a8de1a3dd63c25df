"""A real studio server (uvicorn on 127.0.0.1, a free port) over the tiny `debug` model, and a raw HTTP client
that can send any Host, Origin or token."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass

import pytest

pytest.importorskip("starlette", reason="the studio extra is not installed: pip install -e '.[studio]'")
pytest.importorskip("uvicorn", reason="the studio extra is not installed: pip install -e '.[studio]'")

STEPS = 3


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Client:
    def __init__(self, server):
        self.server = server

    def request(self, method, path, body=None, *, headers=None, token=True, host=None, query_token=False) -> Reply:
        headers = dict(headers or {})
        headers.setdefault("Host", host or f"127.0.0.1:{self.server.port}")
        if token and not query_token:
            headers.setdefault("X-Studio-Token", self.server.token)
        if query_token:
            path += ("&" if "?" in path else "?") + f"token={self.server.token}"
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            conn.close()

    def get(self, path, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw) -> Reply:
        return self.request("POST", path, body if body is not None else {}, **kw)

    def wait_job(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.get("/api/job").json()
            if job["state"] != "running":
                return job
            assert time.monotonic() < deadline, "the generation did not finish"
            time.sleep(0.05)


@pytest.fixture(scope="session")
def debug_generator():
    import torch

    from getmusic_cli.pipeline import Generator, Options

    torch.set_num_threads(1)
    return Generator(Options(model="debug", steps=STEPS, threads=1))


@pytest.fixture
def start_server(tmp_path, request):
    """``start_server(generator)``: a running studio server over it with no song open (``.url``, ``.port``,
    ``.token``, ``.studio``), stopped after the test."""
    from getmusic_cli.studio import make_server
    from getmusic_cli.studio.session import Studio

    def start(generator):
        work = tmp_path / f"work-{len(list(tmp_path.glob('work-*')))}"
        work.mkdir()
        studio = Studio(generator, work)
        srv = make_server(studio, 0)
        thread = srv.start_in_thread()

        def stop():
            studio.cancel()
            studio.wait(30)
            srv.stop(thread)

        request.addfinalizer(stop)
        return srv

    return start


@pytest.fixture
def server(debug_generator, start_server):
    return start_server(debug_generator)


@pytest.fixture
def client(server) -> Client:
    return Client(server)
