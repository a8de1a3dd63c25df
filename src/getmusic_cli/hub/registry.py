"""The model registry: a JSON manifest shipped in the package, plus an optional user manifest.

Every downloadable file is pinned by URL, size and sha256, so a dead or changed link can never hand a user a
different model silently. Files of the embedded default model use ``package://`` URLs (paths inside the
installed package). ``GETMUSIC_REGISTRY`` (a path or an http(s) URL) adds entries or overrides an entry of
the same name and version.

No torch and no network at import time; a URL manifest is fetched only when the registry is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlparse

from getmusic_cli.errors import GetMusicError

REGISTRY_FORMAT = "getmusic-registry/1"
REGISTRY_ENV = "GETMUSIC_REGISTRY"
PACKAGE_SCHEME = "package://"
DEFAULT_MODEL = "default"
DEBUG_MODEL = "debug"  # built in (hub/bundle.py's debug_bundle): never in a manifest
KINDS = ("bundle", "vocab")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class FileEntry:
    """One file of a model: where it lives and what it must hash to."""

    name: str
    url: str
    sha256: str | None  # None only for package:// files whose hash is not recorded yet
    size: int | None

    @property
    def in_package(self) -> bool:
        return self.url.startswith(PACKAGE_SCHEME)

    def package_path(self) -> Path:
        """The installed location of a package:// file (it may be missing in a build without it)."""
        return package_root() / self.url[len(PACKAGE_SCHEME) :]

    def to_dict(self) -> dict:
        return {"name": self.name, "url": self.url, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class ModelEntry:
    name: str
    version: str
    description: str = ""
    classes: tuple[str, ...] = ()
    licence: str = "unknown"
    kind: str = "bundle"  # "bundle": a model folder; "vocab": a lone vocabulary file
    files: tuple[FileEntry, ...] = ()
    source: str = "package"  # where the entry came from (the package or the user manifest's location)
    extra: dict = field(default_factory=dict, compare=False, hash=False)  # unknown keys, shown by `models info`

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def embedded(self) -> bool:
        """All files ship inside the package (nothing to download)."""
        return bool(self.files) and all(f.in_package for f in self.files)

    @property
    def size(self) -> int | None:
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(sizes)

    def package_dir(self) -> Path:
        """Folder of an embedded entry's files (they must share one folder)."""
        parents = {f.package_path().parent for f in self.files}
        if len(parents) != 1:
            raise GetMusicError(f"registry entry {self.ref}: embedded files must share one folder")
        return parents.pop()

    def file(self, name: str) -> FileEntry:
        for f in self.files:
            if f.name == name:
                return f
        raise GetMusicError(f"registry entry {self.ref} has no file {name!r}")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "description": self.description,
            "classes": list(self.classes),
            "licence": self.licence,
            "files": [f.to_dict() for f in self.files],
            **self.extra,
        }


def package_root() -> Path:
    """The installed getmusic_cli folder (package:// URLs are relative to it)."""
    return Path(__file__).resolve().parent.parent


def builtin_manifest() -> Path:
    return Path(__file__).resolve().parent / "registry.json"


def version_key(version: str) -> tuple:
    """Order versions numerically where they are numbers ("10" > "9"), else as text."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\-+]", version))


class Registry:
    """All known entries; several versions of one name may exist, `name` alone means the newest."""

    def __init__(self, entries: list[ModelEntry]):
        self._entries: dict[tuple[str, str], ModelEntry] = {}
        for entry in entries:
            self._entries[(entry.name, entry.version)] = entry  # later manifests override earlier ones

    def __iter__(self):
        return iter(sorted(self._entries.values(), key=lambda e: (e.name, version_key(e.version))))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted({name for name, _ in self._entries})

    def find(self, name: str, version: str | None = None) -> ModelEntry | None:
        if version is not None:
            return self._entries.get((name, version))
        versions = [e for (n, _), e in self._entries.items() if n == name]
        return max(versions, key=lambda e: version_key(e.version)) if versions else None

    def get(self, spec: str) -> ModelEntry:
        """``name`` or ``name@version``; a one-line error listing what exists otherwise."""
        name, _, version = spec.partition("@")
        entry = self.find(name, version or None)
        if entry is not None:
            return entry
        if version and self.find(name) is not None:
            have = ", ".join(e.version for e in self if e.name == name)
            raise GetMusicError(f"model {name} has no version {version} (known: {have})")
        known = sorted(set(self.names()) | {DEBUG_MODEL}, key=lambda n: (n != DEFAULT_MODEL, n))
        raise GetMusicError(f"unknown model {spec!r} (known: {', '.join(known)})")


def known_names(registry: Registry) -> list[str]:
    """Names a user can pass to --model: the built-in debug model plus every bundle entry."""
    names = {e.name for e in registry if e.kind == "bundle"} | {DEBUG_MODEL}
    return sorted(names, key=lambda n: (n != DEFAULT_MODEL, n))


# ----- parsing -----


def parse_manifest(data: object, source: str, base: str | None = None, trusted: bool = False) -> list[ModelEntry]:
    """Entries of one manifest. ``base`` (a folder path or URL) resolves relative file URLs of user manifests;
    only the built-in manifest (``trusted``) may name package:// files."""
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise GetMusicError(f"registry {source}: expected a JSON object with a 'models' list")
    fmt = data.get("format", REGISTRY_FORMAT)
    if fmt != REGISTRY_FORMAT:
        raise GetMusicError(f"registry {source}: unsupported format {fmt!r} (this getmusic reads {REGISTRY_FORMAT})")
    return [_parse_entry(raw, source, base, trusted) for raw in data["models"]]


