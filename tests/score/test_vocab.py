"""Vocabulary: the original dict.txt layout, our own files, building from counts, per-row allowed ids."""

import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.score.tracks import CHORDS, INSTRUMENTS, N_ROWS, duration_row, pitch_row
from getmusic_cli.score.vocab import KINDS, ROOTS, Vocabulary

# The original file is not in the repo: it sits beside the checkout, in ../shared (tests skip without it).
ORIGINAL_DICT = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "original-vocab" / "dict.txt"
needs_original = pytest.mark.skipif(not ORIGINAL_DICT.exists(), reason="../shared/reference is not beside the checkout")


@needs_original
def test_original_dict_layout():
    v = Vocabulary.load(ORIGINAL_DICT)
    assert len(v) == 11879 and v.size == 11881
    assert (v.empty_id, v.mask_id, v.pad_id) == (11879, 11880, 15)
    assert [v.token(i) for i in (0, 14, 15, 16, 29, 143, 144)] == ["T1", "T15", "<pad>", "M0", "M13", "M127", "B0"]
    assert [v.pitch_range(c) for c in INSTRUMENTS] == [
        (16, 143),
        (144, 996),
        (997, 5365),
        (5366, 6920),
        (6921, 10488),
        (10489, 11858),
    ]
    assert [v.chord_root_id(r) for r in range(12)] == list(range(11859, 11871))
    assert [v.chord_kind_id(k) for k in KINDS] == list(range(11871, 11879))
    assert v.token(11879) == "[EMPTY]" and v.token(11880) == "[MASK]"
    assert v.duration_id(1) == 0 and v.duration_id(15) == 14
    assert v.code_of_duration_id(14) == 15 and v.code_of_duration_id(15) is None
    # Composite tokens hold spaces; drums are stored +128; a few bass composites hold negative pitches.
    assert v.id("D164 170") == 997 + 128  # the most frequent drum group comes first after the singles
    assert v.counts[v.id("D164 170")] == 2692211
    assert v.parse_pitch_token("D164 170") == ("drums", (36, 42))
    assert v.parse_pitch_token("B-9 14 38 59 86") == ("bass", (-9, 14, 38, 59, 86))
    assert all(" " not in v.token(i) for i in range(*np.add(v.pitch_range("lead"), (0, 1))))
    # Per-row allowed ids: pad + the row's block / durations / roots / kinds.
    assert len(v.allowed_ids(pitch_row("piano"))) == 1 + 3568
    assert list(v.allowed_ids(duration_row("drums"))) == list(range(16))[15:] + list(range(15))
    assert list(v.allowed_ids(pitch_row(CHORDS))) == [15, *range(11859, 11871)]
    assert list(v.allowed_ids(duration_row(CHORDS))) == [15, *range(11871, 11879)]


ORIGINAL_COMPOSITES = (725, 4241, 1427, 3440, 1242)  # bass, drums, guitar, piano, strings composites


def write_original_layout(path: Path, composites=(2, 2, 2, 2, 2)) -> int:
    """A file in the dict.txt layout (durations, pad, blocks with composites, roots, kinds); returns its lines."""
    lines = [f"T{i}\t0" for i in range(1, 16)] + ["<pad>\t0"]
    lines += [f"M{p}\t0" for p in range(128)]
    for (prefix, offset), n in zip((("B", 0), ("D", 128), ("G", 0), ("P", 0), ("S", 0)), composites):
        lines += [f"{prefix}{p + offset}\t0" for p in range(128)]
        pairs = itertools.islice(itertools.combinations(range(offset, offset + 128), 2), n)
        lines += [f"{prefix}{a} {b}\t{10_000 - i}" for i, (a, b) in enumerate(pairs)]
    lines += [f"{r}\t0" for r in ROOTS] + [f"{k}\t0" for k in KINDS]
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def test_generated_file_in_the_original_format(tmp_path):
    path = tmp_path / "dict.txt"
    assert write_original_layout(path, ORIGINAL_COMPOSITES) == 11879
    v = Vocabulary.load(path)
    assert (len(v), v.empty_id, v.mask_id, v.size, v.pad_id) == (11879, 11879, 11880, 11881, 15)
    assert [v.pitch_range(c) for c in INSTRUMENTS] == [
        (16, 143),
        (144, 996),
        (997, 5365),
        (5366, 6920),
        (6921, 10488),
        (10489, 11858),
    ]
    assert v.token(144 + 128) == "B0 1" and v.counts[144 + 128] == 10_000
    assert v.parse_pitch_token(v.token(997 + 128)) == ("drums", (0, 1))
    assert v.chord_root_id(0) == 11859 and v.chord_kind_id("m7b5") == 11878


