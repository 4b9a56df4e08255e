"""AWS (provider-upjet-aws) renderers."""
