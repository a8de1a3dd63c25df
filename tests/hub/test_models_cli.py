"""`getmusic models ...` through the real entry point, against the local HTTP server."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from hubserver import model_entry, random_bytes, write_manifest

CARD = b"# Tiny\n\nTrained on nothing at all. Licence CC0.\n"


@pytest.fixture
def tiny(server, tmp_path, monkeypatch):
    files = {
        "config.json": b'{"classes": ["bass", "drums"]}',
        "vocab.txt": b"T1\t1\n",
        "model.safetensors": random_bytes(40_000),
        "MODEL_CARD.md": CARD,
    }
    entry = model_entry("tiny", {n: (server.add(f"tiny/{n}", d), d) for n, d in files.items()}, classes=[])
    monkeypatch.setenv("GETMUSIC_REGISTRY", str(write_manifest(tmp_path / "reg.json", [entry])))
    return files


def test_list_download_info_remove(cli, tiny, server, tmp_path):
    cache_dir = tmp_path / "elsewhere"
    listed = cli("models", "list", "--cache-dir", cache_dir)
    assert listed.exit_code == 0
    row = next(line for line in listed.stdout.splitlines() if "tiny" in line)
    assert " no " in row and "CC0" in row
    assert "debug" in listed.stdout and "original-vocab" in listed.stdout

    got = cli("models", "download", "tiny", "--cache-dir", cache_dir)
    assert got.exit_code == 0, got.stderr
    folder = cache_dir / "models" / "tiny" / "1"
    assert (folder / "model.safetensors").read_bytes() == tiny["model.safetensors"]
    assert server.count("tiny/model.safetensors") == 1

    listed = cli("models", "list", "--cache-dir", cache_dir)
    row = next(line for line in listed.stdout.splitlines() if "tiny" in line)
    assert " yes " in row and "bass" in row

    info = cli("models", "info", "tiny", "--cache-dir", cache_dir)
    assert info.exit_code == 0
    assert "Trained on nothing at all" in info.stdout and "CC0" in info.stdout
    assert "bass, drums" in info.stdout  # classes read from the downloaded config.json

    removed = cli("models", "remove", "tiny", "--cache-dir", cache_dir)
    assert removed.exit_code == 0 and not folder.exists()
    again = cli("models", "remove", "tiny", "--cache-dir", cache_dir)
    assert again.exit_code == 0 and "not in the cache" in again.stdout


def test_unknown_name_is_one_line_and_exit_1(cli):
    for verb in ("info", "download", "remove"):
        result = cli("models", verb, "nope")
        assert result.exit_code == 1
        assert result.stderr.strip().startswith("error: unknown model 'nope'")
        assert len(result.stderr.strip().splitlines()) == 1


def test_download_offline_names_the_missing_file(cli, tiny, monkeypatch, server):
    monkeypatch.setenv("GETMUSIC_OFFLINE", "1")
    result = cli("models", "download", "tiny")
    assert result.exit_code == 1 and "GETMUSIC_OFFLINE=1" in result.stderr and "config.json of tiny@1" in result.stderr
    assert server.count("tiny/config.json") == 0


def test_default_cannot_be_removed(cli):
    result = cli("models", "remove", "default")
    assert result.exit_code == 1 and "ships inside the package" in result.stderr


def test_import_original_writes_the_bundle(cli, tmp_path, monkeypatch):
    def import_original(checkpoint, dict_txt, out_dir):  # the real one is hub/original.py's business
        out = Path(out_dir)
        out.mkdir(parents=True)
        (out / "config.json").write_text(json.dumps({"vocab": Path(dict_txt).read_text()}))
        return out

    monkeypatch.setitem(
        sys.modules, "getmusic_cli.hub.original", types.SimpleNamespace(import_original=import_original)
    )
    ckpt, vocab, out = tmp_path / "checkpoint.pth", tmp_path / "dict.txt", tmp_path / "bundle"
    ckpt.write_bytes(b"pickle")
    vocab.write_text("T1\t1\n")
    result = cli("models", "import-original", ckpt, "--vocab", vocab, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert json.loads((out / "config.json").read_text()) == {"vocab": "T1\t1\n"}
    refused = cli("models", "import-original", ckpt, "--vocab", vocab, "-o", out)
    assert refused.exit_code == 1 and "--force" in refused.stderr
    assert cli("models", "import-original", ckpt, "--vocab", vocab, "-o", out, "--force").exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "checkpoint.pth", "dict.txt"]  # no temp folder left
    missing = cli("models", "import-original", tmp_path / "nope.pth", "-o", tmp_path / "b2")
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
