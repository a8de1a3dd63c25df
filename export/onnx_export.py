"""Add a verified model.onnx to a released bundle and print its registry entry.

    python export/onnx_export.py BUNDLE_DIR            # export in place, stricter parity check, registry lines
    python export/onnx_export.py BUNDLE_DIR --force    # replace an existing model.onnx

The library code is getmusic_cli.runtime.onnx_export (also behind `getmusic export onnx`). On top of the CLI, this
checks parity at the model's full max_length too and prints the {"name", "url", "sha256", "size"} line that
hub/registry.json needs for model.onnx.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path, help="Bundle folder (config.json, vocabulary, model.safetensors).")
    parser.add_argument("--force", action="store_true", help="Replace an existing model.onnx.")
    parser.add_argument("--url", default=None, help="Where model.onnx will be published (for the registry line).")
    args = parser.parse_args(argv)

    from rich.console import Console

    from getmusic_cli.errors import GetMusicError
    from getmusic_cli.hub.bundle import load_bundle
    from getmusic_cli.runtime.onnx_export import export_bundle, parity_shapes, render_report

    console = Console()
    try:
        config = load_bundle(args.bundle).config
        shapes = parity_shapes(config) + [(1, config.max_length)]
        report = export_bundle(str(args.bundle), args.bundle, force=args.force, shapes=shapes)
    except GetMusicError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 1
    console.print(render_report(report))
    entry = {
        "name": "model.onnx",
        "url": args.url or "URL",
        "sha256": sha256(report.onnx_path),
        "size": report.onnx_path.stat().st_size,
    }
    print(json.dumps(entry))
    return 0


if __name__ == "__main__":
    sys.exit(main())
