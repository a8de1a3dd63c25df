"""The kit pieces a drummer names, by General MIDI drum key: what the scorecard counts and the sampler balances."""

from __future__ import annotations

SNARES = frozenset({37, 38, 39, 40})
KIT = {
    "kick": frozenset({35, 36}),
    "snare": SNARES,
    "hat": frozenset({42, 44, 46}),
    "tom": frozenset({41, 43, 45, 47, 48, 50}),
    "cymbal": frozenset({49, 51, 52, 53, 55, 57, 59}),
}
KIT_PIECES = (*KIT, "other")


def kit_piece(pitch: int) -> str:
    return next((name for name, keys in KIT.items() if pitch in keys), "other")
