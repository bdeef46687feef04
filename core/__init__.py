"""Shared plumbing below every app: bounds, money, errors, dispatch after commit, the task retry
policy, CSV files, middleware. Imports no app of the project (docs/architecture.md)."""
