"""Dataset building and the trainer (single process or DDP)."""
