"""Building the application's container image from the repository (Dockerfile generation)."""
