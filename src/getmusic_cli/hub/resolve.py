"""`--model SPEC` → a Bundle.

SPEC is one of: nothing (the embedded default model), ``debug`` (tiny random model), a registry name
(``name`` or ``name@version``), a bundle folder, an original GETMusic checkpoint (``.pth``/``.pt``/``.ckpt``,
imported once into the cache, keyed by its sha256), a bundle archive (``.zip``/``.tar.gz``) on disk, or an
``https://`` URL of one (``#sha256=HEX`` at the end pins it). Bundles, the importer and torch are imported
only when needed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urldefrag, urlparse

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub import cache
from getmusic_cli.hub.download import FileLock, download
from getmusic_cli.hub.registry import DEBUG_MODEL, DEFAULT_MODEL, Registry, known_names, load_registry

if TYPE_CHECKING:
    from getmusic_cli.hub.bundle import Bundle

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt")
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
ORIGINAL_VOCAB = "original-vocab"
_PIN = re.compile(r"^sha256=([0-9a-fA-F]{64})$")


def resolve_model(spec: str | None, cache_dir: str | Path | None = None, *, vocab: str | Path | None = None) -> Bundle:
    """Load the model SPEC names. ``vocab`` is the dict.txt used when SPEC is an original checkpoint."""
    spec = (spec or "").strip() or DEFAULT_MODEL
    if spec == DEBUG_MODEL:
        from getmusic_cli.hub.bundle import debug_bundle

        return debug_bundle()
    return _load(resolve_path(spec, cache_dir, vocab=vocab))


def resolve_path(spec: str, cache_dir: str | Path | None = None, *, vocab: str | Path | None = None) -> Path:
    """The bundle folder SPEC stands for, fetching/importing/extracting it first if needed (no torch
    unless a checkpoint has to be imported)."""
    scheme = urlparse(spec).scheme
    if scheme in ("http", "https"):
        return _from_url(spec, cache_dir)
    if scheme == "file":
        return _from_path(Path(unquote(urlparse(spec).path)), cache_dir, vocab)
    if _looks_like_path(spec):
        return _from_path(Path(spec).expanduser(), cache_dir, vocab)
    registry = load_registry(cache_dir)
    name = spec.partition("@")[0]
    if registry.find(name) is None and Path(spec).exists():
        return _from_path(Path(spec), cache_dir, vocab)
    return _from_registry(spec, registry, cache_dir)


def _looks_like_path(spec: str) -> bool:
    return (
        os.sep in spec
        or "/" in spec
        or spec.startswith((".", "~"))
        or spec.lower().endswith(CHECKPOINT_SUFFIXES + ARCHIVE_SUFFIXES)
    )


def _load(folder: Path) -> Bundle:
    from getmusic_cli.hub.bundle import load_bundle

    return load_bundle(folder)


# ----- registry names -----


def _from_registry(spec: str, registry: Registry, cache_dir) -> Path:
    try:
        entry = registry.get(spec)
    except GetMusicError:
        raise GetMusicError(
            f"unknown model {spec!r}: not a registry name (known: {', '.join(known_names(registry))}), "
            f"a bundle folder, a .pth checkpoint or an https:// URL"
        ) from None
    if entry.kind != "bundle":
        raise GetMusicError(f"{entry.name} is a {entry.kind} file, not a model")
    return cache.ensure_entry(entry, cache_dir)


def original_vocab(cache_dir: str | Path | None = None) -> Path:
    """The original GETMusic dict.txt, downloaded once and verified against the registry's sha256."""
    entry = load_registry(cache_dir).get(ORIGINAL_VOCAB)
    return cache.ensure_entry(entry, cache_dir) / entry.files[0].name


# ----- local paths -----


def _from_path(path: Path, cache_dir, vocab) -> Path:
    if path.is_dir():
        return path
    if not path.exists():
        raise GetMusicError(f"model {path} does not exist (expected a bundle folder, a .pth checkpoint or an archive)")
    name = path.name.lower()
    if name.endswith(CHECKPOINT_SUFFIXES):
        return import_cached(path, cache_dir, vocab)
    if name.endswith(ARCHIVE_SUFFIXES) or zipfile.is_zipfile(path) or _is_tar(path):
        digest = cache.HashMemo(cache_root_sub(cache_dir, "archives"), by_path=True).sha256(path)
        return _extracted(path, cache_root_sub(cache_dir, "archives") / digest[:16], keep_archive=True)
    raise GetMusicError(
        f"{path} is not a bundle folder, an original checkpoint (.pth) or a bundle archive (.zip, .tar.gz)"
    )