def _parse_entry(raw: object, source: str, base: str | None, trusted: bool) -> ModelEntry:
    if not isinstance(raw, dict):
        raise GetMusicError(f"registry {source}: every model must be a JSON object")
    raw = dict(raw)
    name, version = str(raw.pop("name", "")), str(raw.pop("version", ""))
    where = f"registry {source}, model {name or '?'}"
    for label, value in (("name", name), ("version", version)):
        if not _NAME.match(value):
            raise GetMusicError(f"{where}: bad {label} {value!r} (letters, digits, . _ + - only)")
    if name == DEBUG_MODEL:
        raise GetMusicError(f"{where}: the name 'debug' is reserved for the built-in random model")
    kind = str(raw.pop("kind", "bundle"))
    if kind not in KINDS:
        raise GetMusicError(f"{where}: kind must be one of {', '.join(KINDS)}")
    files_raw = raw.pop("files", None)
    if not isinstance(files_raw, list) or not files_raw:
        raise GetMusicError(f"{where}: 'files' must be a non-empty list")
    files = tuple(_parse_file(f, where, base, trusted) for f in files_raw)
    if len({f.name for f in files}) != len(files):
        raise GetMusicError(f"{where}: two files share a name")
    classes = raw.pop("classes", [])
    if not isinstance(classes, list):
        raise GetMusicError(f"{where}: 'classes' must be a list")
    return ModelEntry(
        name=name,
        version=version,
        description=str(raw.pop("description", "")),
        classes=tuple(str(c) for c in classes),
        licence=str(raw.pop("licence", raw.pop("license", "unknown"))),
        kind=kind,
        files=files,
        source=source,
        extra=raw,
    )


def _parse_file(raw: object, where: str, base: str | None, trusted: bool) -> FileEntry:
    if not isinstance(raw, dict):
        raise GetMusicError(f"{where}: every file must be a JSON object")
    name = str(raw.get("name", ""))
    # A bare file name: it becomes a path in the cache, so no folders and no '..'.
    if not _NAME.match(name) or name in (".", ".."):
        raise GetMusicError(f"{where}: bad file name {name!r}")
    url = str(raw.get("url", ""))
    sha256 = raw.get("sha256")
    size = raw.get("size")
    if url.startswith(PACKAGE_SCHEME):
        if not trusted:
            raise GetMusicError(f"{where}: package:// files may only appear in the built-in registry")
        rel = url[len(PACKAGE_SCHEME) :]
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise GetMusicError(f"{where}: bad package path {url!r}")
    else:
        url = _absolute_url(url, base, where)
        if sha256 is None:
            raise GetMusicError(f"{where}: file {name} has no sha256 (every downloaded file must be pinned)")
    if sha256 is not None:
        sha256 = str(sha256).lower()
        if not _SHA256.match(sha256):
            raise GetMusicError(f"{where}: file {name}: sha256 must be 64 hex digits")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise GetMusicError(f"{where}: file {name}: size must be a whole number of bytes")
    return FileEntry(name=name, url=url, sha256=sha256, size=size)


