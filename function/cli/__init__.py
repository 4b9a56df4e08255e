"""Command-line tools: `scia` (also installed as `kubectl-scia`)."""
