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


@pytest.fixture
def one_torch_thread():
    """One torch thread: on a shared 2-core machine two contended threads are 5-10x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
