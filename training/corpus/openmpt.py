"""Reading tracker modules (.mod, .xm, .s3m, .it) through libopenmpt's C API, loaded with ctypes.

libopenmpt (Debian `libopenmpt0`, BSD-3-Clause) parses all four formats and plays them, so this file only asks it
three things: each pattern cell's note and instrument, the order in which the player reaches the rows (jumps,
pattern breaks and speed changes are its business), and how one instrument sounds alone (a note played through
its "interactive" extension). The library and the four it links to are found on the system or in unpacked .debs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Libraries libopenmpt.so.0 links against, loaded first (and globally) when they come from an unpacked .deb.
DEPENDENCIES = ("libogg.so.0", "libvorbis.so.0", "libvorbisfile.so.3", "libmpg123.so.0")
NOTE_FIRST, NOTE_LAST = 1, 120  # libopenmpt's note values: 1 = C-0, 61 = C-5 (played as MIDI 60 by default)
NOTE_FADE, NOTE_CUT, NOTE_OFF = 253, 254, 255
_NOTE, _INSTRUMENT = 0, 1  # OPENMPT_MODULE_COMMAND_NOTE, _INSTRUMENT
_ORDER_SKIP = 0xFE  # "+++" marker patterns in an order list

_lib = None


class OpenMPTError(RuntimeError):
    pass


def load(search: Iterable[Path] = ()) -> ctypes.CDLL:
    """libopenmpt from the folders in `search` (unpacked .debs: its dependencies are loaded first, in link
    order, from whichever folder holds each), else from the system."""
    global _lib
    if _lib is not None:
        return _lib
    folders = list(search)
    own = next((f / "libopenmpt.so.0" for f in folders if (f / "libopenmpt.so.0").is_file()), None)
    if own is not None:
        for dep in DEPENDENCIES:
            found = next((f / dep for f in folders if (f / dep).is_file()), None)
            if found is not None:
                ctypes.CDLL(str(found), mode=ctypes.RTLD_GLOBAL)
    path = str(own) if own is not None else ctypes.util.find_library("openmpt")
    if path is None:
        raise OpenMPTError("libopenmpt not found (Debian package libopenmpt0)")
    _lib = _declare(ctypes.CDLL(path))
    return _lib


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    p, i32, c = ctypes.c_void_p, ctypes.c_int32, ctypes
    signatures = {
        "openmpt_module_ext_create_from_memory": (p, [c.c_char_p, c.c_size_t, p, p, p, p, c.POINTER(c.c_int), p, p]),
        "openmpt_module_ext_get_module": (p, [p]),
        "openmpt_module_ext_get_interface": (c.c_int, [p, c.c_char_p, p, c.c_size_t]),
        "openmpt_module_ext_destroy": (None, [p]),
        "openmpt_module_get_num_orders": (i32, [p]),
        "openmpt_module_get_num_channels": (i32, [p]),
        "openmpt_module_get_num_instruments": (i32, [p]),
        "openmpt_module_get_num_samples": (i32, [p]),
        "openmpt_module_get_order_pattern": (i32, [p, i32]),
        "openmpt_module_get_pattern_num_rows": (i32, [p, i32]),
        "openmpt_module_get_pattern_row_channel_command": (c.c_uint8, [p, i32, i32, i32, c.c_int]),
        "openmpt_module_get_instrument_name": (p, [p, i32]),
        "openmpt_module_get_sample_name": (p, [p, i32]),
        "openmpt_module_get_current_order": (i32, [p]),
        "openmpt_module_get_current_row": (i32, [p]),
        "openmpt_module_set_position_order_row": (c.c_double, [p, i32, i32]),
        "openmpt_module_read_float_mono": (c.c_size_t, [p, i32, c.c_size_t, c.POINTER(c.c_float)]),
        "openmpt_free_string": (None, [p]),
    }
    for name, (restype, argtypes) in signatures.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes
    return lib


def _fn(restype, *argtypes):
    return ctypes.CFUNCTYPE(restype, *argtypes)


class _Interactive(ctypes.Structure):
    """libopenmpt_ext.h's openmpt_module_ext_interface_interactive, field for field."""

    _p, _i, _d, _i32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_double, ctypes.c_int32
    _fields_ = [
        ("set_current_speed", _fn(_i, _p, _i32)),
        ("set_current_tempo", _fn(_i, _p, _i32)),
        ("set_tempo_factor", _fn(_i, _p, _d)),
        ("get_tempo_factor", _fn(_d, _p)),
        ("set_pitch_factor", _fn(_i, _p, _d)),
        ("get_pitch_factor", _fn(_d, _p)),
        ("set_global_volume", _fn(_i, _p, _d)),
        ("get_global_volume", _fn(_d, _p)),
        ("set_channel_volume", _fn(_i, _p, _i32, _d)),
        ("get_channel_volume", _fn(_d, _p, _i32)),
        ("set_channel_mute_status", _fn(_i, _p, _i32, _i)),
        ("get_channel_mute_status", _fn(_i, _p, _i32)),
        ("set_instrument_mute_status", _fn(_i, _p, _i32, _i)),
        ("get_instrument_mute_status", _fn(_i, _p, _i32)),
        ("play_note", _fn(_i32, _p, _i32, _i32, _d, _d)),
        ("stop_note", _fn(_i, _p, _i32)),
    ]


