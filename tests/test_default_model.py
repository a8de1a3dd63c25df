"""The model shipped inside the package: its files match the registry, and it generates real music."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import miditoolkit
import pytest

from getmusic_cli.hub.registry import load_registry
from getmusic_cli.hub.resolve import resolve_model
from getmusic_cli.pipeline import Generator, Options, example_song


def test_shipped_files_match_the_registry():
    entry = load_registry().get("default")
    assert entry.embedded
    names = {f.name for f in entry.files}
    assert {"config.json", "vocab.txt", "model.safetensors"} <= names
    for f in entry.files:
        data = f.package_path().read_bytes()
        assert len(data) == f.size, f.name
        assert hashlib.sha256(data).hexdigest() == f.sha256, f.name
    assert entry.size < 25 * 2**20


REPO = Path(__file__).resolve().parents[1]


def test_shipped_card_and_settings_are_the_recipes():
    """install_bundle.py copies training/MODEL_CARD.md and applies shipped_settings.py: the package holds both."""
    entry = load_registry().get("default")
    card = next(f for f in entry.files if f.name == "MODEL_CARD.md").package_path()
    assert card.read_text() == (REPO / "training/MODEL_CARD.md").read_text()
    spec = importlib.util.spec_from_file_location("shipped", REPO / "training/default/shipped_settings.py")
    shipped = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shipped)
    config = json.loads(next(f for f in entry.files if f.name == "config.json").package_path().read_text())
    assert shipped.apply(config) == config


def test_default_model_is_the_one_used_without_model():
    bundle = resolve_model(None)
    assert bundle.config.name == "default"
    assert bundle.weights_path is not None and bundle.weights_path.exists()
    assert set(bundle.config.classes) <= {"lead", "bass", "drums", "guitar", "piano", "strings"}
    assert bundle.config.licence and bundle.config.licence != "unknown"
    assert load_registry().get("default").licence == bundle.config.licence
    # Weights under a copyleft licence ship with its text beside them.
    if "GPL-2.0" in bundle.config.licence:
        assert "GNU GENERAL PUBLIC LICENSE" in (bundle.weights_path.parent / "COPYING").read_text()


@pytest.mark.slow
def test_default_model_generates_from_the_example(tmp_path):
    out = tmp_path / "out.mid"
    [result] = Generator(Options(steps=10, seed=0)).generate(example_song(), ["bass", "strings"], ["lead"], [out])
    midi = miditoolkit.MidiFile(str(out))
    # The chorale has bass and strings (alto, tenor) tracks: the made notes go back into them.
    assert [i.name for i in midi.instruments] == ["lead", "strings", "strings", "bass"]
    made = [i for i in midi.instruments if i.name != "lead"]
    bass = [n.pitch for n in made[-1].notes]
    assert len(bass) >= 8 and result.notes_made == sum(len(i.notes) for i in made)
    # A trained model puts the bass low: its median pitch sits below the kept lead's.
    lead = sorted(n.pitch for i in midi.instruments if i.name == "lead" for n in i.notes)
    assert sorted(bass)[len(bass) // 2] < lead[len(lead) // 2]
