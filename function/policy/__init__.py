"""Policies, budgets, admission rules and tenants (pure: models in, verdicts out)."""
