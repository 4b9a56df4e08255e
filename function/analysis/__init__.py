"""Repository analysis: fetch a repository at a commit and describe the application."""