def test_allowed_ids_per_row(tmp_path):
    path = tmp_path / "dict.txt"
    write_original_layout(path)
    v = Vocabulary.load(path)
    blocks = set()
    for name in INSTRUMENTS:
        lo, hi = v.pitch_range(name)
        allowed = v.allowed_ids(pitch_row(name))
        assert allowed.dtype == np.int64 and allowed[0] == v.pad_id
        assert list(allowed[1:]) == list(range(lo, hi + 1))
        assert all(v.parse_pitch_token(v.token(int(i)))[0] == name for i in allowed[1:])
        assert set(v.allowed_ids(duration_row(name))) == {v.pad_id, *range(15)}
        blocks |= set(range(lo, hi + 1))
    assert len(blocks) == len(v) - 16 - 20  # the blocks tile everything between the durations and the chords
    assert len({r for r in range(N_ROWS)}) == 14 and all(len(v.allowed_ids(r)) > 1 for r in range(N_ROWS))


def test_pitch_tokens():
    v = Vocabulary.basic()
    assert v.pitch_token("drums", (42, 36)) == "D164 170"
    assert v.pitch_token("piano", (67, 60, 64, 60)) == "P60 64 67"
    assert v.parse_pitch_token("P60 64 67") == ("piano", (60, 64, 67))
    assert v.parse_pitch_token("M72") == ("lead", (72,))


def test_basic_vocabulary():
    v = Vocabulary.basic()
    assert len(v) == 804 == 15 + 1 + 6 * 128 + 12 + 8
    assert [v.pitch_range(c) for c in INSTRUMENTS] == [(16 + 128 * i, 143 + 128 * i) for i in range(6)]
    assert v.get("P60 64") is None and v.id("P60") == 16 + 4 * 128 + 60
    assert v.token(v.empty_id) == "[EMPTY]" and v.mask_id == 805


def test_duration_code_zero_has_no_token():
    with pytest.raises(ValueError):
        Vocabulary.basic().duration_id(0)


def test_build_is_deterministic_and_respects_threshold_and_coverage(tmp_path):
    counts = {
        "piano": Counter({(60, 64, 67): 50, (57, 60, 64): 50, (60,): 10, (62, 65): 3}),
        "lead": Counter({(60, 64): 100, (72,): 5}),
        "drums": Counter({(36, 42): 40, (36,): 30}),
        "bass": Counter({(36, 48): 30, (38, 50): 20, (40, 52): 10, (36,): 40}),
        "guitar": Counter({(-3, 50): 99, (50, 130): 99}),
    }
    a = Vocabulary.build(counts, min_count=5)
    b = Vocabulary.build(
        {k: Counter(dict(reversed(list(c.items())))) for k, c in reversed(counts.items())}, min_count=5
    )
    assert a.tokens == b.tokens and a.counts == b.counts
    assert a.get("P57 60 64") is not None and a.get("P60 64 67") is not None
    assert a.id("P57 60 64") < a.id("P60 64 67")  # equal counts: ordered by token text
    assert a.get("P62 65") is None  # 3 is not above the threshold
    assert a.get("M60 64") is None  # the lead stays monophonic
    assert a.get("D164 170") is not None and a.counts[a.id("D164")] == 30
    assert a.get("G-3 50") is None and a.get("G50 130") is None  # pitches outside 0..127 never become tokens
    # Coverage: singles cover 40/100 of the bass groups; B36 48 brings 70 %, B38 50 90 %: stop there.
    c = Vocabulary.build(counts, min_count=0, coverage=0.9)
    assert c.get("B36 48") is not None and c.get("B38 50") is not None and c.get("B40 52") is None
    assert c.id("B38 50") == c.id("B36 48") + 1 == c.pitch_range("bass")[1]
    d = Vocabulary.build(counts, min_count=0, coverage=0.7)
    assert d.get("B36 48") is not None and d.get("B38 50") is None


