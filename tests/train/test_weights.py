"""Per-source sampling weights over the train windows."""

from __future__ import annotations

import numpy as np
import pytest

from getmusic_cli.errors import GetMusicError
from getmusic_cli.train.dataset import FileEntry
from getmusic_cli.train.weights import WeightedWindows, parse_source_weights, weighted_indices

FILES = [
    FileEntry("bach/a.mid", "1", "train", 2),
    FileEntry("mma/x.mid", "2", "train", 4),
    FileEntry("bach/b.mid", "3", "valid", 5),  # valid windows live in other shards: no offset here
    FileEntry("mma/y.mid", "4", "train", 2),
    FileEntry("top.mid", "5", "train", 1),
]


def test_parse():
    assert parse_source_weights(["mma=0.5,bach=2", "freedoom=0"]) == {"mma": 0.5, "bach": 2.0, "freedoom": 0.0}
    for bad in ("mma", "mma=x", "=2", "mma=-1"):
        with pytest.raises(GetMusicError, match="--source-weights"):
            parse_source_weights([bad])


def test_weights_repeat_and_thin_by_folder():
    idx = weighted_indices(FILES, {"bach": 2, "mma": 0.5})
    # bach/a (train windows 0-1) twice each; mma/x (2-5) half, evenly spread; mma/y (6-7) one; top.mid (8) as is.
    assert idx.tolist() == [0, 0, 1, 1, 2, 4, 6, 8]
    assert weighted_indices(FILES, {}).tolist() == list(range(9))


def test_unknown_folder_and_nothing_left_are_errors():
    with pytest.raises(GetMusicError, match="no folder named lmms"):
        weighted_indices(FILES, {"lmms": 1})
    with pytest.raises(GetMusicError, match="no training windows"):
        weighted_indices(FILES, {"bach": 0, "mma": 0, "": 0})


def test_weighted_view_reads_the_mapped_windows():
    class Windows:
        def get(self, indices):
            return np.array(indices)

    view = WeightedWindows(Windows(), np.array([5, 5, 7]))
    assert len(view) == 3 and view.get([2, 0]).tolist() == [7, 5]
