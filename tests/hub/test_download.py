"""download(): streaming, resume, retries, verification, locking, against a real local HTTP server."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hubserver import leftovers, random_bytes, sha256

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub.download import RetryPolicy, download, part_path

SIZE = 3 * 1024 * 1024 + 12345  # 3 MB and a bit: several chunks, an odd half
FAST = RetryPolicy(attempts=3, backoff=0.01, read_timeout=10)


@pytest.fixture
def blob():
    return random_bytes(SIZE, seed=1)


def test_download_verifies_and_moves_into_place(server, tmp_path, blob):
    url = server.add("m/model.bin", blob)
    dest = tmp_path / "dl" / "model.bin"
    digest = download(url, dest, sha256=sha256(blob), size=len(blob), policy=FAST)
    assert digest == sha256(blob)
    assert dest.read_bytes() == blob
    assert leftovers(tmp_path) == []
    assert server.count("m/model.bin") == 1
    assert server.bytes_served("m/model.bin") == len(blob)


def test_dropped_connection_resumes_with_range(server, tmp_path, blob):
    url = server.add("model.bin", blob)
    server.plan("model.bin", "drop")
    dest = tmp_path / "model.bin"
    download(url, dest, sha256=sha256(blob), size=len(blob), policy=FAST)
    assert dest.read_bytes() == blob
    assert server.count("model.bin") == 2
    # the second request asked only for what was missing ...
    assert server.ranges[0] is None
    start = int(server.ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < start <= len(blob) // 2  # (a last partial chunk may be lost with the connection)
    # ... so the file crossed the wire about once, not twice
    assert server.bytes_served("model.bin") < 1.1 * len(blob)
    assert leftovers(tmp_path) == []


def test_part_file_left_by_an_earlier_run_is_resumed(server, tmp_path, blob):
    url = server.add("model.bin", blob)
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(blob[:1_000_000])
    download(url, dest, sha256=sha256(blob), size=len(blob), policy=FAST)
    assert dest.read_bytes() == blob
    assert server.bytes_served("model.bin") == len(blob) - 1_000_000


def test_stale_part_file_that_does_not_match_is_refetched_from_zero(server, tmp_path, blob):
    url = server.add("model.bin", blob)
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(b"\0" * 1_000_000)  # e.g. the server's file changed since
    download(url, dest, sha256=sha256(blob), size=len(blob), policy=FAST)
    assert dest.read_bytes() == blob
    assert server.count("model.bin") == 2  # the resumed try failed verification, one clean try followed


def test_server_ignoring_range_restarts_the_file(server, tmp_path, blob):
    url = server.add("model.bin", blob)
    server.plan("model.bin", "norange")
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(blob[:500_000])
    download(url, dest, sha256=sha256(blob), size=len(blob), policy=FAST)
    assert dest.read_bytes() == blob  # not the first 500 kB twice


def test_404_is_a_clear_error(server, tmp_path):
    dest = tmp_path / "missing.bin"
    with pytest.raises(GetMusicError) as err:
        download(server.url("missing.bin"), dest, sha256="0" * 64, policy=FAST)
    message = str(err.value)
    assert "404" in message and server.url("missing.bin") in message and "\n" not in message
    assert server.count("missing.bin") == 1  # a 404 is not retried
    assert not dest.exists() and leftovers(tmp_path) == []


def test_503_twice_then_success(server, tmp_path, blob):
    url = server.add("model.bin", blob)
    server.plan("model.bin", "503", "503")
    dest = tmp_path / "model.bin"
    download(url, dest, sha256=sha256(blob), size=len(blob), policy=FAST)
    assert dest.read_bytes() == blob
    assert server.count("model.bin") == 3


def test_retries_are_bounded(server, tmp_path, blob):
    url = server.add("model.bin", blob)
    server.plan("model.bin", *["503"] * 10)
    with pytest.raises(GetMusicError, match="HTTP 503.*gave up after 3 tries"):
        download(url, tmp_path / "model.bin", sha256=sha256(blob), policy=FAST)
    assert server.count("model.bin") == 3


def test_retry_count_and_backoff_come_from_the_environment(server, tmp_path, blob, monkeypatch):
    monkeypatch.setenv("GETMUSIC_RETRIES", "2")
    url = server.add("model.bin", blob)
    server.plan("model.bin", *["503"] * 5)
    with pytest.raises(GetMusicError, match="gave up after 2 tries"):
        download(url, tmp_path / "model.bin", sha256=sha256(blob))
    monkeypatch.setenv("GETMUSIC_BACKOFF", "soon")
    with pytest.raises(GetMusicError, match="GETMUSIC_BACKOFF must be a number"):
        download(url, tmp_path / "model.bin", sha256=sha256(blob))


def test_silent_server_times_out_and_is_retried(server, tmp_path, blob):
    server.stall_seconds = 1.5
    url = server.add("model.bin", blob)
    server.plan("model.bin", "stall")
    dest = tmp_path / "model.bin"
    download(
        url, dest, sha256=sha256(blob), size=len(blob), policy=RetryPolicy(attempts=3, backoff=0.01, read_timeout=0.3)
    )
    assert dest.read_bytes() == blob
    assert server.count("model.bin") == 2


def test_wrong_sha256_is_an_error_and_leaves_nothing(server, tmp_path, blob):
    url = server.add("model.bin", blob)
    dest = tmp_path / "cache" / "model.bin"
    with pytest.raises(GetMusicError, match="failed verification.*deleted"):
        download(url, dest, sha256=sha256(b"another file"), size=len(blob), policy=FAST)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no .part, no .lock


def test_wrong_size_is_an_error(server, tmp_path, blob):
    url = server.add("model.bin", blob)
    with pytest.raises(GetMusicError, match="failed verification"):
        download(url, tmp_path / "model.bin", sha256=None, size=len(blob) + 1, policy=FAST)
    assert leftovers(tmp_path) == [] and not (tmp_path / "model.bin").exists()


def test_existing_good_file_is_not_downloaded_again(server, tmp_path, blob):
    url = server.add("model.bin", blob)
    dest = tmp_path / "model.bin"
    dest.write_bytes(blob)
    download(url, dest, sha256=sha256(blob), policy=FAST)
    assert server.count("model.bin") == 0


def test_local_file_url_is_copied_and_verified(tmp_path, blob):
    source = tmp_path / "src.bin"
    source.write_bytes(blob)
    dest = tmp_path / "out" / "model.bin"
    download(source.as_uri(), dest, sha256=sha256(blob))
    assert dest.read_bytes() == blob


# ----- two processes, one file -----

_CHILD = """
import sys
from pathlib import Path
from getmusic_cli.hub.download import RetryPolicy, download
download(sys.argv[1], Path(sys.argv[2]), sha256=sys.argv[3], size=int(sys.argv[4]),
         policy=RetryPolicy(attempts=3, backoff=0.01), progress=False)
"""


def _spawn(url: str, dest: Path, blob: bytes) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, str(dest), sha256(blob), str(len(blob))],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _lines(stream) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue[str], text: str, timeout: float = 60) -> str:
    seen = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"never saw {text!r}; stderr so far: {seen}") from None
        seen.append(line)
        if text in line:
            return line


def test_two_processes_download_one_file_once(server, tmp_path, blob):
    url = server.add("model.bin", blob)
    server.plan("model.bin", "hold")  # the first download stops half-way until we release it
    dest = tmp_path / "cache" / "model.bin"
    first = _spawn(url, dest, blob)
    second = None
    try:
        assert server.halfway.wait(60), "the first download never started"
        second = _spawn(url, dest, blob)
        # the second process is now blocked on the lock, while the first one is half-way through
        _wait_for(_lines(second.stderr), "waiting for another getmusic process")
        server.release.set()
        assert first.wait(60) == 0, first.stderr.read()
        assert second.wait(60) == 0
    finally:
        server.release.set()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert dest.read_bytes() == blob
    assert server.count("model.bin") == 1
    assert server.bytes_served("model.bin") == len(blob)
    assert leftovers(tmp_path) == []
