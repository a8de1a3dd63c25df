"""Download one pinned file: stream to ``NAME.part``, resume with HTTP Range, retry, verify sha256, rename.

A dropped connection costs only the bytes not yet received; a wrong file never reaches its final name; two
processes asking for one file wait for each other (an fcntl lock on ``NAME.lock``) instead of both downloading.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from getmusic_cli.errors import GetMusicError

try:  # Linux and macOS; elsewhere the lock is a no-op (see FileLock)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

CHUNK = 1 << 16
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Env vars let tests (and users on bad links) tune it without code."""

    attempts: int = 5  # failed tries in a row (no new bytes) before giving up
    backoff: float = 1.0  # seconds before the 2nd try; doubles each time
    max_backoff: float = 30.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # seconds of silence on an open connection

    @classmethod
    def from_env(cls) -> RetryPolicy:
        def number(name: str, default: float) -> float:
            raw = os.environ.get(name)
            if raw is None or raw == "":
                return default
            try:
                return float(raw)
            except ValueError:
                raise GetMusicError(f"{name} must be a number, not {raw!r}") from None

        return cls(
            attempts=max(1, int(number("GETMUSIC_RETRIES", cls.attempts))),
            backoff=number("GETMUSIC_BACKOFF", cls.backoff),
            read_timeout=number("GETMUSIC_TIMEOUT", cls.read_timeout),
        )

    def delay(self, failures: int, retry_after: str | None = None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), self.max_backoff)
        base = min(self.backoff * 2 ** (failures - 1), self.max_backoff)
        return base * (1 + 0.25 * random.random())  # jitter: many clients do not retry in lockstep


class FileLock:
    """Exclusive lock on ``path`` across processes; the lock file is removed when released.

    Removing it is safe because a waiter that wakes up on a removed (stale) inode notices and locks again.
    """

    def __init__(self, path: Path, waiting_message: str | None = None):
        self.path = Path(path)
        self.waiting_message = waiting_message
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
        if fcntl is None:  # pragma: no cover
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        told = False
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if self.waiting_message and not told:
                    print(self.waiting_message, file=sys.stderr, flush=True)
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return self
            os.close(fd)  # the holder removed this lock file when it finished: lock the new one

    def __exit__(self, *exc) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def lock_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".lock")


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    policy: RetryPolicy | None = None,
    label: str | None = None,
    progress: bool | None = None,
) -> str:
    """Fetch ``url`` to ``dest`` and return its sha256. ``dest`` appears only complete and verified.

    If ``dest`` already exists (another process may just have finished it) and matches ``sha256``, nothing is
    downloaded. An interrupted download leaves ``dest.part`` for the next call to resume; a file that fails
    verification is deleted.
    """
    dest = Path(dest)
    label = label or dest.name
    policy = policy or RetryPolicy.from_env()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lock_path(dest), f"waiting for another getmusic process that is downloading {label} ..."):
        if dest.exists() and sha256 is not None:
            if sha256_file(dest) == sha256:
                return sha256
            dest.unlink()
        part = part_path(dest)
        resumed = part.exists() and part.stat().st_size > 0
        _fetch(url, part, size, policy, label, progress)
        actual = sha256_file(part)
        if sha256 is not None and actual != sha256 and resumed:
            # The server's file may have changed under the old .part: one clean try from zero.
            part.unlink()
            _fetch(url, part, size, policy, label, progress)
            actual = sha256_file(part)
        got = part.stat().st_size
        if (sha256 is not None and actual != sha256) or (size is not None and got != size):
            part.unlink()
            raise GetMusicError(
                f"{label} from {url} failed verification (got {got:,} bytes with sha256 {actual[:12]}…, "
                f"expected {_expected(size, sha256)}); the download was deleted"
            )
        os.replace(part, dest)
        return actual


def _expected(size: int | None, sha256: str | None) -> str:
    parts = ([f"{size:,} bytes"] if size is not None else []) + ([f"sha256 {sha256[:12]}…"] if sha256 else [])
    return " with ".join(parts) or "?"


def _fetch(url: str, part: Path, size: int | None, policy: RetryPolicy, label: str, progress: bool | None) -> None:
    scheme = urlparse(url).scheme
    if scheme == "file":
        _copy_local(url, part, label)
    elif scheme in ("http", "https"):
        with _Bar(label, size, progress) as bar:
            _fetch_http(url, part, size, policy, label, bar)
    else:
        raise GetMusicError(f"cannot download {label}: unsupported URL {url!r}")


def _copy_local(url: str, part: Path, label: str) -> None:
    source = Path(unquote(urlparse(url).path))
    try:
        shutil.copyfile(source, part)
    except OSError as exc:
        raise GetMusicError(f"cannot copy {label} from {source}: {exc.strerror or exc}") from None


