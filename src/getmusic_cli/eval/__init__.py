"""Metrics: chord accuracy and pitch / duration / IOI overlap."""
