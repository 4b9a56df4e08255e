"""Test helpers: offline CRD validation and the real Crossplane CLI."""
