"""A real HTTP server on 127.0.0.1 for the hub tests, with misbehaviours scripted per request.

No mocks of requests: every download in these tests crosses a socket. The server counts requests and body
bytes per path, so tests can prove that a resumed download did not fetch the file twice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Behaviours a test can queue for the next requests of one path (consumed in order, one per request):
#   "503"      answer 503 with an empty body
#   "drop"     send the headers and half of the body, then close the connection
#   "hold"     send half, set `halfway`, wait for `release`, then send the rest
#   "stall"    send the headers, then stay silent for `stall_seconds` before the body
#   "norange"  ignore the Range header (answer 200 with the whole file)
BEHAVIOURS = ("503", "drop", "hold", "stall", "norange")


class FileServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.plans: dict[str, list[str]] = defaultdict(list)
        self.requests: Counter[str] = Counter()
        self.served: Counter[str] = Counter()  # body bytes written per path
        self.ranges: list[str | None] = []  # Range header of every request, in order
        self.halfway = threading.Event()
        self.release = threading.Event()
        self.stall_seconds = 1.0
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> FileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def add(self, path: str, data: bytes) -> str:
        self.files["/" + path.lstrip("/")] = data
        return self.url(path)

    def plan(self, path: str, *behaviours: str) -> None:
        assert all(b in BEHAVIOURS for b in behaviours)
        self.plans["/" + path.lstrip("/")].extend(behaviours)

    def count(self, path: str) -> int:
        return self.requests["/" + path.lstrip("/")]

    def bytes_served(self, path: str) -> int:
        return self.served["/" + path.lstrip("/")]


def _handler(server: FileServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            with server.lock:
                server.requests[path] += 1
                server.ranges.append(self.headers.get("Range"))
                plan = server.plans[path].pop(0) if server.plans[path] else None
            data = server.files.get(path)
            if data is None:
                self._empty(404)
                return
            if plan == "503":
                self._empty(503)
                return
            start = 0
            rng = self.headers.get("Range")
            if rng and plan != "norange":
                start = int(rng.removeprefix("bytes=").split("-", 1)[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if plan == "stall":
                time.sleep(server.stall_seconds)
            if plan in ("drop", "hold"):
                half = len(body) // 2
                self._write(path, body[:half])
                if plan == "drop":
                    self.close_connection = True
                    return
                server.halfway.set()
                server.release.wait(60)
                self._write(path, body[half:])
                return
            try:
                self._write(path, body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its read timeout)
                self.close_connection = True

        def _write(self, path: str, chunk: bytes) -> None:
            self.wfile.write(chunk)
            self.wfile.flush()
            with server.lock:
                server.served[path] += len(chunk)

        def _empty(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def random_bytes(n: int, seed: int = 0) -> bytes:
    import random

    return random.Random(seed).randbytes(n)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(path: Path, models: list[dict]) -> Path:
    path.write_text(json.dumps({"format": "getmusic-registry/1", "models": models}))
    return path


def model_entry(name: str, files: dict[str, tuple[str, bytes]], version: str = "1", **extra) -> dict:
    """A manifest entry whose files are {file name: (url, content)}."""
    return {
        "name": name,
        "version": version,
        "description": f"test model {name}",
        "classes": ["bass"],
        "licence": "CC0",
        **extra,
        "files": [{"name": n, "url": u, "sha256": sha256(d), "size": len(d)} for n, (u, d) in files.items()],
    }


def leftovers(folder: Path) -> list[str]:
    """Temporary download files anywhere under folder."""
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith((".part", ".lock", ".tmp")))
