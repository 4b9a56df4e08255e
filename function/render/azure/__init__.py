"""Azure (provider-upjet-azure v2) renderers."""
