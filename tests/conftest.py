"""Shared test helpers."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from getmusic_cli.cli import main


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `getmusic ARGS...` in-process through the real entry point (the one that turns errors into lines)."""

    def run(*args) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["getmusic", *map(str, args)])
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
