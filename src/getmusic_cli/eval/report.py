"""The scorecard as a person reads it: one table of the paper's metrics, one table per made class."""

from __future__ import annotations

from getmusic_cli.eval.evaluate import (
    CHORD_LABELS,
    PAPER_METRICS,
    SYSTEM_MODEL,
    EvalOptions,
    EvalReport,
    evaluate,
)

PAPER_LABELS = {"chord_accuracy": "chord acc.", "pitch": "pitch OA", "duration": "duration OA", "ioi": "IOI OA"}
CLASS_LABELS = {
    "density": "notes ÷ real",
    "median_pitch": "median − real",
    "in_key": "in key",
    "below_e1": "below E1",
    "chord_tone": "chord tones",
    "onset_tv": "onset TV",
    "sixteenths": "on 16ths",
    "backbeat": "backbeat",
    "repetition": "repetition",
    "repetition_gap": "|rep. − real|",
    "kit_tv": "kit TV",
}
SHOWN_DIFFS = ("rule accompanist", "shuffled real")  # every reference's paired difference is in --json


def _cell(value: float | None, se: float | None, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    text = f"{value:+.3f}" if signed else f"{value:.3f}"
    return text if se is None else f"{text} ± {se:.3f}"


def _table(report: EvalReport, title: str | None, names: list[str], labels: list[str], diffs=SHOWN_DIFFS):
    from rich.table import Table

    table = Table(title=title)
    table.add_column("system", min_width=18)
    for label in labels:
        table.add_column(label, justify="right")
    for system, summary in report.summary.items():
        label = f"{system} ({report.model})" if system == SYSTEM_MODEL else system
        table.add_row(label, *(_cell(summary.get(m), summary["se"].get(m)) for m in names))
    for system in diffs:
        if system in report.paired:
            cells = report.paired[system]
            table.add_row(
                f"model − {system}",
                *(_cell(cells.get(m, {}).get("diff"), cells.get(m, {}).get("se"), signed=True) for m in names),
            )
    return table


def made_classes(report: EvalReport) -> list[str]:
    from getmusic_cli.score.tracks import INSTRUMENTS

    names = report.summary.get(SYSTEM_MODEL, {})
    return [c for c in INSTRUMENTS if any(k.startswith(f"{c}.") for k in names)]


def _drawn(sampling: dict) -> str:
    """How the model's parts were drawn, where a report records it: seed and steps, and what differs from plain."""
    if not sampling:
        return ""
    parts = [f"seed {sampling['seed']}", f"{sampling['steps']} steps"]
    if sampling["temperature"] != 1.0:
        parts.append(f"temperature {sampling['temperature']:g}")
    if sampling["top_p"] < 1.0:
        parts.append(f"top-p {sampling['top_p']:g}")
    if sampling["drum_repeat"]:
        parts.append(f"drum repeat {sampling['drum_repeat']:g}")
    if sampling.get("drum_kit_anchor"):  # reports older than the kit anchor lack it
        parts.append(f"kit anchor {sampling['drum_kit_anchor']:g}")
    if sampling.get("drum_onset_anchor"):  # reports older than the onset anchor lack it
        parts.append(f"onset anchor {sampling['drum_onset_anchor']:g}")
    if sampling.get("drum_anchor_song_only"):
        parts.append("anchors aimed from the song alone")
    if sampling.get("drum_anchor_continued_scale", 1.0) != 1.0:
        parts.append(f"anchors ×{sampling['drum_anchor_continued_scale']:g} in continued windows")
    if sampling.get("continued"):
        parts.append("continued as generate makes songs")
    return "; " + ", ".join(parts)


def render_tables(report: EvalReport) -> list:
    """What was run (a line of its own: a table's title wraps at the table's width, which a narrow terminal
    crops), the paper's four metrics, then one table per made class with its musician's metrics."""
    from rich.text import Text

    windows = report.summary.get(SYSTEM_MODEL, {}).get("windows", 0)
    head = (
        f"keep {', '.join(report.keep) or '-'} → make {', '.join(report.make)} "
        f"({len(report.songs)} songs, {windows} windows; {CHORD_LABELS[report.chords]}{_drawn(report.sampling)})"
    )
    tables = [Text(head), _table(report, None, list(PAPER_METRICS), [PAPER_LABELS[m] for m in PAPER_METRICS])]
    summary = report.summary[SYSTEM_MODEL]
    for cls in made_classes(report):
        names = [f"{cls}.{m}" for m in CLASS_LABELS if f"{cls}.{m}" in summary]
        tables.append(_table(report, f"{cls}", names, [CLASS_LABELS[n.split(".", 1)[1]] for n in names]))
    return tables


def run_command(options: EvalOptions, as_json: bool, console, err_console) -> None:
    """The CLI verb: progress on stderr, then the tables (or JSON) on stdout."""
    import json

    report = evaluate(options, console=None if as_json else err_console)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
        return
    for table in render_tables(report):
        console.print(table)
    console.print(
        "mean ± standard error over songs (each song the mean of its windows); model − reference paired by song. "
        "notes ÷ real: density against the real part; median − real: semitones; TV: total-variation distance "
        "(0 = the real part's distribution); on 16ths: share of drum onsets off the 8th grid; backbeat: share of "
        "snare hits on the backbeats; repetition: Jaccard of consecutive bars' drum hits.",
        highlight=False,
    )
    for rel, reason in report.skipped[:10]:
        console.print(f"skipped {rel}: {reason}", highlight=False)
    if len(report.skipped) > 10:
        console.print(f"… and {len(report.skipped) - 10} more songs skipped (all in --json)", highlight=False)
