"""Governance: organisations, users, roles, API keys, plans and quotas, usage and audit."""
