"""The local model cache: where registry files live, checked on every read, fetched when missing.

Layout: ``<root>/models/<name>/<version>/<file>``. Each folder keeps ``.getmusic-hashes.json``, the sha256
of its files memoised by (size, mtime), so a cached file is re-hashed only when it changed on disk.
``<root>`` is ``--cache-dir``, else ``$GETMUSIC_CACHE``, else the platform's user cache dir.
``GETMUSIC_OFFLINE=1`` makes every fetch fail with the name of the missing file instead of using the network.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub.download import download, sha256_file
from getmusic_cli.hub.registry import FileEntry, ModelEntry

CACHE_ENV = "GETMUSIC_CACHE"
OFFLINE_ENV = "GETMUSIC_OFFLINE"
MEMO_NAME = ".getmusic-hashes.json"

__all__ = [
    "cache_root",
    "is_offline",
    "sha256_file",
    "cached_sha256",
    "is_valid",
    "entry_dir",
    "fetch_file",
    "ensure_entry",
    "entry_state",
    "remove_entry",
    "write_atomic",
    "HashMemo",
]


def cache_root(cache_dir: str | Path | None = None) -> Path:
    if cache_dir:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("getmusic"))


def is_offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class HashMemo:
    """sha256 of files, trusted while their (size, mtime) stay the same.

    Kept beside the files (keyed by file name) or, for files outside the cache such as a user's checkpoint,
    in a folder of the cache (``by_path=True``: keyed by absolute path).
    """

    def __init__(self, folder: Path, by_path: bool = False):
        self.path = Path(folder) / MEMO_NAME
        self.by_path = by_path

    def _key(self, file: Path) -> str:
        return str(Path(file).resolve()) if self.by_path else Path(file).name

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def sha256(self, file: Path) -> str:
        st = file.stat()
        seen = self._load().get(self._key(file))
        if isinstance(seen, dict) and seen.get("size") == st.st_size and seen.get("mtime_ns") == st.st_mtime_ns:
            return str(seen.get("sha256"))
        digest = sha256_file(file)
        self.record(file, digest)
        return digest

    def record(self, file: Path, digest: str) -> None:
        st = file.stat()
        data = self._load()
        data[self._key(file)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
        try:
            write_atomic(self.path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
        except OSError:
            pass  # a read-only folder just means hashing again next time

    def forget(self, file: Path) -> None:
        data = self._load()
        if data.pop(self._key(file), None) is not None:
            try:
                write_atomic(self.path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
            except OSError:
                pass


def cached_sha256(path: Path) -> str:
    return HashMemo(path.parent).sha256(path)


def is_valid(path: Path, sha256: str | None, size: int | None) -> bool:
    """Does the file exist with the registry's size and hash? (The hash is memoised by size and mtime.)"""
    if not path.is_file():
        return False
    if size is not None and path.stat().st_size != size:
        return False
    return sha256 is None or cached_sha256(path) == sha256


def entry_dir(entry: ModelEntry, cache_dir: str | Path | None = None) -> Path:
    """Where the entry's files are: the package folder of an embedded entry, else its cache folder."""
    if entry.embedded:
        return entry.package_dir()
    return cache_root(cache_dir) / "models" / entry.name / entry.version


def fetch_file(file: FileEntry, dest: Path, *, label: str | None = None, progress: bool | None = None) -> Path:
    """Return ``dest`` holding exactly the pinned file, downloading it (again) if missing or damaged."""
    label = label or file.name
    dest = Path(dest)
    if dest.exists():
        if is_valid(dest, file.sha256, file.size):
            return dest
        if is_offline():
            raise GetMusicError(
                f"the cached {dest} is damaged (it does not match the registry's size/sha256) "
                f"and {OFFLINE_ENV}=1 forbids fetching it again"
            )
        _say(f"the cached {dest} is damaged (it does not match the registry's size/sha256): downloading it again")
        HashMemo(dest.parent).forget(dest)
        dest.unlink(missing_ok=True)
    elif is_offline():
        raise GetMusicError(f"{OFFLINE_ENV}=1 and {label} is not in the cache ({dest}); download it once while online")
    digest = download(file.url, dest, sha256=file.sha256, size=file.size, label=label, progress=progress)
    HashMemo(dest.parent).record(dest, digest)
    return dest


def ensure_entry(entry: ModelEntry, cache_dir: str | Path | None = None, progress: bool | None = None) -> Path:
    """The folder holding all of the entry's files, verified; downloads what is missing."""
    if entry.embedded:
        return _embedded_dir(entry)
    folder = entry_dir(entry, cache_dir)
    for f in entry.files:
        label = f"{f.name} of {entry.ref}"
        try:
            fetch_file(f, folder / f.name, label=label, progress=progress)
        except GetMusicError as exc:
            if is_offline() and not (folder / f.name).exists():
                raise GetMusicError(
                    f"{OFFLINE_ENV}=1 and {label} is not in the cache ({folder / f.name}); run "
                    f"`getmusic models download {entry.name}` while online"
                ) from None
            raise exc
    return folder


def _embedded_dir(entry: ModelEntry) -> Path:
    folder = entry.package_dir()
    for f in entry.files:
        path = f.package_path()
        if not path.is_file():
            raise GetMusicError(
                f"the {entry.name} model is not installed in this build ({path} is missing); "
                f"use --model debug, a bundle folder or another registry model"
            )
        if f.size is not None and path.stat().st_size != f.size:
            raise GetMusicError(
                f"the installed {path} has {path.stat().st_size:,} bytes, the registry says "
                f"{f.size:,}: reinstall getmusic"
            )
    return folder


def entry_state(entry: ModelEntry, cache_dir: str | Path | None = None) -> str:
    """'embedded', 'not installed', 'yes', 'partial' or 'no' (cheap: sizes only, no hashing)."""
    if entry.embedded:
        return "embedded" if all(f.package_path().is_file() for f in entry.files) else "not installed"
    folder = entry_dir(entry, cache_dir)
    present = [
        (folder / f.name).is_file() and (f.size is None or (folder / f.name).stat().st_size == f.size)
        for f in entry.files
    ]
    return "yes" if all(present) else "partial" if any(present) or _has_parts(folder) else "no"


def _has_parts(folder: Path) -> bool:
    return folder.is_dir() and any(p.name.endswith(".part") for p in folder.iterdir())


def remove_entry(entry: ModelEntry, cache_dir: str | Path | None = None) -> bool:
    """Delete the entry's cached files (never package files). True if something was removed."""
    if entry.embedded:
        raise GetMusicError(f"{entry.name} ships inside the package and cannot be removed")
    folder = entry_dir(entry, cache_dir)
    if not folder.exists():
        return False
    shutil.rmtree(folder)
    parent = folder.parent  # models/<name>: drop it when its last version goes
    if parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
    return True


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
