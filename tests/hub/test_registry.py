"""The registry: the built-in manifest, user manifests (path or URL), versions, validation."""

from __future__ import annotations

import json

import pytest
from hubserver import model_entry, random_bytes, sha256, write_manifest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub import cache
from getmusic_cli.hub.registry import (
    DEFAULT_MODEL,
    builtin_manifest,
    load_registry,
    package_root,
    parse_manifest,
    refresh_package_entry,
    version_key,
)

ORIGINAL_DICT = (
    "https://raw.githubusercontent.com/microsoft/muzic/abc23dbdd257334f35c4c8bac69a4a74b76587a6/"
    "getmusic/getmusic/utils/dict.txt"
)


def test_builtin_default_model_lives_in_the_package():
    entry = load_registry().get(DEFAULT_MODEL)
    assert entry.kind == "bundle" and entry.embedded
    assert entry.package_dir() == package_root() / "assets" / "default"
    assert {f.name for f in entry.files} >= {"config.json", "model.safetensors"}


def test_builtin_original_vocabulary_is_pinned():
    entry = load_registry().get("original-vocab")
    (f,) = entry.files
    assert entry.kind == "vocab"
    assert (f.name, f.url, f.size) == ("dict.txt", ORIGINAL_DICT, 186_056)
    assert f.sha256 == "e9a4561abe42d23ecc8dcf45b7b0202817d9ec5aa1729c0aaf7230b7659eaa80"


def test_every_builtin_download_is_pinned():
    for entry in load_registry():
        for f in entry.files:
            assert f.in_package or (f.sha256 and f.size), f"{entry.ref}/{f.name} is not pinned"


def test_builtin_manifest_is_plain_json_with_format():
    data = json.loads(builtin_manifest().read_text())
    assert data["format"] == "getmusic-registry/1"


def test_user_manifest_adds_entries_and_versions(tmp_path, monkeypatch):
    blob = b"abc"
    models = [
        model_entry("tiny", {"w.bin": ("w1.bin", blob)}, version="9"),
        model_entry("tiny", {"w.bin": ("w2.bin", blob)}, version="10"),
    ]
    monkeypatch.setenv("GETMUSIC_REGISTRY", str(write_manifest(tmp_path / "reg.json", models)))
    registry = load_registry()
    assert "tiny" in registry.names() and DEFAULT_MODEL in registry.names()
    assert registry.get("tiny").version == "10"  # numeric, not text order
    assert registry.get("tiny@9").files[0].url == (tmp_path / "w1.bin").as_uri()  # relative to the manifest
    assert registry.get("tiny").source == str(tmp_path / "reg.json")
    with pytest.raises(GetMusicError, match=r"tiny has no version 3 \(known: 9, 10\)"):
        registry.get("tiny@3")


def test_relative_file_url_downloads_from_beside_the_manifest(tmp_path, monkeypatch):
    blob = random_bytes(10_000)
    (tmp_path / "weights.bin").write_bytes(blob)
    write_manifest(tmp_path / "reg.json", [model_entry("local", {"weights.bin": ("weights.bin", blob)})])
    monkeypatch.setenv("GETMUSIC_REGISTRY", str(tmp_path / "reg.json"))
    folder = cache.ensure_entry(load_registry().get("local"))
    assert (folder / "weights.bin").read_bytes() == blob


def test_user_entry_overrides_same_name_and_version(tmp_path, monkeypatch):
    entry = model_entry(
        "original-vocab", {"dict.txt": ("http://127.0.0.1:1/dict.txt", b"x")}, version="abc23db", kind="vocab"
    )
    monkeypatch.setenv("GETMUSIC_REGISTRY", str(write_manifest(tmp_path / "reg.json", [entry])))
    assert load_registry().get("original-vocab").files[0].url == "http://127.0.0.1:1/dict.txt"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(GetMusicError) as err:
        load_registry().get("nope")
    assert "nope" in str(err.value) and "default" in str(err.value) and "debug" in str(err.value)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"name": "../up"}, "bad name"),
        ({"name": "debug"}, "reserved"),
        ({"kind": "weights"}, "kind must be"),
        ({"files": []}, "non-empty"),
        ({"files": [{"name": "../x", "url": "https://h/x", "sha256": "0" * 64}]}, "bad file name"),
        ({"files": [{"name": "x", "url": "https://h/x"}]}, "no sha256"),
        ({"files": [{"name": "x", "url": "https://h/x", "sha256": "xyz"}]}, "64 hex"),
        ({"files": [{"name": "x", "url": "https://h/x", "sha256": "0" * 64, "size": -1}]}, "size"),
        ({"files": [{"name": "x", "url": "package://assets/x", "sha256": "0" * 64}]}, "only appear in the built-in"),
        ({"files": [{"name": "x", "url": "ftp://h/x", "sha256": "0" * 64}]}, "unsupported URL"),
    ],
)
def test_bad_user_entries_are_one_line_errors(change, message):
    raw = {"name": "m", "version": "1", "files": [{"name": "x", "url": "https://h/x", "sha256": "0" * 64}], **change}
    with pytest.raises(GetMusicError, match=message) as err:
        parse_manifest({"models": [raw]}, "user.json", "/tmp")
    assert "\n" not in str(err.value)


def test_bad_manifest_file_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "reg.json").write_text("{not json")
    monkeypatch.setenv("GETMUSIC_REGISTRY", str(tmp_path / "reg.json"))
    with pytest.raises(GetMusicError, match="not valid JSON"):
        load_registry()
    monkeypatch.setenv("GETMUSIC_REGISTRY", str(tmp_path / "missing.json"))
    with pytest.raises(GetMusicError, match="cannot read it"):
        load_registry()


def test_url_manifest_is_fetched_and_kept_for_offline_use(server, monkeypatch):
    blob = b"weights"
    manifest = {"format": "getmusic-registry/1", "models": [model_entry("remote", {"w.bin": ("files/w.bin", blob)})]}
    server.add("reg.json", json.dumps(manifest).encode())
    monkeypatch.setenv("GETMUSIC_REGISTRY", server.url("reg.json"))
    entry = load_registry().get("remote")
    assert entry.files[0].url == server.url("files/w.bin")  # relative to the manifest's URL
    monkeypatch.setenv("GETMUSIC_OFFLINE", "1")
    assert load_registry().get("remote").files[0].sha256 == sha256(blob)
    assert server.count("reg.json") == 1


def test_version_key_orders_numbers_numerically():
    assert version_key("10") > version_key("9")
    assert version_key("1.10") > version_key("1.9")


def test_refresh_package_entry_records_sizes_and_hashes(tmp_path, monkeypatch):
    # a copy of the package with a fake default model, so the real manifest is not touched
    import getmusic_cli.hub.registry as registry

    root = tmp_path / "pkg"
    (root / "assets" / "default").mkdir(parents=True)
    contents = {
        "config.json": b"{}",
        "vocab.txt": b"T1\t1\n",
        "model.safetensors": b"\0" * 100,
        "MODEL_CARD.md": b"# card\n",
    }
    for name, data in contents.items():
        (root / "assets" / "default" / name).write_bytes(data)
    manifest = tmp_path / "registry.json"
    manifest.write_text(builtin_manifest().read_text())
    monkeypatch.setattr(registry, "package_root", lambda: root)
    entry = refresh_package_entry("default", manifest)
    assert {f.name: (f.size, f.sha256) for f in entry.files} == {n: (len(d), sha256(d)) for n, d in contents.items()}
