"""Fetching one Debian package's .deb into a cache folder and unpacking it without installing it.

`apt-get download` needs no root and installs nothing; `dpkg -x` unpacks the data part only (no maintainer
scripts run). The .deb is checked against the SHA256 that apt's package index gives for it, and reused from the
cache while it still matches.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class DebianError(RuntimeError):
    pass


@dataclass(frozen=True)
class DebPackage:
    name: str
    version: str
    deb: Path
    sha256: str
    root: Path  # where the package's files were unpacked


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _candidate(name: str) -> dict[str, str]:
    """Version, SHA256 and file name of the package apt would download now."""
    if shutil.which("apt-cache") is None:
        raise DebianError("apt-cache not found: this recipe needs a Debian/Ubuntu machine (or a filled cache)")
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", name], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        raise DebianError(f"apt-cache knows no package {name!r} (run apt-get update?)")
    fields = {}
    for line in out.stdout.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in ("Version", "SHA256", "Filename"):
            fields.setdefault(key, value.strip())
    return fields


def _cached_debs(name: str, downloads: Path) -> list[Path]:
    return sorted(downloads.glob(f"{name}_*.deb"))


def fetch(name: str, cache: Path) -> DebPackage:
    """The package's .deb (downloaded once into cache/downloads) unpacked under cache/unpacked/<sha256 prefix>."""
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    try:
        info = _candidate(name)
    except DebianError:
        cached = _cached_debs(name, downloads)
        if not cached:
            raise
        info = {}  # offline: trust the newest cached .deb (its hash is still recorded in the manifest)
    if info:
        deb = downloads / Path(info["Filename"]).name
        if not (deb.is_file() and sha256_file(deb) == info.get("SHA256")):
            run = subprocess.run(
                ["apt-get", "download", f"{name}={info['Version']}"], cwd=downloads, capture_output=True, text=True
            )
            if run.returncode != 0 or not deb.is_file():
                raise DebianError(f"apt-get download {name} failed: {run.stderr.strip()[-300:]}")
        digest = sha256_file(deb)
        if info.get("SHA256") and digest != info["SHA256"]:
            raise DebianError(f"{deb.name}: SHA256 {digest} does not match apt's index {info['SHA256']}")
        version = info["Version"]
    else:
        deb = _cached_debs(name, downloads)[-1]
        digest = sha256_file(deb)
        version = deb.stem.split("_")[1]
    root = cache / "unpacked" / f"{name}-{digest[:16]}"
    if not (root / ".complete").is_file():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        run = subprocess.run(["dpkg", "-x", str(deb), str(root)], capture_output=True, text=True)
        if run.returncode != 0:
            raise DebianError(f"dpkg -x {deb.name} failed: {run.stderr.strip()[-300:]}")
        (root / ".complete").write_text(digest + "\n")
    return DebPackage(name, version, deb, digest, root)
