"""Odd and hostile MIDI files, written byte by byte, and a seeded mutation fuzzer over them.

Each hostile file is (name, bytes). Names say what is odd about the file; the bytes are built here with a tiny
Standard MIDI File writer, not with a MIDI library, so they can be as wrong as a broken tool or a hostile user
makes them.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

TPB = 480


# ----- a tiny SMF writer ----------------------------------------------------------------------------------------


def vlq(n: int) -> bytes:
    """Variable-length quantity (up to 4 bytes in a valid file; callers may pass more)."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def header(fmt: int = 1, n_tracks: int = 1, division: int = TPB, length: int = 6) -> bytes:
    return b"MThd" + struct.pack(">IHHH", length, fmt, n_tracks, division)


def chunk(body: bytes, kind: bytes = b"MTrk", length: int | None = None) -> bytes:
    return kind + struct.pack(">I", len(body) if length is None else length) + body


def eot() -> bytes:
    return b"\x00\xff\x2f\x00"


def meta(kind: int, data: bytes, delta: int = 0) -> bytes:
    return vlq(delta) + bytes([0xFF, kind]) + vlq(len(data)) + data


def tempo(us_per_beat: int, delta: int = 0) -> bytes:
    return meta(0x51, us_per_beat.to_bytes(3, "big"), delta)


def time_sig(num: int, den_exp: int, delta: int = 0) -> bytes:
    return meta(0x58, bytes([num, den_exp, 24, 8]), delta)


def note(pitch: int = 60, length: int = TPB, velocity: int = 100, channel: int = 0, delta: int = 0) -> bytes:
    return vlq(delta) + bytes([0x90 | channel, pitch, velocity]) + vlq(length) + bytes([0x80 | channel, pitch, 0])


def melody(n: int = 16, channel: int = 0, base: int = 60, step: int = TPB) -> bytes:
    return b"".join(note(base + (i * 5) % 12, step, 90, channel) for i in range(n))


def song(tracks: list[bytes], fmt: int = 1, division: int = TPB, conductor: bytes = b"") -> bytes:
    """A file with an optional conductor track and the given track bodies (end-of-track added)."""
    bodies = ([conductor] if conductor else []) + tracks
    return header(fmt, len(bodies), division) + b"".join(chunk(b + eot()) for b in bodies)


