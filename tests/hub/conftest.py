"""Fixtures of the hub tests: a real HTTP server (hubserver.py) and an isolated cache per test."""

from __future__ import annotations

import pytest
from hubserver import FileServer


@pytest.fixture
def server():
    srv = FileServer().start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def hub_env(monkeypatch, tmp_path):
    """Every hub test gets its own cache, short backoff, online mode and no user registry."""
    monkeypatch.setenv("GETMUSIC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GETMUSIC_BACKOFF", "0.01")
    monkeypatch.delenv("GETMUSIC_OFFLINE", raising=False)
    monkeypatch.delenv("GETMUSIC_REGISTRY", raising=False)
    monkeypatch.delenv("GETMUSIC_RETRIES", raising=False)
    monkeypatch.delenv("GETMUSIC_TIMEOUT", raising=False)
    yield
