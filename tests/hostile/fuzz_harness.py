"""Run getmusic commands on many files, each under a time and memory limit, and classify what came back.

The parent keeps one worker process (``python fuzz_harness.py --worker``) that imports getmusic once and runs
the real CLI entry point in-process for each case; the worker's address space is limited with RLIMIT_AS, and a
case that does not answer within its time limit is a hang: the worker is killed and a fresh one started.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import selectors
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

# Python's own words that must never reach a musician.
LEAKS = (
    "arg is an empty sequence",
    "index out of range",
    "division by zero",
    "has no attribute",
    "unsupported operand",
    "NoneType",
    "invalid literal",
    "object is not",
    "unhashable",
    "out of bounds",
)

SRC = Path(__file__).resolve().parents[2] / "src"


@dataclass
class Outcome:
    name: str
    kind: str  # ok | refused (one clean line) | traceback | messy (not one clean line) | leak | oom | hang | crash
    detail: str
    seconds: float
    maxrss_mb: float


class Harness:
    def __init__(self, time_limit: float = 30.0, memory_mb: int = 3072):
        self.time_limit = time_limit
        self.memory_mb = memory_mb
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", OMP_NUM_THREADS="1")
        env["COLUMNS"] = "200"  # one error line is one line, not wrapped by rich
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(self.memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, name: str, args: list[str]) -> Outcome:
        """Run ``getmusic ARGS`` once; the worker is (re)started as needed."""
        if self.proc is None:
            self._start()
            # The first answer pays for the imports: give it room before counting the case's own time.
            if not self._ready(120.0):
                self.close()
                raise RuntimeError("fuzz worker did not start")
        started = time.perf_counter()
        try:
            self.proc.stdin.write(json.dumps(args) + "\n")
            self.proc.stdin.flush()
            line = self._readline(self.time_limit)
        except BrokenPipeError:  # the worker died after its last answer
            line = None
        elapsed = time.perf_counter() - started
        if line is None:
            alive = self.proc.poll() is None
            self.close()
            self.restarts += 1
            kind = "hang" if alive else "crash"
            return Outcome(name, kind, f"no answer after {elapsed:.1f} s", elapsed, 0.0)
        reply = json.loads(line)
        return Outcome(name, *classify(reply), reply["seconds"], reply["maxrss_mb"])

    def _ready(self, timeout: float) -> bool:
        return self._readline(timeout) == "ready\n"

    def _readline(self, timeout: float) -> str | None:
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout):
                return None
            line = self.proc.stdout.readline()
            return line or None
        finally:
            sel.close()


def classify(reply: dict) -> tuple[str, str]:
    """(kind, detail) of one worker reply."""
    err = reply["stderr"].strip()
    lines = err.splitlines()
    if reply["traceback"] or "Traceback" in err:
        return "traceback", (reply["traceback"] or err)[-2000:]
    if reply["code"] == 0:
        return "ok", ""
    if any(leak in err for leak in LEAKS):
        return "leak", err
    if "out of memory" in err:
        return "oom", err
    if len(lines) != 1 or not lines[0].startswith("error: "):
        return "messy", err
    return "refused", lines[0]


# ----- the worker -------------------------------------------------------------------------------------------------


def _serve(memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    protocol = sys.stdout
    from getmusic_cli.cli import main

    protocol.write("ready\n")
    protocol.flush()
    for line in sys.stdin:
        args = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        code, tb = 0, ""
        started = time.perf_counter()
        sys.argv = ["getmusic", *args]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:  # noqa: BLE001 - what the user would have seen as a traceback
                code, tb = 1, traceback.format_exc()
        reply = {
            "code": code,
            "stderr": err.getvalue(),
            "traceback": tb,
            "seconds": time.perf_counter() - started,
            "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--worker":
    _serve(int(sys.argv[2]))