def valid_song() -> bytes:
    conductor = tempo(500000) + time_sig(4, 2)
    lead = meta(0x03, b"Lead") + bytes([0x00, 0xC0, 73]) + melody(32, 0, 72)
    bass = meta(0x03, b"Bass") + bytes([0x00, 0xC1, 33]) + melody(16, 1, 36, 2 * TPB)
    drums = meta(0x03, b"Drums") + b"".join(note(36 + (i % 3) * 2, TPB // 4, 100, 9, TPB - TPB // 4) for i in range(32))
    return song([lead, bass, drums], conductor=conductor)


def rmid(smf: bytes) -> bytes:
    data = b"data" + struct.pack("<I", len(smf)) + smf
    return b"RIFF" + struct.pack("<I", 4 + len(data)) + b"RMID" + data


# ----- the hostile corpus -----------------------------------------------------------------------------------------


def hostile_files() -> list[tuple[str, bytes]]:
    """At least 40 odd files: truncations, huge deltas, absurd tempi and resolutions, bad meta events, thousands of
    tracks or notes, non-MIDI bytes, RMID wrappers, and some that are odd but fine."""
    good = valid_song()
    one = melody(8)
    files = [
        ("empty.mid", b""),
        ("only_mthd.mid", b"MThd"),
        ("header_cut.mid", header()[:10]),
        ("header_says_3_tracks.mid", header(1, 3) + chunk(one + eot())),
        ("chunk_longer_than_file.mid", header() + chunk(one + eot(), length=1_000_000)),
        ("truncated_half.mid", good[: len(good) // 2]),
        ("truncated_in_event.mid", good[:-7]),
        ("png_bytes.mid", b"\x89PNG\r\n\x1a\n" + bytes(200)),
        ("random_bytes.mid", random.Random(1).randbytes(4000)),
        ("text_file.mid", b"this is not music\n" * 50),
        ("rmid_valid.rmi", rmid(good)),
        ("rmid_garbage.rmi", b"RIFF\x10\x00\x00\x00RMIDdata\x04\x00\x00\x00MThd"),
        ("type2.mid", song([one], fmt=2)),
        ("smpte_division.mid", song([one], division=0xE728)),
        ("division_zero.mid", song([one], division=0)),
        ("one_tick_per_beat.mid", song([b"".join(note(60 + i % 12, 1) for i in range(64))], division=1)),
        ("one_tick_far_note.mid", song([note(60, 10, delta=0x0FFFFFFF)], fmt=0, division=1)),
        ("max_division.mid", song([melody(8, step=32767)], division=32767)),
        ("far_future_note.mid", song([note(60, TPB, delta=0x0FFFFFFF)])),
        ("note_10000_bars.mid", song([note(60, 10000 * 4 * TPB)])),
        ("note_1900_bars.mid", song([note(60, 1900 * 4 * TPB), note(64, TPB)])),
        ("tempo_zero.mid", song([one], conductor=tempo(0))),
        ("tempo_slowest.mid", song([one], conductor=tempo(0xFFFFFF))),
        ("tempo_fastest.mid", song([one], conductor=tempo(1))),
        ("tempo_far_future.mid", song([one], conductor=tempo(400000, delta=0x0FFFFFFF))),
        ("time_sig_zero.mid", song([one], conductor=time_sig(0, 0))),
        ("time_sig_den_255.mid", song([one], conductor=time_sig(4, 255))),
        ("time_sig_255_over_1.mid", song([one], conductor=time_sig(255, 0))),
        ("key_sig_sf_100.mid", song([one], conductor=meta(0x59, bytes([100, 0])))),
        ("key_sig_mode_5.mid", song([one], conductor=meta(0x59, bytes([0, 5])))),
        ("key_sig_short.mid", song([one], conductor=meta(0x59, b"\x01"))),
        ("tempo_short.mid", song([one], conductor=meta(0x51, b"\x07"))),
        ("meta_longer_than_track.mid", song([meta(0x01, b"x" * 10)[:4] + b"\x7f" + one])),
        ("unknown_meta.mid", song([meta(0x60, b"\x01\x02\x03") + one])),
        ("sysex_unterminated.mid", song([b"\x00\xf0\x05\x7e\x7f\x09\x01" + one])),
        ("sysex_huge_length.mid", song([b"\x00\xf0\x8f\xff\xff\x7f" + one])),
        ("running_status_first.mid", song([b"\x00\x3c\x40" + one])),
        ("data_byte_over_127.mid", song([b"\x00\x90\xc8\xc8" + one])),
        ("undefined_status_f4.mid", song([b"\x00\xf4" + one])),
        ("track_name_escape_codes.mid", song([meta(0x03, b"\x1b[31mRED\x07\n\r") + one])),
        ("track_name_invalid_utf8.mid", song([meta(0x03, b"\xff\xfe\xc3(") + one])),
        ("two_thousand_tracks.mid", song([note(60 + i % 24, TPB, delta=(i % 64) * TPB) for i in range(2000)])),
        ("declares_65535_tracks.mid", header(1, 65535) + chunk(one + eot())),
        ("hundred_thousand_notes.mid", song([b"".join(note(40 + i % 48, 30) for i in range(100_000))])),
        ("thousand_note_chord.mid", song([b"".join(note(i % 128, TPB, 80, 0, 0) for i in range(1000))])),
        ("note_on_without_off.mid", song([b"\x00\x90\x3c\x40" + vlq(TPB) + b"\x90\x40\x40"])),
        ("note_off_before_on.mid", song([b"\x00\x80\x3c\x00" + one])),
        ("zero_length_notes.mid", song([b"".join(note(60, 0) for _ in range(50))])),
        ("velocity_zero_only.mid", song([b"".join(note(60, TPB, 0) for _ in range(20))])),
        ("only_drums.mid", song([b"".join(note(36, TPB // 2, 100, 9) for _ in range(32))])),
        ("only_meta.mid", song([meta(0x03, b"Empty")], conductor=tempo(500000))),
        ("no_end_of_track.mid", header() + chunk(one)),
        ("events_after_end.mid", header() + chunk(one + eot() + one)),
        ("ten_thousand_tempi.mid", song([one], conductor=b"".join(tempo(300000 + i, delta=1) for i in range(10000)))),
        ("thousand_meters.mid", song([one], conductor=b"".join(time_sig(1 + i % 7, 2, TPB) for i in range(1000)))),
        ("extreme_pitches.mid", song([bytes([0x00, 0xCF, 127]) + note(127, TPB, 127, 15) + note(0, TPB, 1, 15)])),
        ("unknown_chunk.mid", header(1, 1) + chunk(b"junk", kind=b"XFIH") + chunk(one + eot())),
        ("empty_track_chunks.mid", header(1, 3) + chunk(b"") + chunk(one + eot()) + chunk(b"")),
        ("header_length_100.mid", header(1, 1, TPB, length=100) + chunk(one + eot())),
        ("five_byte_delta.mid", song([b"\x8f\xff\xff\xff\x7f\x90\x3c\x40\x00\x80\x3c\x00" + one])),
        ("valid.mid", good),
    ]
    return files


# ----- the mutation fuzzer -----------------------------------------------------------------------------------------

_INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x2F, 0x51, 0x58, 0x59, 0x90, 0xF0, 0xF7)


def _mutate_once(data: bytearray, rng: random.Random) -> None:
    if not data:
        data.extend(rng.randbytes(8))
        return
    i = rng.randrange(len(data))
    kind = rng.randrange(11)
    if kind >= 9:
        data[i] = rng.randrange(0x80)  # a plausible data byte: pitch, velocity, delta, program, meta value
    elif kind == 0:
        data[i] ^= 1 << rng.randrange(8)  # bit flip
    elif kind == 1:
        data[i] = rng.choice(_INTERESTING)
    elif kind == 2:
        del data[i : i + rng.randint(1, 16)]  # delete a range
    elif kind == 3:
        data[i:i] = rng.randbytes(rng.randint(1, 16))  # insert random bytes
    elif kind == 4:
        data[i:i] = b"\x8f\xff\xff\x7f"  # a huge delta time
    elif kind == 5:
        del data[rng.randrange(len(data)) :]  # truncate
    elif kind == 6:
        j = rng.randrange(len(data))
        a, b = sorted((i, j))
        data[b:b] = data[a : min(b, a + 64)]  # duplicate a slice
    elif kind == 7:
        data[i : i + 4] = struct.pack(">I", rng.choice((0, 1, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)))  # a length field
    else:
        data[i : i + 6] = meta(rng.choice((0x51, 0x58, 0x59, 0x03, 0x2F)), rng.randbytes(rng.randint(0, 5)))


def mutants(seeds: list[bytes], n: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """``n`` mutated files, the same for the same ``seed``: 1-4 mutations of one of the seed files each."""
    for case in range(n):
        rng = random.Random(seed * 1_000_003 + case)
        data = bytearray(seeds[rng.randrange(len(seeds))])
        for _ in range(rng.choice((1, 1, 1, 2, 3, 4))):
            _mutate_once(data, rng)
        yield f"mutant_{seed}_{case:05d}.mid", bytes(data)


def seed_files() -> list[bytes]:
    """Valid files the fuzzer starts from: several shapes of song."""
    one = melody(16)
    return [
        valid_song(),
        song([one], fmt=0),
        song([one, melody(8, 1, 40, 2 * TPB)], conductor=tempo(600000) + time_sig(3, 2) + meta(0x59, b"\x02\x00")),
        rmid(valid_song()),
    ]
