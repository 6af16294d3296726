"""Pure domain logic: the knowledge-unit model, normalisation and scoring rules (no I/O)."""
