"""How many drum notes of the band renders a vocabulary cannot hold: encode each render, decode it again, and
count the real hits that did not come back, by kit piece.

    python training/default/drum_vocab_loss.py CORPUS_BAND VOCAB [N_RENDERS]

CORPUS_BAND is the band corpus (its manifest.json lists the renders), VOCAB a ``vocab.txt``; N_RENDERS training
renders (default 150) are drawn with a fixed seed, so two vocabularies are measured on the same files.
"""

import json
import random
import sys
from collections import Counter
from pathlib import Path

from getmusic_cli.score.codec import decode, encode
from getmusic_cli.score.drumkit import KIT_PIECES, kit_piece
from getmusic_cli.score.midi_io import read_midi
from getmusic_cli.score.timeline import Timeline
from getmusic_cli.score.vocab import Vocabulary


def main() -> None:
    corpus, vocab = Path(sys.argv[1]), Vocabulary.load(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 150
    manifest = json.loads((corpus / "manifest.json").read_text())
    renders = [f["path"] for f in manifest["files"] if f["source"] == "mma" and f["split"] == "train"]
    random.Random(0).shuffle(renders)
    total, lost = Counter(), Counter()
    for path in renders[:n]:
        song = read_midi(corpus / path)
        timeline = Timeline(song.ticks_per_beat, song.time_signatures)
        score, _ = encode(song, vocab)
        back = Counter((timeline.tick_to_column(x.start), x.pitch) for x in decode(score, vocab, timeline)["drums"])
        for note in song.notes.get("drums", []):
            key = (timeline.tick_to_column(note.start), note.pitch)
            total[kit_piece(note.pitch)] += 1
            if back[key] > 0:
                back[key] -= 1
            else:
                lost[kit_piece(note.pitch)] += 1
    for piece in KIT_PIECES:
        if total[piece]:
            print(f"{piece:8s} {total[piece]:7d} notes, lost {lost[piece]:6d} ({lost[piece] / total[piece]:.1%})")


if __name__ == "__main__":
    main()
