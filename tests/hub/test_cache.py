"""The cache: where it lives, verify-on-read, re-download of damaged files, offline mode, remove."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hubserver import leftovers, model_entry, random_bytes, sha256, write_manifest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub import cache
from getmusic_cli.hub.registry import FileEntry, load_registry

SIZE = 2 * 1024 * 1024 + 7


@pytest.fixture
def blob():
    return random_bytes(SIZE, seed=2)


def _file(server, blob: bytes, name: str = "model.bin") -> FileEntry:
    return FileEntry(name=name, url=server.add(name, blob), sha256=sha256(blob), size=len(blob))


def test_cache_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("GETMUSIC_CACHE", str(tmp_path / "env"))
    assert cache.cache_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert cache.cache_root() == tmp_path / "env"
    monkeypatch.delenv("GETMUSIC_CACHE")
    from platformdirs import user_cache_dir

    assert cache.cache_root() == Path(user_cache_dir("getmusic"))


@pytest.mark.parametrize("value, offline", [("1", True), ("true", True), ("0", False), ("", False)])
def test_offline_flag(monkeypatch, value, offline):
    monkeypatch.setenv("GETMUSIC_OFFLINE", value)
    assert cache.is_offline() is offline


def test_second_read_uses_the_cache(server, tmp_path, blob):
    f = _file(server, blob)
    dest = tmp_path / "c" / f.name
    cache.fetch_file(f, dest)
    cache.fetch_file(f, dest)
    assert dest.read_bytes() == blob
    assert server.count(f.name) == 1
    memo = json.loads((dest.parent / cache.MEMO_NAME).read_text())
    assert memo[f.name]["sha256"] == sha256(blob) and memo[f.name]["size"] == len(blob)


def test_corrupted_cached_file_is_detected_and_fetched_again(server, tmp_path, blob, capfd):
    f = _file(server, blob)
    dest = tmp_path / "c" / f.name
    cache.fetch_file(f, dest)
    damaged = bytearray(blob)
    damaged[SIZE // 3] ^= 0xFF  # same size: only the hash can tell
    dest.write_bytes(bytes(damaged))
    cache.fetch_file(f, dest)
    assert dest.read_bytes() == blob
    assert server.count(f.name) == 2
    assert "damaged" in capfd.readouterr().err


def test_truncated_cached_file_is_fetched_again(server, tmp_path, blob):
    f = _file(server, blob)
    dest = tmp_path / "c" / f.name
    dest.parent.mkdir(parents=True)
    dest.write_bytes(blob[:1000])
    cache.fetch_file(f, dest)
    assert dest.read_bytes() == blob


def test_hash_memo_is_keyed_by_size_and_mtime(tmp_path, blob):
    path = tmp_path / "x.bin"
    path.write_bytes(blob)
    assert cache.is_valid(path, sha256(blob), len(blob))
    memo_file = tmp_path / cache.MEMO_NAME
    memo = json.loads(memo_file.read_text())
    memo["x.bin"]["sha256"] = "0" * 64  # the memo is trusted while size and mtime are unchanged ...
    memo_file.write_text(json.dumps(memo))
    assert not cache.is_valid(path, sha256(blob), len(blob))
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # ... and re-hashed once the file changed
    assert cache.is_valid(path, sha256(blob), len(blob))


def test_offline_missing_file_names_it_and_never_connects(server, tmp_path, blob, monkeypatch):
    f = _file(server, blob)
    monkeypatch.setenv("GETMUSIC_OFFLINE", "1")
    dest = tmp_path / "c" / f.name
    with pytest.raises(GetMusicError) as err:
        cache.fetch_file(f, dest, label="model.bin of tiny@1")
    assert "GETMUSIC_OFFLINE=1" in str(err.value) and "model.bin of tiny@1" in str(err.value)
    assert server.count(f.name) == 0


def test_offline_uses_a_good_cached_file(server, tmp_path, blob, monkeypatch):
    f = _file(server, blob)
    dest = tmp_path / "c" / f.name
    cache.fetch_file(f, dest)
    monkeypatch.setenv("GETMUSIC_OFFLINE", "1")
    assert cache.fetch_file(f, dest).read_bytes() == blob
    dest.write_bytes(blob[::-1])
    with pytest.raises(GetMusicError, match="damaged.*GETMUSIC_OFFLINE=1"):
        cache.fetch_file(f, dest)
    assert server.count(f.name) == 1


def _registry_with_tiny(server, tmp_path, monkeypatch):
    files = {
        "config.json": (server.add("tiny/config.json", b'{"classes": ["bass"]}'), b'{"classes": ["bass"]}'),
        "model.bin": (server.add("tiny/model.bin", random_bytes(300_000)), random_bytes(300_000)),
    }
    write_manifest(tmp_path / "reg.json", [model_entry("tiny", files)])
    monkeypatch.setenv("GETMUSIC_REGISTRY", str(tmp_path / "reg.json"))
    return load_registry().get("tiny")


def test_entry_download_state_and_remove(server, tmp_path, monkeypatch):
    entry = _registry_with_tiny(server, tmp_path, monkeypatch)
    assert cache.entry_state(entry) == "no"
    folder = cache.ensure_entry(entry)
    assert folder == tmp_path / "cache" / "models" / "tiny" / "1"
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["config.json", "model.bin"]
    assert cache.entry_state(entry) == "yes"
    (folder / "model.bin").unlink()
    assert cache.entry_state(entry) == "partial"
    assert cache.remove_entry(entry) is True
    assert cache.entry_state(entry) == "no"
    assert not (tmp_path / "cache" / "models" / "tiny").exists()
    assert cache.remove_entry(entry) is False


def test_offline_entry_message_says_how_to_fix(server, tmp_path, monkeypatch):
    entry = _registry_with_tiny(server, tmp_path, monkeypatch)
    monkeypatch.setenv("GETMUSIC_OFFLINE", "1")
    with pytest.raises(
        GetMusicError, match=r"config.json of tiny@1 is not in the cache.*getmusic models download tiny"
    ):
        cache.ensure_entry(entry)
    assert server.count("tiny/config.json") == 0
    assert leftovers(tmp_path) == []
