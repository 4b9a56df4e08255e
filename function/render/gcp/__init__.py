"""Renderers of provider-upjet-gcp managed resources, per strategy."""
