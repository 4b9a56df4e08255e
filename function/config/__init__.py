"""The application's configuration: spec.env, spec.envFrom, spec.services, and the launcher."""
