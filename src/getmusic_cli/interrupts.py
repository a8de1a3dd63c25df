"""SIGTERM handled like Ctrl-C: it raises an exception, so every ``finally`` (temp files, checkpoints) runs."""

from __future__ import annotations

import signal
import threading


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


_received = False


def _raise_terminated(signum, frame) -> None:
    global _received
    _received = True
    raise Terminated()


def was_terminated() -> bool:
    """Whether SIGTERM arrived (click turns the exception into its own exit, so the CLI asks here)."""
    return _received


def terminate_like_interrupt() -> None:
    """Install the SIGTERM handler (only the main thread may install signal handlers)."""
    global _received
    _received = False
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)
