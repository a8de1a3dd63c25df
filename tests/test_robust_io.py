"""Nothing breaks, nothing is lost: output checks before sampling, no silent replace, SIGTERM and stale temp files,
one clean line naming the file once, song-length limits, and the Python API's str/Path and str/list inputs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import miditoolkit
import mido
import pytest
from test_pipeline import write_song

from getmusic_cli.errors import GetMusicError, naming_file_once, printable
from getmusic_cli.files import check_output, remove_stale_temps, write_atomically
from getmusic_cli.interrupts import Terminated, terminate_like_interrupt
from getmusic_cli.pipeline import Generator, Options
from getmusic_cli.score.limits import ENV_MAX_BARS, Limits
from getmusic_cli.score.midi_io import read_midi


def dead_pid() -> int:
    pid = 4_000_000  # above the default pid_max of Linux; checked anyway
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except OSError:
            pass
        pid += 1


# ----- output location and writing -----


def test_output_that_is_a_folder_or_in_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(GetMusicError, match="is a directory"):
        check_output(tmp_path, overwrite=True)
    with pytest.raises(GetMusicError, match="does not exist"):
        check_output(tmp_path / "nowhere" / "out.mid", overwrite=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_output_in_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(GetMusicError, match="permission denied"):
            check_output(folder / "out.mid", overwrite=True)
    finally:
        folder.chmod(0o700)


def test_cli_checks_the_output_before_sampling(tmp_path, cli, monkeypatch):
    src = write_song(tmp_path / "song.mid")

    def no_sampling(*args, **kwargs):
        raise AssertionError("sampled although the output cannot be written")

    monkeypatch.setattr(Generator, "_sample", no_sampling)
    res = cli("generate", src, "--make", "drums", "--model", "debug", "--steps", "1", "-o", tmp_path)
    assert res.exit_code == 1 and "is a directory" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_file_that_appears_during_the_run_is_not_replaced(tmp_path):
    target = tmp_path / "out.mid"

    def dump(handle):
        handle.write(b"new")
        target.write_bytes(b"precious")  # another program writes the file meanwhile

    with pytest.raises(GetMusicError, match="appeared") as caught:
        write_atomically(target, dump, overwrite=False)
    assert "--force" not in str(caught.value) and "--force" in caught.value.cli_message()
    assert target.read_bytes() == b"precious"
    assert write_atomically(target, lambda h: h.write(b"new"), overwrite=True).read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mid"]


def test_a_write_error_is_one_line_and_leaves_no_temp_file(tmp_path):
    def full_disk(handle):
        raise OSError(28, "No space left on device")

    with pytest.raises(GetMusicError, match="no space left on device"):
        write_atomically(tmp_path / "out.mid", full_disk)
    assert list(tmp_path.iterdir()) == []


def test_stale_temp_files_of_dead_runs_are_removed_live_ones_kept(tmp_path):
    target = tmp_path / "out.mid"
    stale = tmp_path / f".out.mid.{dead_pid()}.abc123.tmp"
    live = tmp_path / f".out.mid.{os.getpid()}.def456.tmp"
    other = tmp_path / f".other.mid.{dead_pid()}.abc.tmp"
    for p in (stale, live, other):
        p.write_bytes(b"")
    write_atomically(target, lambda h: h.write(b"x"))
    assert not stale.exists() and live.exists() and other.exists()
    assert remove_stale_temps(tmp_path / "other.mid") == [other]


def test_sigterm_while_writing_cleans_up_like_ctrl_c(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    try:
        terminate_like_interrupt()

        def dump(handle):
            handle.write(b"half a file")
            os.kill(os.getpid(), signal.SIGTERM)

        with pytest.raises(Terminated):
            write_atomically(tmp_path / "out.mid", dump)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert list(tmp_path.iterdir()) == []


def test_cli_sigterm_during_the_write_exits_143_and_leaves_nothing(tmp_path, cli, monkeypatch):
    src = write_song(tmp_path / "song.mid")
    before = signal.getsignal(signal.SIGTERM)

    def save_then_terminated(self, filename=None, file=None, **kwargs):
        file.write(b"MThd")
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(mido.MidiFile, "save", save_then_terminated)  # the writer saves through mido
    try:
        res = cli("generate", src, "--make", "drums", "--model", "debug", "--steps", "1")
    finally:
        signal.signal(signal.SIGTERM, before)
    assert res.exit_code == 143 and "terminated" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mid"]


# ----- messages -----


def test_a_batch_names_each_bad_file_once_and_strips_control_characters(tmp_path, cli):
    good = write_song(tmp_path / "good.mid")
    bad = tmp_path / "bad\x1b[31m\nname.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\x00\x00\x00\x04\x00\xff\x59\x02")
    folder = tmp_path / "a folder.mid"
    folder.mkdir()
    res = cli("generate", bad, folder, good, "--make", "strings", "--model", "debug", "--steps", "1")
    assert res.exit_code == 1 and (tmp_path / "good.getmusic.mid").exists()
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2, res.stderr
    assert "\x1b" not in res.stderr and lines[0].count("name.mid") == 1
    assert "is a directory" in lines[1] and lines[1].count("a folder.mid") == 1


def test_naming_file_once():
    assert naming_file_once(Path("x/a.mid"), "a.mid: empty file") == "a.mid: empty file"
    assert naming_file_once(Path("x/a.mid"), "nothing to make") == "x/a.mid: nothing to make"
    assert printable("a\x1b[0m\tb\n") == "a?[0m?b?"


# ----- bounded work -----


def long_song(path: Path, bars: int) -> Path:
    midi = miditoolkit.MidiFile(ticks_per_beat=96)
    inst = miditoolkit.Instrument(program=0, name="Piano")
    inst.notes = [miditoolkit.Note(90, 60, 0, 96), miditoolkit.Note(90, 64, 0, bars * 4 * 96)]
    midi.instruments = [inst]
    midi.dump(str(path))
    return path


def test_a_song_longer_than_the_limit_is_refused_and_the_limit_can_be_raised(tmp_path, monkeypatch):
    path = long_song(tmp_path / "long.mid", 2500)
    with pytest.raises(GetMusicError, match="2,500 bars .*limit 2,000"):
        read_midi(path)
    assert read_midi(path, limits=Limits(max_bars=3000)).end_tick == 2500 * 4 * 96
    monkeypatch.setenv(ENV_MAX_BARS, "3000")
    assert read_midi(path).end_tick == 2500 * 4 * 96
    monkeypatch.setenv(ENV_MAX_BARS, "lots")
    with pytest.raises(GetMusicError, match=ENV_MAX_BARS):
        read_midi(path)


def test_a_song_longer_than_four_hours_is_refused(tmp_path):
    midi = miditoolkit.MidiFile(ticks_per_beat=96)
    inst = miditoolkit.Instrument(program=0, name="Piano")
    inst.notes = [miditoolkit.Note(90, 60, 0, 1500 * 4 * 96)]
    midi.instruments = [inst]
    midi.tempo_changes = [miditoolkit.TempoChange(20.0, 0)]  # 1,500 bars at 20 BPM: 5 hours
    midi.dump(str(tmp_path / "slow.mid"))
    with pytest.raises(GetMusicError, match="5.0 hours"):
        read_midi(tmp_path / "slow.mid")


# ----- the Python API -----


def test_api_takes_str_paths_and_class_strings_and_its_errors_name_no_flags(tmp_path):
    src = str(write_song(tmp_path / "song.mid"))
    gen = Generator(Options(model="debug", steps=2, seed=0))
    [result] = gen.generate(src, "bass, drum", keep="melody", outputs=[str(tmp_path / "a.mid")])
    assert result.made == ["bass", "drums"] and result.kept == ["lead"] and result.path == tmp_path / "a.mid"
    [result] = gen.infill(src, "2-3", tracks="bass", outputs=[str(tmp_path / "b.mid")])
    assert result.made_text() == "bass (bars 2-3 only)" and "lead" in result.kept_text()
    [result] = gen.generate(src, ["strings"], keep="", outputs=[tmp_path / "c.mid"])
    assert result.kept == [] and result.kept_text() == "-"
    failures = [
        lambda: gen.generate(src, "", outputs=[tmp_path / "d.mid"]),
        lambda: gen.generate(src, "bass", outputs=[tmp_path / "a.mid"]),
        lambda: gen.infill(src, "x-y", outputs=[tmp_path / "d.mid"]),
        lambda: Generator(Options(model="debug", steps=10**6)),
        lambda: Generator(Options(model="debug", variations=0)),
    ]
    for fail in failures:
        with pytest.raises(GetMusicError) as caught:
            fail()
        assert "--" not in str(caught.value), str(caught.value)


def test_uncovered_classes_need_allow_uncovered_not_force(tmp_path):
    src = write_song(tmp_path / "song.mid")
    forced = Generator(Options(model="debug", steps=1, force=True))
    forced.config.classes = [c for c in forced.config.classes if c != "drums"]
    with pytest.raises(GetMusicError, match="not trained on drums") as caught:
        forced.generate(src, "drums", outputs=[tmp_path / "a.mid"])
    assert "--allow-uncovered" in caught.value.cli_message()
    allowed = Generator(Options(model="debug", steps=1, allow_uncovered=True))
    allowed.config.classes = [c for c in allowed.config.classes if c != "drums"]
    assert allowed.generate(src, "drums", outputs=[tmp_path / "a.mid"])[0].path.exists()


def test_cli_infill_summary_names_the_bars_and_program_applies(tmp_path, cli, monkeypatch):
    from getmusic_cli import cli as cli_module

    monkeypatch.setattr(cli_module.console, "width", 200)  # the table on one line per row
    src = write_song(tmp_path / "song.mid")
    out = tmp_path / "out.mid"
    res = cli(
        "infill", src, "--bars", "2-3", "--tracks", "bass", "--program", "bass=34", "--model", "debug",
        "--steps", "1", "-o", out,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "bars 2-3 only" in res.stdout
    assert [i.program for i in miditoolkit.MidiFile(str(out)).instruments if i.name == "Bass"] == [34]


def test_inspect_shows_control_characters_in_track_names_as_question_marks(tmp_path, cli):
    src = write_song(tmp_path / "song.mid")
    midi = miditoolkit.MidiFile(str(src))
    midi.instruments[0].name = "Lead\x1b[2J\x07"
    midi.dump(str(src))
    res = cli("inspect", src)
    assert res.exit_code == 0, res.stderr
    assert "Lead?[2J?" in res.stdout and "\x1b" not in res.stdout and "\x07" not in res.stdout
