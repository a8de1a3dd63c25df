"""Print a scorecard report as the model card's markdown tables.

    python training/default/card_tables.py REPORT.json [REPORT.json ...]

Each report is a `getmusic evaluate --json` file (training/default/*.json); for each one this prints a heading
line with the task, the paper figures' table and one table per made class that has musician's figures (bass,
drums, strings; none for a `--make all` report).
"""

import json
import sys
from pathlib import Path

from getmusic_cli.eval.evaluate import PAPER_METRICS
from getmusic_cli.eval.report import PAPER_LABELS

PAPER = [(metric, PAPER_LABELS[metric]) for metric in PAPER_METRICS]
# The card's own class columns: the command's, less "on 16ths", with the units and escapes markdown needs.
CLASS_COLUMNS = {
    "bass": [
        ("density", "notes ÷ real"),
        ("median_pitch", "median − real (st)"),
        ("in_key", "in key"),
        ("below_e1", "below E1"),
        ("chord_tone", "chord tones"),
    ],
    "drums": [
        ("density", "notes ÷ real"),
        ("onset_tv", "onset TV"),
        ("backbeat", "backbeat"),
        ("repetition", "repetition"),
        ("repetition_gap", "\\|rep. − real\\|"),
        ("kit_tv", "kit TV"),
    ],
    "strings": [("density", "notes ÷ real"), ("median_pitch", "median − real (st)"), ("in_key", "in key")],
}
SYSTEM_NAMES = {"model": "**this model**", "debug random": "random model (`debug`)"}


def cell(summary: dict, key: str) -> str:
    if summary.get(key) is None:
        return "—"
    return f"{summary[key]:.3f} ± {summary['se'].get(key, 0.0):.3f}"


def paired_cell(paired: dict, key: str) -> str:
    if key not in paired:
        return "—"
    return f"{paired[key]['diff']:+.3f} ± {paired[key]['se']:.3f}"


def table(report: dict, columns: list[tuple[str, str]], systems: list[str], head: str = "system") -> list[str]:
    lines = [f"| {head} | " + " | ".join(label for _, label in columns) + " |"]
    lines.append("|---|" + "---:|" * len(columns))
    for system in systems:
        summary = report["summary"][system]
        name = SYSTEM_NAMES.get(system, system)
        lines.append(f"| {name} | " + " | ".join(cell(summary, key) for key, _ in columns) + " |")
    for reference in ("rule accompanist", "shuffled real"):
        if reference in report["paired"]:
            paired = report["paired"][reference]
            lines.append(
                f"| model − {reference} (paired) | " + " | ".join(paired_cell(paired, k) for k, _ in columns) + " |"
            )
    return lines


def render(report: dict) -> list[str]:
    model = report["summary"]["model"]
    task = f"keep {', '.join(report['keep'])} → make {', '.join(report['make'])}"
    out = [f"**{task}** ({model['songs']} songs, {model['windows']} windows)", ""]
    pitched = [c for c in report["make"] if c != "drums"]
    paper = PAPER if pitched else PAPER[1:]  # no chord figure without a made pitched track
    references = [s for s in ("model", "rule accompanist", "shuffled real", "debug random") if s in report["summary"]]
    out += table(report, paper, references)
    if report["make"] == ["all"]:  # the card gives only the paper figures where every class is made
        return out
    for name, columns in CLASS_COLUMNS.items():
        keys = [f"{name}.{key}" for key, _ in columns]
        if model.get(keys[0]) is None:
            continue
        systems = [s for s in ("model", "rule accompanist", "shuffled real", "real parts") if s in report["summary"]]
        out += ["", *table(report, list(zip(keys, (label for _, label in columns))), systems, head=name)]
    return out


def main() -> None:
    for path in sys.argv[1:]:
        print("\n".join(render(json.loads(Path(path).read_text()))))
        print()


if __name__ == "__main__":
    main()
