"""MIDI → WAV with a General MIDI soundfont (the `audio` extra).

Engine: symusic 0.5's Synthesizer (renders hundreds of times faster than real time on one core) playing the
TimGM6mb soundfont that pretty_midi's wheel ships, so `pip install "getmusic-cli[audio]"` is all a user needs and
nothing is downloaded at run time. `--soundfont FILE` or GETMUSIC_SOUNDFONT picks another .sf2.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

from getmusic_cli.errors import GetMusicError

SAMPLE_RATE = 44100
PEAK = 10 ** (-1 / 20)  # normalise every file to -1 dBFS: as loud as it can be without clipping
FADE_SECONDS = 0.01  # symusic stops at the last note-off; a short fade avoids a click there
SOUNDFONT_ENV = "GETMUSIC_SOUNDFONT"
PACKAGED_SOUNDFONT = ("pretty_midi", "TimGM6mb.sf2")  # (package, file): GPL-2, by Tim Brechbill
INSTALL_HINT = "pip install 'getmusic-cli[audio]'"
# symusic 0.5.9 never returns on some notes of some soundfonts (TimGM6mb: e.g. program 33 at key 107), so the
# synthesizer runs in a child process that is stopped after this long (seconds; it renders 100x real time).
TIMEOUT_BASE = 30.0
TIMEOUT_PER_SECOND = 0.5
# Keys above this (E7) hang symusic 0.5.9 with TimGM6mb on some programs: measured one note at a time for all 128
# programs and the drum kit, 90 of the (program, key) pairs hang, every one at key 101-108 (program 70 at 101),
# none on the drum kit. With that soundfont such notes are played octaves lower; the MIDI file is never changed.
TIMGM6MB_HIGHEST_KEY = 100


def find_soundfont(soundfont: str | Path | None = None) -> Path:
    """The .sf2 to play with: the one given, else $GETMUSIC_SOUNDFONT, else the packaged TimGM6mb.sf2."""
    given = soundfont or os.environ.get(SOUNDFONT_ENV) or None
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise GetMusicError(f"soundfont {path}: no such file")
    else:
        package, name = PACKAGED_SOUNDFONT
        spec = importlib.util.find_spec(package)  # find, not import: pretty_midi itself is never loaded
        folders = list(spec.submodule_search_locations or []) if spec else []
        found = [Path(f) / name for f in folders if (Path(f) / name).is_file()]
        if not found:
            raise GetMusicError(f"audio needs a General MIDI soundfont: {INSTALL_HINT} (or set {SOUNDFONT_ENV})")
        path = found[0]
    with path.open("rb") as handle:
        header = handle.read(12)
    # symusic crashes the process on a file that is not a soundfont: check the RIFF 'sfbk' header first.
    if header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise GetMusicError(f"soundfont {path}: not a SoundFont 2 (.sf2) file")
    return path


def require_audio(soundfont: str | Path | None = None) -> Path:
    """Fail early, with one line, when the engine or the soundfont is missing; return the soundfont."""
    try:
        import symusic  # noqa: F401
    except ImportError:
        raise GetMusicError(f"audio needs the 'audio' extra: {INSTALL_HINT}") from None
    return find_soundfont(soundfont)


def fold_high_notes(score, highest: int) -> int:
    """Move pitched notes above ``highest`` down by octaves until they fit (drums untouched); returns how many."""
    moved = 0
    for track in score.tracks:
        if track.is_drum:
            continue
        for note in track.notes:
            if note.pitch > highest:
                note.pitch -= 12 * -(-(note.pitch - highest) // 12)
                moved += 1
    return moved


def synthesize(midi: str | Path, soundfont: Path) -> np.ndarray:
    """The song as float32 stereo, shape (samples, 2), peak-normalised to PEAK with a short fade at the end."""
    import symusic

    try:
        score = symusic.Score(str(midi))
        if soundfont.name == PACKAGED_SOUNDFONT[1]:
            fold_high_notes(score, TIMGM6MB_HIGHEST_KEY)
        audio = symusic.Synthesizer(str(soundfont), SAMPLE_RATE, 0).render(score, True)
    except RuntimeError as exc:
        raise GetMusicError(f"{Path(midi).name}: cannot be rendered ({str(exc).splitlines()[0]})") from None
    except TypeError:  # symusic 0.6.0's render is broken
        version = getattr(symusic, "__version__", "?")
        raise GetMusicError(f"symusic {version} cannot render audio: pip install 'symusic>=0.5.9,<0.6'") from None
    audio = np.asarray(audio, dtype=np.float32).T.copy()
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio *= PEAK / peak
    fade = min(len(audio), int(FADE_SECONDS * SAMPLE_RATE))
    if fade:
        audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return audio


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """16-bit PCM WAV (render_wav makes it atomic: the child writes a temporary file that the parent renames)."""
    path = Path(path)
    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(pcm.shape[1])
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return path


def render_wav(midi: str | Path, wav: str | Path, soundfont: str | Path | None = None) -> Path:
    """Render a MIDI file to a WAV file with the General MIDI soundfont; returns the WAV's path."""
    from getmusic_cli.inspect import song_seconds
    from getmusic_cli.score.midi_io import read_midi

    sf2 = require_audio(soundfont)
    wav = Path(wav)
    if not wav.parent.is_dir():
        raise GetMusicError(f"{wav}: folder {wav.parent} does not exist")
    song = read_midi(midi)  # the project's reader gives the one-line errors for bad files (symusic reads them silently)
    timeout = TIMEOUT_BASE + TIMEOUT_PER_SECOND * song_seconds(song, song.end_tick)
    fd, tmp = tempfile.mkstemp(prefix=f".{wav.name}.", suffix=".tmp", dir=wav.parent)
    os.close(fd)
    command = [sys.executable, "-m", "getmusic_cli.preview.audio", str(midi), str(sf2), tmp]
    try:
        try:
            child = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GetMusicError(
                f"{Path(midi).name}: the synthesizer did not finish in {timeout:.0f} s (symusic hangs on some notes "
                "of some soundfonts); try another one with --soundfont or GETMUSIC_SOUNDFONT"
            ) from None
        if child.returncode != 0:
            lines = child.stderr.strip().splitlines() or [f"exit code {child.returncode}"]
            raise GetMusicError(lines[-1].removeprefix("error: "))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600
        os.replace(tmp, wav)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return wav


def render_file(
    midi: str | Path, output: str | Path | None = None, soundfont: str | Path | None = None, force: bool = False
) -> tuple[Path, float]:
    """`getmusic render`: returns (WAV path, seconds of audio). Refuses to overwrite without ``force``."""
    midi = Path(midi)
    wav = Path(output) if output is not None else midi.with_suffix(".wav")
    if wav.exists() and not force:
        raise GetMusicError(f"{wav} exists", cli_hint="use --force to overwrite it")
    render_wav(midi, wav, soundfont)
    with wave.open(str(wav), "rb") as done:
        return wav, done.getnframes() / done.getframerate()


def _child(midi: str, soundfont: str, wav: str) -> int:
    """The child process of render_wav: synthesize and write; a GetMusicError becomes its last stderr line."""
    try:
        write_wav(wav, synthesize(midi, Path(soundfont)))
    except GetMusicError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child(*sys.argv[1:4]))
