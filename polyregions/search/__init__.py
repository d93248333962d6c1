"""The exact depth-first search over activation patterns, its parallel driver and checkpoints."""
