"""Renderers: a pinned decision in, desired managed resources out (pure, no I/O)."""
