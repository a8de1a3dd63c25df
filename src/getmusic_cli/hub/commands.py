"""Bodies of `getmusic models ...` (cli.py only parses options and calls these)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from getmusic_cli.errors import GetMusicError
from getmusic_cli.hub import cache
from getmusic_cli.hub.registry import DEBUG_MODEL, ModelEntry, Registry, load_registry

MODEL_CARD = "MODEL_CARD.md"
DEBUG_DESCRIPTION = "Tiny randomly initialised model for tests and dry runs (built in, nothing to download)."


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def _classes(entry: ModelEntry, cache_dir) -> list[str]:
    """The entry's classes, else those in its config.json when the bundle is on disk."""
    if entry.classes:
        return list(entry.classes)
    config = cache.entry_dir(entry, cache_dir) / "config.json"
    try:
        return list(json.loads(config.read_text()).get("classes", []))
    except (OSError, ValueError, AttributeError):
        return []


def _entry(registry: Registry, name: str) -> ModelEntry:
    return registry.get(name)


def list_models(console: Console, cache_dir: str | Path | None = None) -> None:
    registry = load_registry(cache_dir)
    table = Table(title=f"models (cache: {cache.cache_root(cache_dir)})")
    for col in ("name", "version", "kind", "size", "downloaded"):
        table.add_column(col, no_wrap=True)
    table.add_column("classes")
    table.add_column("licence")
    table.add_row(DEBUG_MODEL, "-", "bundle", "0 B", "built in", "all (random)", "MIT")
    for entry in registry:
        table.add_row(
            entry.name,
            entry.version,
            entry.kind,
            human_size(entry.size),
            cache.entry_state(entry, cache_dir),
            ", ".join(_classes(entry, cache_dir)) or "-",
            entry.licence,
        )
    console.print(table)


def model_info(console: Console, name: str, cache_dir: str | Path | None = None) -> None:
    if name == DEBUG_MODEL:
        console.print(f"[bold]{DEBUG_MODEL}[/]: {DEBUG_DESCRIPTION}")
        return
    entry = _entry(load_registry(cache_dir), name)
    state = cache.entry_state(entry, cache_dir)
    folder = cache.entry_dir(entry, cache_dir)
    rows = [
        ("name", entry.name),
        ("version", entry.version),
        ("kind", entry.kind),
        ("description", entry.description),
        ("classes", ", ".join(_classes(entry, cache_dir)) or "-"),
        ("licence", entry.licence),
        ("size", human_size(entry.size)),
        ("downloaded", state),
        ("folder", str(folder)),
        ("registry", entry.source),
    ] + [(key, json.dumps(value) if not isinstance(value, str) else value) for key, value in entry.extra.items()]
    info = Table(show_header=False, box=None)
    info.add_column(style="bold")
    info.add_column(overflow="fold")
    for key, value in rows:
        info.add_row(key, value)
    console.print(info)
    files = Table(title="files")
    for col in ("name", "size", "sha256", "url"):
        files.add_column(col, overflow="fold")
    for f in entry.files:
        files.add_row(f.name, human_size(f.size), f.sha256 or "-", f.url)
    console.print(files)
    card = folder / MODEL_CARD
    if state in ("yes", "embedded") and card.is_file():
        console.rule(MODEL_CARD)
        console.print(card.read_text(), markup=False, highlight=False)


def download_model(console: Console, name: str, cache_dir: str | Path | None = None) -> Path:
    entry = _entry(load_registry(cache_dir), name)
    folder = cache.ensure_entry(entry, cache_dir)
    if entry.embedded:
        console.print(f"{entry.ref} ships inside the package ({folder}): nothing to download")
    else:
        console.print(f"{entry.ref}: {len(entry.files)} file(s) verified in {folder}")
    return folder


def remove_model(console: Console, name: str, cache_dir: str | Path | None = None) -> bool:
    entry = _entry(load_registry(cache_dir), name)
    removed = cache.remove_entry(entry, cache_dir)
    where = cache.entry_dir(entry, cache_dir)
    console.print(f"removed {entry.ref} ({where})" if removed else f"{entry.ref} is not in the cache ({where})")
    return removed


def import_original_command(
    console: Console,
    checkpoint: Path,
    output: Path,
    vocab: Path | None = None,
    force: bool = False,
    cache_dir: str | Path | None = None,
) -> Path:
    """Read the original checkpoint once (weights_only) and write our bundle to ``output``."""
    checkpoint, output = Path(checkpoint), Path(output)
    if not checkpoint.is_file():
        raise GetMusicError(f"checkpoint {checkpoint} does not exist")
    if vocab is not None and not Path(vocab).is_file():
        raise GetMusicError(f"vocabulary {vocab} does not exist")
    if output.exists() and (not output.is_dir() or any(output.iterdir())) and not force:
        raise GetMusicError(f"{output} already exists: choose another -o or pass --force")
    from getmusic_cli.hub.original import import_original
    from getmusic_cli.hub.resolve import original_vocab

    dict_txt = Path(vocab) if vocab is not None else original_vocab(cache_dir)
    output.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target, then swap it in: a failed import never leaves half a bundle at -o.
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        made = Path(import_original(checkpoint, dict_txt, tmp / "bundle"))
        if output.exists():
            shutil.rmtree(output) if output.is_dir() else output.unlink()
        made.replace(output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    size = sum(p.stat().st_size for p in output.iterdir() if p.is_file())
    console.print(f"wrote {output} ({human_size(size)}): {', '.join(sorted(p.name for p in output.iterdir()))}")
    return output
