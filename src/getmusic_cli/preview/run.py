"""`--preview` and `--plot` on generate and infill: OUT.wav and OUT.png beside each output MIDI file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from getmusic_cli.errors import GetMusicError

# work(generator, input path, output paths, progress) -> results, as cli._run_files calls it
Work = Callable[..., list]


@dataclass
class PreviewRequest:
    audio: bool = False  # --preview: OUT.wav
    plot: bool = False  # --plot: OUT.png
    force: bool = False
    maps: dict[str, str] | None = None  # the --map overrides the input was read with


def preview_paths(output: Path, request: PreviewRequest) -> list[Path]:
    suffixes = [".wav"] * request.audio + [".png"] * request.plot
    return [output.with_suffix(s) for s in suffixes]


def with_previews(request: PreviewRequest, work: Work) -> Work:
    """Wrap a generate/infill ``work`` so each result also gets its WAV and PNG (listed in ``result.previews``).

    The extras are checked now, before any model loads, and existing previews are refused before the work runs,
    so a missing extra or a clash leaves nothing half-written.
    """
    if not (request.audio or request.plot):
        return work
    soundfont = None
    if request.audio:
        from getmusic_cli.preview.audio import require_audio

        soundfont = require_audio()
    if request.plot:
        from getmusic_cli.preview.plot import require_plot

        require_plot()

    def wrapped(generator, path: Path, outputs: list[Path], progress) -> list:
        for out in outputs:
            for extra in preview_paths(out, request):
                if extra.exists() and not request.force:
                    raise GetMusicError(f"{extra} exists", cli_hint="use --force to overwrite it")
        results = work(generator, path, outputs, progress)
        for result in results:
            result.previews = _write_previews(path, result, request, soundfont)
        return results

    return wrapped


def _write_previews(source: Path, result, request: PreviewRequest, soundfont) -> list[Path]:
    written = []
    if request.audio:
        from getmusic_cli.preview.audio import render_wav

        written.append(render_wav(result.path, result.path.with_suffix(".wav"), soundfont))
    if request.plot:
        from getmusic_cli.preview.plot import plot_before_after
        from getmusic_cli.score.midi_io import read_midi

        before = read_midi(source, request.maps or None)
        # Output tracks keep their names but not their places: index overrides would hit other tracks.
        by_name = {k: v for k, v in (request.maps or {}).items() if not k.isdigit()}
        after = read_midi(result.path, by_name or None)
        written.append(
            plot_before_after(
                before,
                after,
                result.made,
                result.path.with_suffix(".png"),
                result.changed_bars or None,
                _title(source, result),
            )
        )
    return written


def _title(source: Path, result) -> str:
    made = ", ".join(result.made)
    if result.changed_bars:
        bars = ",".join(f"{a}-{b}" if a != b else str(a) for a, b in result.changed_bars)
        return f"{source.name} → {result.path.name}: bars {bars} of {made} infilled"
    kept = ", ".join(result.kept) or "nothing"
    return f"{source.name} → {result.path.name}: kept {kept}, made {made}"
