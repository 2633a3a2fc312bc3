"""Shared test helpers (real backends: anvil, ...). Importable as ``support`` via conftest."""
