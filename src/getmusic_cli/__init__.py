"""getmusic: generate any music tracks from MIDI with GETMusic (GETScore + GETDiff).

Importing this package must stay cheap: no torch here (the CLI starts without it).
"""

from getmusic_cli.runtime.threads import passive_wait

__version__ = "0.1.0"

# torch is imported lazily by many modules, all of them inside this package: idle OpenMP workers must be told
# to sleep before the first of those imports, or they spin and collapse a busy machine (runtime/threads.py).
passive_wait()