def cache_root_sub(cache_dir, *parts: str) -> Path:
    folder = cache.cache_root(cache_dir).joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def import_cached(checkpoint: Path, cache_dir=None, vocab: str | Path | None = None) -> Path:
    """Import an original checkpoint once; later runs find the bundle by the checkpoint's sha256."""
    imported = cache_root_sub(cache_dir, "imported")
    digest = cache.HashMemo(imported, by_path=True).sha256(checkpoint)
    vocab_path = Path(vocab) if vocab else None
    if vocab_path is not None:  # another vocabulary makes another model
        digest = hashlib.sha256((digest + cache.cached_sha256(vocab_path)).encode()).hexdigest()
    out = imported / digest[:16]
    if (out / "config.json").is_file():
        return out
    with FileLock(
        imported / f"{digest[:16]}.lock", f"waiting for another getmusic process importing {checkpoint.name} ..."
    ):
        if (out / "config.json").is_file():
            return out
        from getmusic_cli.hub.original import import_original

        dict_txt = vocab_path if vocab_path is not None else original_vocab(cache_dir)
        tmp = Path(tempfile.mkdtemp(prefix=f".import-{digest[:16]}-", dir=imported))
        try:
            made = Path(import_original(checkpoint, dict_txt, tmp / "bundle"))
            os.replace(made, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


# ----- archives (local or URL) -----


def _from_url(url: str, cache_dir) -> Path:
    bare, fragment = urldefrag(url)
    pin = _PIN.match(fragment) if fragment else None
    if fragment and not pin:
        raise GetMusicError(f"{url}: the only URL fragment understood is #sha256=<64 hex digits>")
    parsed = urlparse(bare)
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname or ""):
        raise GetMusicError(f"{bare}: use https:// (plain http is only allowed to this machine)")
    folder = cache_root_sub(cache_dir, "urls") / hashlib.sha256(bare.encode()).hexdigest()[:16]
    bundle_dir = folder / "bundle"
    if (bundle_dir / "config.json").is_file():  # a URL is treated as immutable: fetched once
        return _bundle_root(bundle_dir, bare)
    if cache.is_offline():
        raise GetMusicError(f"{cache.OFFLINE_ENV}=1 and the model at {bare} is not in the cache ({folder})")
    archive = folder / "archive"
    download(bare, archive, sha256=pin.group(1).lower() if pin else None, label=PurePosixPath(parsed.path).name or bare)
    try:
        return _extracted(archive, folder, keep_archive=False, origin=bare)
    finally:
        archive.unlink(missing_ok=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _extracted(archive: Path, folder: Path, keep_archive: bool, origin: str | None = None) -> Path:
    """Extract ``archive`` once into ``folder/bundle`` (atomically) and return the bundle's root in it."""
    origin = origin or str(archive)
    bundle_dir = folder / "bundle"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / "extract.lock"):
        if not (bundle_dir / "config.json").is_file() and not bundle_dir.is_dir():
            tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=folder))
            try:
                safe_extract(archive, tmp, origin)
                root = _bundle_root(tmp, origin)
                os.replace(root, bundle_dir)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return _bundle_root(bundle_dir, origin)


def _bundle_root(folder: Path, origin: str) -> Path:
    if (folder / "config.json").is_file():
        return folder
    subdirs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX"))]
    if len(subdirs) == 1 and (subdirs[0] / "config.json").is_file():
        return subdirs[0]
    raise GetMusicError(f"{origin} is not a model bundle: no config.json at its top or in its single folder")


def _safe_member(name: str, origin: str) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
        raise GetMusicError(f"{origin}: refusing to extract {name!r} (it points outside the archive)")
    return path


def safe_extract(archive: Path, dest: Path, origin: str | None = None) -> None:
    """Extract regular files and folders only; absolute paths, '..' and links are refused."""
    origin = origin or str(archive)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = _safe_member(info.filename, origin)
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise GetMusicError(f"{origin}: refusing to extract the link {info.filename!r}")
                target = dest.joinpath(*rel.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
        return
    if _is_tar(archive):
        with tarfile.open(archive) as tf:
            for member in tf:
                rel = _safe_member(member.name, origin)
                target = dest.joinpath(*rel.parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    src = tf.extractfile(member)
                    assert src is not None
                    with src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                else:
                    raise GetMusicError(
                        f"{origin}: refusing to extract {member.name!r} (links and devices are not allowed)"
                    )
        return
    raise GetMusicError(f"{origin} is neither a .zip nor a .tar(.gz) archive")