def _fetch_http(url: str, part: Path, size: int | None, policy: RetryPolicy, label: str, bar: _Bar) -> None:
    import requests

    failures = 0
    tries = 0
    with requests.Session() as session:
        while True:
            tries += 1
            have = part.stat().st_size if part.exists() else 0
            if size is not None and have > size:  # longer than the file can be: start over
                part.unlink()
                have = 0
            if size is not None and have == size:
                return
            bar.update(have)
            gained, error, retry_after = _one_request(session, url, part, have, policy, label, bar)
            if error is None:
                return
            failures = 0 if gained > 0 else failures + 1
            # Bounded both ways: `attempts` failures in a row, and a hard cap however slowly bytes trickle in.
            if failures >= policy.attempts or tries >= 10 * policy.attempts:
                kept = part.stat().st_size if part.exists() else 0
                resume = f"; run the command again to resume from byte {kept:,}" if kept else ""
                raise GetMusicError(
                    f"could not download {label} from {url}: {error} (gave up after {tries} tries{resume})"
                )
            if failures:
                time.sleep(policy.delay(failures, retry_after))


def _one_request(session, url: str, part: Path, have: int, policy: RetryPolicy, label: str, bar: _Bar):
    """One GET. Returns (bytes gained, retryable error or None, Retry-After header)."""
    import requests

    # identity: byte ranges must count the file's own bytes, not a gzip stream of them
    headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={have}-"} if have else {})}
    gained = 0
    try:
        with session.get(
            url, headers=headers, stream=True, timeout=(policy.connect_timeout, policy.read_timeout)
        ) as response:
            status = response.status_code
            if status in (404, 410):
                raise GetMusicError(
                    f"{label} is not at {url} (HTTP {status}): the link is dead or the registry entry is wrong"
                )
            if status in (401, 403):
                raise GetMusicError(f"{label}: access to {url} was refused (HTTP {status})")
            if status == 416 and have:  # our .part does not fit the server's file: start again
                part.unlink()
                return 0, "HTTP 416 (range not satisfiable)", None
            if status in RETRYABLE_STATUS:
                return 0, f"HTTP {status}", response.headers.get("Retry-After")
            if status not in (200, 206):
                raise GetMusicError(f"{label}: unexpected HTTP {status} from {url}")
            if status == 206 and not _range_starts_at(response.headers.get("Content-Range", ""), have):
                part.unlink(missing_ok=True)  # an answer for bytes we did not ask for: start clean
                return 0, "the server sent another byte range than asked", None
            mode = "ab"
            if status == 200 and have:
                mode = "wb"  # the server ignored the Range: take the whole file again
                bar.update(0)
            with open(part, mode) as f:
                for chunk in response.iter_content(CHUNK):
                    f.write(chunk)
                    gained += len(chunk)
                    bar.advance(len(chunk))
                f.flush()
                os.fsync(f.fileno())
            expected = response.headers.get("Content-Length")
            if expected is not None and expected.isdigit() and gained < int(expected):
                return gained, "the connection closed early", None
            return gained, None, None
    except requests.Timeout:
        return gained, f"no answer from {urlparse(url).hostname} within {policy.read_timeout:g} s", None
    except requests.exceptions.ChunkedEncodingError:
        return gained, "the connection broke off", None
    except requests.ConnectionError as exc:
        return gained, f"cannot reach {urlparse(url).hostname} ({_reason(exc)})", None


def _range_starts_at(content_range: str, start: int) -> bool:
    # "bytes 1000-4999/5000"
    try:
        unit, rest = content_range.split(" ", 1)
        return unit == "bytes" and int(rest.split("-", 1)[0]) == start
    except ValueError:
        return False


def _reason(exc: Exception) -> str:
    """The useful end of requests' long nested messages, e.g. 'Connection refused'."""
    text = str(exc)
    found = re.findall(r"\[Errno [^\]]*\] ([^'\")]+)", text)
    if found:
        return found[-1].strip()
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return "the server closed the connection"
    text = text.splitlines()[0] if text else type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


class _Bar:
    """A rich progress bar (size, speed, ETA) on a terminal; one plain line otherwise."""

    def __init__(self, label: str, total: int | None, enabled: bool | None):
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = self.console.is_terminal if enabled is None else enabled
        self.label, self.total = label, total
        self._progress = None
        self._task = None

    def __enter__(self) -> _Bar:
        if not self.enabled:
            size = f" ({self.total / 1e6:.1f} MB)" if self.total else ""
            print(f"downloading {self.label}{size} ...", file=sys.stderr, flush=True)
            return self
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.label, total=self.total)
        return self

    def update(self, completed: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=completed)

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