def test_save_and_load_round_trip(tmp_path):
    v = Vocabulary.build({"piano": Counter({(60, 64, 67): 50, (57, 60, 64): 7})})
    v.save(tmp_path / "v.txt")
    text = (tmp_path / "v.txt").read_text()
    assert "P60 64 67\t50\n" in text and text.count("\n") == len(v)
    w = Vocabulary.load(tmp_path / "v.txt")
    assert w.tokens == v.tokens and w.counts == v.counts
    (tmp_path / "crlf.txt").write_bytes(text.replace("\n", "\r\n").encode() + b"\r\n\r\n")
    assert Vocabulary.load(tmp_path / "crlf.txt").tokens == v.tokens  # CRLF and trailing blank lines are fine
    for row in range(N_ROWS):
        assert np.array_equal(w.allowed_ids(row), v.allowed_ids(row))


def lines_of(v: Vocabulary) -> list[str]:
    return [f"{t}\t{c}" for t, c in zip(v.tokens, v.counts)]


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda ls: ls[:5] + ["T6 0"] + ls[6:], "line 6 is not 'token<TAB>count'"),
        (lambda ls: ls[:5] + ["T6\tmany"] + ls[6:], "line 6"),
        (lambda ls: ls[:3] + [""] + ls[3:], "line 4"),
        (lambda ls: [l for l in ls if not l.startswith("<pad>")], "'<pad>' is missing"),
        (lambda ls: [l for l in ls if not l.startswith("P61\t")], "'P61' is missing"),
        (lambda ls: ls + ["B36 48\t5"], "bass tokens are not one contiguous block"),
        (lambda ls: ls + ["M60\t0"], "'M60' appears twice"),
        (lambda ls: ls[:300] + ["B36 x\t3"] + ls[300:], "not a pitch token"),
        (lambda ls: [l for l in ls if not l.startswith("S")], "no strings tokens"),
        (lambda ls: ls[:-1], "'m7b5' is missing"),
    ],
)
def test_malformed_files_are_one_clear_error(tmp_path, edit, message):
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(edit(lines_of(Vocabulary.basic()))) + "\n")
    with pytest.raises(GetMusicError, match=message):
        Vocabulary.load(bad)


def test_unreadable_file(tmp_path):
    with pytest.raises(GetMusicError, match="cannot read"):
        Vocabulary.load(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(GetMusicError, match="empty"):
        Vocabulary.load(tmp_path / "empty.txt")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(GetMusicError):
        Vocabulary.load(tmp_path / "bin.txt")


def test_extended_keeps_every_token_and_puts_new_composites_in_their_blocks():
    base = Vocabulary.build({"drums": Counter({(36, 42): 40}), "piano": Counter({(60, 64, 67): 9})})
    more = {
        "drums": Counter({(36, 42): 5, (38, 42): 30, (36, 38, 42): 20}),
        "lead": Counter({(60, 64): 50}),
        "bass": Counter({(36, 48): 12}),
    }
    grown = base.extended(more)
    assert [t for t in grown.tokens if base.get(t) is not None] == base.tokens  # old tokens, old order
    new = [t for t in grown.tokens if base.get(t) is None]
    assert sorted(new) == ["B36 48", "D164 166 170", "D166 170"]  # the lead stays monophonic
    for token in new:
        instrument, _ = grown.parse_pitch_token(token)
        lo, hi = grown.pitch_range(instrument)
        assert lo <= grown.id(token) <= hi and grown.id(token) in grown.allowed_ids(pitch_row(instrument))
    assert grown.id("D166 170") < grown.id("D164 166 170") == grown.pitch_range("drums")[1]  # by count
    assert grown.extended(more).tokens == grown.tokens  # nothing left to add
    assert base.extended(more, min_count=25).get("D164 166 170") is None  # the same threshold as build
