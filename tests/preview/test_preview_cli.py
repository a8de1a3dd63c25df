"""--preview and --plot on generate and infill (the tiny random `debug` model): files beside the output, the summary
links them, a missing extra stops everything before any file is written."""

from __future__ import annotations

import sys
import wave

import pytest

from getmusic_cli import cli as cli_module

FAST = ("--model", "debug", "--steps", "2")


@pytest.fixture
def wide_console(monkeypatch):
    monkeypatch.setattr(cli_module.console, "width", 250)  # the summary table in full, not cut to 80 columns


def wav_frames(path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes())


def test_generate_writes_wav_and_png_and_links_them(cli, tmp_path, make_band, wide_console, one_torch_thread):
    pytest.importorskip("symusic")
    pytest.importorskip("matplotlib")
    src = make_band(tmp_path / "band.mid", drums=False)
    res = cli("generate", src, "--make", "drums", "--seed", "1", "--preview", "--plot", "-o", tmp_path / "a.mid", *FAST)
    assert res.exit_code == 0, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid", "a.png", "a.wav", "band.mid"]
    assert "preview" in res.stdout and "a.wav" in res.stdout and "a.png" in res.stdout
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_different_made_track_sounds_different(cli, tmp_path, make_band, one_torch_thread):
    pytest.importorskip("symusic")
    src = make_band(tmp_path / "band.mid", drums=False)
    for seed, name in ((1, "a.mid"), (2, "b.mid")):
        res = cli("generate", src, "--make", "drums", "--seed", seed, "--preview", "-o", tmp_path / name, *FAST)
        assert res.exit_code == 0, res.stderr
    assert (tmp_path / "a.mid").read_bytes() != (tmp_path / "b.mid").read_bytes()
    assert wav_frames(tmp_path / "a.wav") != wav_frames(tmp_path / "b.wav")


def test_infill_plot_and_preview_with_variations(cli, tmp_path, make_band, one_torch_thread):
    pytest.importorskip("symusic")
    pytest.importorskip("matplotlib")
    src = make_band(tmp_path / "band.mid")
    res = cli(
        "infill",
        src,
        "--bars",
        "3-4",
        "--tracks",
        "bass",
        "--variations",
        "2",
        "--seed",
        "3",
        "--preview",
        "--plot",
        *FAST,
    )
    assert res.exit_code == 0, res.stderr
    for i in (1, 2):
        for suffix in (".mid", ".wav", ".png"):
            assert (tmp_path / f"band.getmusic-{i}{suffix}").is_file()


@pytest.mark.parametrize(
    "flag, module, hint",
    [
        ("--preview", "symusic", "error: audio needs the 'audio' extra: pip install 'getmusic-cli[audio]'"),
        ("--plot", "matplotlib", "error: --plot needs matplotlib: pip install 'getmusic-cli[plot]'"),
    ],
)
@pytest.mark.parametrize("verb", [("generate", "--make", "drums"), ("infill", "--bars", "2")])
def test_missing_extra_is_one_line_and_nothing_is_written(
    cli, tmp_path, monkeypatch, make_band, flag, module, hint, verb
):
    src = make_band(tmp_path / "band.mid")
    monkeypatch.setitem(sys.modules, module, None)  # makes `import MODULE` raise ImportError
    res = cli(*verb[:1], src, *verb[1:], flag, *FAST)
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [hint]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["band.mid"]  # not even the MIDI output


def test_an_existing_preview_is_refused_before_any_work(cli, tmp_path, make_band):
    pytest.importorskip("symusic")
    src = make_band(tmp_path / "band.mid")
    (tmp_path / "band.getmusic.wav").write_bytes(b"precious")
    res = cli("generate", src, "--make", "drums", "--preview", *FAST)
    assert res.exit_code == 1 and "band.getmusic.wav exists; use --force" in res.stderr
    assert not (tmp_path / "band.getmusic.mid").exists()
    assert (tmp_path / "band.getmusic.wav").read_bytes() == b"precious"
