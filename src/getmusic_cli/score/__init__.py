"""GETScore representation: tracks, vocabulary, durations, keys, chords, MIDI I/O, codec. Never imports torch."""
