"""Helpers of the corpus recipe (training/build_corpus.py): one module per source, plus the pure parts
(WAD lumps, voice → class rule, MIDI writing, statistics) that tests can exercise without the sources."""
