"""Hear and see a result: WAV rendering (the `audio` extra) and before/after piano rolls (the `plot` extra).

Both extras are imported lazily, only by the command that asked for them.
"""
