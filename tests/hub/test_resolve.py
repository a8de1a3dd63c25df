"""--model SPEC resolution: names, folders, archives on disk or behind a URL, original checkpoints."""

from __future__ import annotations

import io
import json
import sys
import tarfile
import types
import zipfile
from pathlib import Path

import pytest
from hubserver import model_entry, random_bytes, sha256, write_manifest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub import cache
from getmusic_cli.hub.registry import load_registry
from getmusic_cli.hub.resolve import import_cached, original_vocab, resolve_model, resolve_path, safe_extract

BUNDLE_FILES = {
    "config.json": b'{"name": "tiny"}\n',
    "vocab.txt": b"T1\t1\n",
    "model.safetensors": random_bytes(50_000),
}


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar_gz(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def _same_files(folder: Path, files: dict[str, bytes]) -> bool:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == files


# ----- names -----


def test_unknown_spec_is_one_line_listing_known_names():
    with pytest.raises(GetMusicError) as err:
        resolve_path("no-such-model")
    message = str(err.value)
    assert "no-such-model" in message and "default" in message and "debug" in message and "\n" not in message


def test_missing_local_path_says_so(tmp_path):
    with pytest.raises(GetMusicError, match="does not exist"):
        resolve_path(str(tmp_path / "gone.pth"))


def test_default_model_is_found_or_clearly_missing():
    entry = load_registry().get("default")
    if cache.entry_state(entry) == "embedded":
        assert (resolve_path("default") / "config.json").is_file()
    else:
        with pytest.raises(GetMusicError, match="the default model is not installed in this build"):
            resolve_model(None)


def _serve_tiny(server, tmp_path, monkeypatch) -> None:
    files = {name: (server.add(f"tiny/{name}", data), data) for name, data in BUNDLE_FILES.items()}
    write_manifest(tmp_path / "reg.json", [model_entry("tiny", files, version="2")])
    monkeypatch.setenv("GETMUSIC_REGISTRY", str(tmp_path / "reg.json"))


def test_registry_name_downloads_once_then_works_offline(server, tmp_path, monkeypatch):
    _serve_tiny(server, tmp_path, monkeypatch)
    folder = resolve_path("tiny@2")
    assert folder == tmp_path / "cache" / "models" / "tiny" / "2"
    assert _same_files(folder, {**BUNDLE_FILES, cache.MEMO_NAME: (folder / cache.MEMO_NAME).read_bytes()})
    monkeypatch.setenv("GETMUSIC_OFFLINE", "1")
    assert resolve_path("tiny") == folder
    assert server.count("tiny/model.safetensors") == 1


def test_vocabulary_entry_is_not_a_model():
    with pytest.raises(GetMusicError, match="original-vocab is a vocab file, not a model"):
        resolve_path("original-vocab")


# ----- URLs of bundle archives -----


def test_zip_url_is_downloaded_extracted_and_cached(server, monkeypatch):
    url = server.add("tiny.zip", _zip(BUNDLE_FILES))
    folder = resolve_path(url)
    assert _same_files(folder, BUNDLE_FILES)
    monkeypatch.setenv("GETMUSIC_OFFLINE", "1")
    assert resolve_path(url) == folder
    assert server.count("tiny.zip") == 1
    assert not any(p.name == "archive" for p in folder.parent.rglob("*"))  # the archive itself is not kept


def test_tar_gz_url_with_one_top_folder(server):
    url = server.add("tiny.tar.gz", _tar_gz({f"tiny-v2/{n}": d for n, d in BUNDLE_FILES.items()}))
    assert _same_files(resolve_path(url), BUNDLE_FILES)


def test_url_pinned_by_sha256(server):
    data = _zip(BUNDLE_FILES)
    url = server.add("tiny.zip", data)
    with pytest.raises(GetMusicError, match="failed verification"):
        resolve_path(url + "#sha256=" + "0" * 64)
    assert _same_files(resolve_path(url + "#sha256=" + sha256(data)), BUNDLE_FILES)


def test_url_offline_and_not_cached(server, monkeypatch):
    url = server.add("tiny.zip", _zip(BUNDLE_FILES))
    monkeypatch.setenv("GETMUSIC_OFFLINE", "1")
    with pytest.raises(GetMusicError, match="GETMUSIC_OFFLINE=1"):
        resolve_path(url)
    assert server.count("tiny.zip") == 0


def test_plain_http_only_to_this_machine():
    with pytest.raises(GetMusicError, match="use https://"):
        resolve_path("http://example.com/model.zip")


def test_404_url_is_clear(server):
    with pytest.raises(GetMusicError, match="404"):
        resolve_path(server.url("nothing.zip"))


def test_archive_without_a_bundle(server):
    url = server.add("junk.zip", _zip({"a/readme.txt": b"hi", "b/readme.txt": b"hi"}))
    with pytest.raises(GetMusicError, match="not a model bundle"):
        resolve_path(url)


# ----- safe extraction -----


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil.txt", "a/../../evil.txt"])
def test_zip_escaping_the_folder_is_refused(tmp_path, name):
    archive = tmp_path / "bad.zip"
    archive.write_bytes(_zip({"config.json": b"{}", name: b"gotcha"}))
    with pytest.raises(GetMusicError, match="outside the archive"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_tar_with_a_link_is_refused(tmp_path):
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(_tar_gz({"config.json": b"{}"}, links={"model.safetensors": "/etc/passwd"}))
    with pytest.raises(GetMusicError, match="links"):
        safe_extract(archive, tmp_path / "out")


def test_tar_escaping_the_folder_is_refused(tmp_path):
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(_tar_gz({"config.json": b"{}", "../evil.txt": b"gotcha"}))
    with pytest.raises(GetMusicError, match="outside the archive"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_local_archive_and_folder(tmp_path):
    archive = tmp_path / "tiny.zip"
    archive.write_bytes(_zip(BUNDLE_FILES))
    folder = resolve_path(str(archive))
    assert _same_files(folder, BUNDLE_FILES)
    assert resolve_path(str(folder)) == folder


# ----- original checkpoints: imported once, keyed by content -----


@pytest.fixture
def fake_importer(monkeypatch):
    """Stands in for hub/original.py (tested by its own helper): records calls, writes a bundle-shaped folder."""
    calls = []

    def import_original(checkpoint, dict_txt, out_dir):
        calls.append((Path(checkpoint), Path(dict_txt).read_bytes()))
        out = Path(out_dir)
        out.mkdir(parents=True)
        (out / "config.json").write_text(json.dumps({"checkpoint": Path(checkpoint).read_bytes().hex()}))
        return out

    monkeypatch.setitem(
        sys.modules, "getmusic_cli.hub.original", types.SimpleNamespace(import_original=import_original)
    )
    return calls


@pytest.fixture
def original_vocab_server(server, tmp_path, monkeypatch):
    """The original-vocab registry entry, re-pointed at the local server (same name and version)."""
    dict_txt = b"T1\t100\nT2\t50\n"
    entry = model_entry(
        "original-vocab", {"dict.txt": (server.add("dict.txt", dict_txt), dict_txt)}, version="abc23db", kind="vocab"
    )
    monkeypatch.setenv("GETMUSIC_REGISTRY", str(write_manifest(tmp_path / "reg.json", [entry])))
    return dict_txt


def test_checkpoint_is_imported_once_with_the_downloaded_vocabulary(
    tmp_path, server, fake_importer, original_vocab_server
):
    ckpt = tmp_path / "checkpoint.pth"
    ckpt.write_bytes(b"pretend pickle")
    first = resolve_path(str(ckpt))
    assert fake_importer == [(ckpt, original_vocab_server)]
    assert (first / "config.json").is_file()
    copy = tmp_path / "elsewhere" / "same.pth"
    copy.parent.mkdir()
    copy.write_bytes(ckpt.read_bytes())
    assert resolve_path(str(copy)) == first  # keyed by content, not by path
    assert len(fake_importer) == 1 and server.count("dict.txt") == 1


def test_another_checkpoint_or_vocabulary_is_another_import(tmp_path, fake_importer, original_vocab_server):
    a, b = tmp_path / "a.pth", tmp_path / "b.pth"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    vocab = tmp_path / "my_dict.txt"
    vocab.write_bytes(b"T1\t1\n")
    folders = {resolve_path(str(a)), resolve_path(str(b)), import_cached(a, vocab=vocab)}
    assert len(folders) == 3 and len(fake_importer) == 3
    assert fake_importer[2] == (a, b"T1\t1\n")


def test_original_vocab_is_fetched_and_verified(server, original_vocab_server):
    path = original_vocab()
    assert path.name == "dict.txt" and path.read_bytes() == original_vocab_server
    original_vocab()
    assert server.count("dict.txt") == 1


def test_import_without_network_names_the_vocabulary(tmp_path, fake_importer, monkeypatch):
    ckpt = tmp_path / "checkpoint.pth"
    ckpt.write_bytes(b"pretend pickle")
    monkeypatch.setenv("GETMUSIC_OFFLINE", "1")
    with pytest.raises(GetMusicError, match="dict.txt of original-vocab@abc23db is not in the cache"):
        resolve_path(str(ckpt))
    assert fake_importer == []


# ----- whole bundles (needs hub/bundle.py) -----


@pytest.fixture
def real_bundle(tmp_path):
    """A genuine bundle written by hub/bundle.py (tiny config, basic vocabulary, one tensor)."""
    pytest.importorskip("getmusic_cli.score.vocab")
    torch = pytest.importorskip("torch")
    from getmusic_cli.hub.bundle import save_bundle
    from getmusic_cli.model.config import debug_config
    from getmusic_cli.score.vocab import Vocabulary

    vocab = Vocabulary.basic()
    return save_bundle(tmp_path / "made", debug_config(vocab_size=vocab.size), vocab, {"w": torch.zeros(3)})


def test_debug_model_needs_no_files():
    pytest.importorskip("getmusic_cli.score.vocab")
    debug = resolve_model("debug")
    assert debug.config.name == "debug" and debug.root is None
    assert debug.vocab.size == debug.config.vocab_size


def test_bundle_folder_and_bundle_url_load(real_bundle, server, monkeypatch):
    local = resolve_model(str(real_bundle))
    assert local.root == real_bundle and local.weights_path.is_file()
    files = {f"made/{p.name}": p.read_bytes() for p in real_bundle.iterdir()}
    remote = resolve_model(server.add("made.tar.gz", _tar_gz(files)))
    assert remote.config == local.config and remote.root != real_bundle
    assert remote.weights_path.read_bytes() == local.weights_path.read_bytes()
    monkeypatch.setenv("GETMUSIC_OFFLINE", "1")
    assert resolve_model(server.url("made.tar.gz")).root == remote.root
