"""Print the tables of a saved ``getmusic evaluate --json`` report: ``python -m getmusic_cli.eval.show FILE``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console

from getmusic_cli.eval.evaluate import EvalReport
from getmusic_cli.eval.report import render_tables


def main(argv: list[str]) -> int:
    console = Console(width=160)
    for name in argv:
        report = EvalReport.from_json(json.loads(Path(name).read_text()))
        for table in render_tables(report):
            console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