def _absolute_url(url: str, base: str | None, where: str) -> str:
    scheme = urlparse(url).scheme
    if scheme in ("http", "https", "file"):
        return url
    if scheme or not url:
        raise GetMusicError(f"{where}: unsupported URL {url!r} (use https://, file:// or a relative path)")
    if base is None:
        raise GetMusicError(f"{where}: relative URL {url!r} needs a manifest location")
    if urlparse(base).scheme in ("http", "https"):
        return urljoin(base, url)
    return (Path(base) / url).resolve().as_uri()


# ----- loading -----


def load_registry(cache_dir: str | Path | None = None, user: str | None = None) -> Registry:
    """The built-in manifest plus ``user`` (default: $GETMUSIC_REGISTRY), whose entries win on a clash."""
    entries = _read_builtin()
    user = os.environ.get(REGISTRY_ENV) if user is None else user
    if user:
        entries += _read_user_manifest(user, cache_dir)
    return Registry(entries)


def _read_builtin() -> list[ModelEntry]:
    path = builtin_manifest()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # a broken install, not a user mistake, but still one line
        raise GetMusicError(f"the built-in model registry {path} cannot be read: {exc}") from None
    return parse_manifest(data, "package", trusted=True)


def _read_user_manifest(spec: str, cache_dir: str | Path | None) -> list[ModelEntry]:
    if urlparse(spec).scheme in ("http", "https"):
        text = _fetch_manifest(spec, cache_dir)
        base = spec
    else:
        path = Path(spec[len("file://") :] if spec.startswith("file://") else spec).expanduser()
        try:
            text = path.read_text()
        except OSError as exc:
            raise GetMusicError(f"{REGISTRY_ENV}={spec}: cannot read it ({exc.strerror or exc})") from None
        base = str(path.resolve().parent)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise GetMusicError(f"{REGISTRY_ENV}={spec}: not valid JSON ({exc})") from None
    return parse_manifest(data, spec, base)


def _fetch_manifest(url: str, cache_dir: str | Path | None) -> str:
    """Fetch a URL manifest, keeping a copy in the cache so offline runs still know its entries."""
    from getmusic_cli.hub.cache import cache_root, is_offline, write_atomic

    copy = cache_root(cache_dir) / "registries" / (hashlib.sha256(url.encode()).hexdigest()[:16] + ".json")
    if is_offline():
        if copy.exists():
            return copy.read_text()
        raise GetMusicError(f"GETMUSIC_OFFLINE=1 and the registry {url} was never fetched: go online once")
    import requests

    try:
        response = requests.get(url, timeout=(10, 30))
        response.raise_for_status()
        text = response.text
        json.loads(text)
    except (requests.RequestException, ValueError) as exc:
        if copy.exists():
            _warn(f"cannot fetch the registry {url} ({exc}); using the copy from {copy}")
            return copy.read_text()
        raise GetMusicError(f"cannot fetch the registry {url}: {exc}") from None
    write_atomic(copy, text.encode())
    return text


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


# ----- maintenance: record the hashes of the embedded model's files -----


def refresh_package_entry(name: str = DEFAULT_MODEL, manifest: Path | None = None) -> ModelEntry:
    """Rewrite the sizes and sha256 of an embedded entry's files from the files in the package.

    Run after training the default model: ``python -m getmusic_cli.hub.registry refresh default``.
    """
    manifest = manifest or builtin_manifest()
    data = json.loads(manifest.read_text())
    for raw in data["models"]:
        if raw.get("name") != name:
            continue
        for f in raw["files"]:
            if not str(f["url"]).startswith(PACKAGE_SCHEME):
                raise GetMusicError(f"{name}: {f['name']} is not a package:// file")
            path = package_root() / f["url"][len(PACKAGE_SCHEME) :]
            if not path.is_file():
                raise GetMusicError(f"{name}: {path} does not exist")
            from getmusic_cli.hub.cache import sha256_file

            f["sha256"], f["size"] = sha256_file(path), path.stat().st_size
    manifest.write_text(json.dumps(data, indent=2) + "\n")
    return Registry(parse_manifest(data, "package", trusted=True)).get(name)


if __name__ == "__main__":  # python -m getmusic_cli.hub.registry refresh [NAME]
    if len(sys.argv) >= 2 and sys.argv[1] == "refresh":
        entry = refresh_package_entry(sys.argv[2] if len(sys.argv) > 2 else DEFAULT_MODEL)
        for f in entry.files:
            print(f"{f.name}\t{f.size}\t{f.sha256}")
    else:
        print("usage: python -m getmusic_cli.hub.registry refresh [NAME]", file=sys.stderr)
        sys.exit(2)
