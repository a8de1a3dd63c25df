"""getmusic: generate any music tracks from MIDI with GETMusic (GETScore + GETDiff).

Importing this package must stay cheap: no torch here (the CLI starts without it).
"""

__version__ = "0.1.0"