@dataclass(frozen=True)
class PlayedRow:
    order: int
    pattern: int
    row: int
    seconds: float  # when the player reached it


class Module:
    """One module opened from bytes; close() (or a with block) frees it."""

    def __init__(self, data: bytes, lib: ctypes.CDLL):
        self._lib = lib
        error = ctypes.c_int(0)
        self._ext = lib.openmpt_module_ext_create_from_memory(
            data, len(data), None, None, None, None, ctypes.byref(error), None, None
        )
        if not self._ext:
            raise OpenMPTError(f"libopenmpt cannot read this module (error {error.value})")
        self._mod = lib.openmpt_module_ext_get_module(self._ext)
        self._interactive = _Interactive()
        found = lib.openmpt_module_ext_get_interface(
            self._ext, b"interactive", ctypes.byref(self._interactive), ctypes.sizeof(self._interactive)
        )
        if not found:
            raise OpenMPTError("this libopenmpt has no interactive extension")
        self.channels = lib.openmpt_module_get_num_channels(self._mod)
        # Modules without instruments play their samples directly: the sample is the instrument then.
        n_instruments = lib.openmpt_module_get_num_instruments(self._mod)
        self.uses_samples = n_instruments == 0
        self.instruments = n_instruments or lib.openmpt_module_get_num_samples(self._mod)

    def __enter__(self) -> Module:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._ext:
            self._lib.openmpt_module_ext_destroy(self._ext)
            self._ext = self._mod = None

    def instrument_name(self, number: int) -> str:
        """Name of instrument `number` (1-based, as pattern cells count them)."""
        lib = self._lib
        get = lib.openmpt_module_get_sample_name if self.uses_samples else lib.openmpt_module_get_instrument_name
        raw = get(self._mod, number - 1)
        if not raw:
            return ""
        text = ctypes.cast(raw, ctypes.c_char_p).value.decode("utf-8", "replace")
        self._lib.openmpt_free_string(raw)
        return text.strip()

    def cell(self, pattern: int, row: int, channel: int) -> tuple[int, int]:
        """(note, instrument) of one pattern cell; 0 where the cell leaves them empty."""
        get = self._lib.openmpt_module_get_pattern_row_channel_command
        return get(self._mod, pattern, row, channel, _NOTE), get(self._mod, pattern, row, channel, _INSTRUMENT)

    def played_rows(self, rate: int = 8000, chunk: int = 40, max_seconds: float = 1200.0) -> list[PlayedRow]:
        """Every row in the order the player plays it once through (render silently and watch the position)."""
        lib, mod = self._lib, self._mod
        for channel in range(self.channels):
            self._interactive.set_channel_mute_status(self._ext, channel, 1)
        lib.openmpt_module_set_position_order_row(mod, 0, 0)
        buffer = (ctypes.c_float * chunk)()
        rows: list[PlayedRow] = []
        last, seconds = None, 0.0
        while seconds < max_seconds:
            position = (lib.openmpt_module_get_current_order(mod), lib.openmpt_module_get_current_row(mod))
            if position != last:
                pattern = lib.openmpt_module_get_order_pattern(mod, position[0])
                if 0 <= pattern < _ORDER_SKIP:
                    rows.append(PlayedRow(position[0], pattern, position[1], seconds))
                last = position
            frames = lib.openmpt_module_read_float_mono(mod, rate, chunk, buffer)
            if frames == 0:
                break
            seconds += frames / rate
        return rows

    def render_note(self, instrument: int, note: int, seconds: float = 1.0, rate: int = 22050) -> np.ndarray:
        """Instrument `instrument` (1-based) playing pattern note `note` alone for `seconds`, as float samples."""
        lib, mod = self._lib, self._mod
        for channel in range(self.channels):
            self._interactive.set_channel_mute_status(self._ext, channel, 1)
        lib.openmpt_module_set_position_order_row(mod, 0, 0)
        # play_note counts notes from 0 (= C-0), pattern cells from 1.
        channel = self._interactive.play_note(self._ext, instrument - 1, note - NOTE_FIRST, 1.0, 0.0)
        frames = int(seconds * rate)
        buffer = (ctypes.c_float * frames)()
        lib.openmpt_module_read_float_mono(mod, rate, frames, buffer)
        if channel >= 0:
            self._interactive.stop_note(self._ext, channel)
        return np.frombuffer(buffer, dtype=np.float32).copy()
