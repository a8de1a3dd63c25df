from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.tracks import duration_row, pitch_row
from getmusic_cli.score.vocab import Vocabulary

ORIGINAL_DICT = Path(__file__).resolve().parents[3] / "shared" / "reference" / "original-vocab" / "dict.txt"


@pytest.mark.skipif(not ORIGINAL_DICT.exists(), reason="../shared is not beside the checkout")
def test_original_dict_layout():
    v = Vocabulary.load(ORIGINAL_DICT)
    assert len(v) == 11879 and v.size == 11881
    assert (v.empty_id, v.mask_id, v.pad_id) == (11879, 11880, 15)
    assert v.pitch_range("lead") == (16, 143)
    assert v.pitch_range("bass") == (144, 996)
    assert v.pitch_range("drums") == (997, 5365)
    assert v.pitch_range("guitar") == (5366, 6920)
    assert v.pitch_range("piano") == (6921, 10488)
    assert v.pitch_range("strings") == (10489, 11858)
    assert v.chord_root_id(0) == 11859 and v.chord_kind_id("m7b5") == 11878
    assert v.id("D164 170") > 997 and v.token(0) == "T1"
    assert v.duration_id(15) == 14 and v.code_of_duration_id(14) == 15 and v.code_of_duration_id(15) is None


def write_original_layout(path: Path) -> None:
    """A file in the dict.txt layout: durations, pad, blocks with composites, roots, kinds (with spaces)."""
    lines = [f"T{i}\t0" for i in range(1, 16)] + ["<pad>\t0"]
    lines += [f"M{p}\t0" for p in range(128)]
    for prefix, offset in (("B", 0), ("D", 128), ("G", 0), ("P", 0), ("S", 0)):
        lines += [f"{prefix}{p + offset}\t0" for p in range(128)]
        lines += [f"{prefix}{offset + 36} {offset + 48}\t500", f"{prefix}{offset + 40} {offset + 43} {offset + 47}\t400"]
    lines += [f"{r}\t0" for r in "C C# D Eb E F F# G Ab A Bb B".split()]
    lines += [f"{k}\t0" for k in "null m + dim seven maj7 m7 m7b5".split()]
    path.write_text("\n".join(lines) + "\n")


def test_generated_original_layout_and_rows(tmp_path):
    path = tmp_path / "dict.txt"
    write_original_layout(path)
    v = Vocabulary.load(path)
    assert len(v) == 16 + 128 + 5 * 130 + 20
    assert v.id("P40 43 47") == v.pitch_range("piano")[1]
    allowed = v.allowed_ids(pitch_row("bass"))
    assert allowed[0] == v.pad_id and set(allowed[1:]) == set(range(*np.add(v.pitch_range("bass"), (0, 1))))
    assert set(v.allowed_ids(duration_row("lead"))) == set(range(16))
    assert v.parse_pitch_token("D164 170") == ("drums", (36, 42))
    assert v.pitch_token("drums", (42, 36)) == "D164 170"


def test_basic_vocabulary():
    v = Vocabulary.basic()
    assert len(v) == 804
    assert v.get("P60 64") is None and v.get("P60") is not None


def test_build_is_deterministic_and_respects_threshold(tmp_path):
    counts = {
        "piano": Counter({(60, 64, 67): 50, (57, 60, 64): 50, (60,): 10, (62, 65): 3}),
        "lead": Counter({(60, 64): 100, (72,): 5}),
        "drums": Counter({(36, 42): 40}),
    }
    a, b = Vocabulary.build(counts, min_count=5), Vocabulary.build(dict(reversed(counts.items())), min_count=5)
    assert a.tokens == b.tokens
    assert a.get("P57 60 64") is not None and a.get("P60 64 67") is not None
    assert a.get("P62 65") is None  # under the threshold
    assert a.get("M60 64") is None  # the lead stays monophonic
    assert a.get("D164 170") is not None
    assert a.id("P57 60 64") < a.id("P60 64 67")  # equal counts: ordered by token text
    a.save(tmp_path / "v.txt")
    assert Vocabulary.load(tmp_path / "v.txt").tokens == a.tokens


def test_malformed_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("T1 0\n")
    with pytest.raises(GetMusicError, match="TAB"):
        Vocabulary.load(bad)
