"""`getmusic studio` as a user starts it: one process, the link printed, Ctrl-C stops it and removes its work folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the studio extra is not installed: pip install -e '.[studio]'")

SRC = Path(__file__).resolve().parents[2] / "src"


def test_studio_command_serves_the_example_and_stops_on_ctrl_c(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "TMPDIR": str(tmp_path),
        "GETMUSIC_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    command = [sys.executable, "-m", "getmusic_cli", "studio", "--example", "--no-browser", "--model", "debug"]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            if line.startswith("getmusic studio: "):
                url = line.split(": ", 1)[1].strip()
        assert url and url.startswith("http://127.0.0.1:"), child.stderr.read() if child.poll() is not None else url
        work = [p.name for p in tmp_path.iterdir()]
        assert len(work) == 1 and work[0].startswith("getmusic-studio-")
        base, token = url.split("/?token=")
        request = urllib.request.Request(f"{base}/api/state", headers={"X-Studio-Token": token})
        with urllib.request.urlopen(request, timeout=10) as reply:
            state = json.load(reply)
        assert state["current"]["filename"] == "bach_bwv253.mid" and state["model"] == "debug"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert out.strip().splitlines()[-1] == "studio stopped" and err == ""
    assert list(tmp_path.iterdir()) == []  # the work folder is gone


def test_studio_refuses_a_bad_song_before_serving(cli, tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"nope")
    res = cli("studio", bad, "--no-browser", "--model", "debug")
    assert res.exit_code == 1
    assert "bad.mid: not a MIDI file" in res.stderr and "getmusic studio:" not in res.stdout
    res = cli("studio", bad, "--example", "--no-browser", "--model", "debug")
    assert res.exit_code == 1 and "not both" in res.stderr


def test_port_in_use_or_out_of_range_is_one_line(cli):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        res = cli("studio", "--example", "--no-browser", "--model", "debug", "--port", port)
        assert res.exit_code == 1 and f"port {port} is in use" in res.stderr and "--port" in res.stderr
    finally:
        taken.close()
    res = cli("studio", "--example", "--no-browser", "--model", "debug", "--port", 70000)
    assert res.exit_code == 1 and "65535" in res.stderr
