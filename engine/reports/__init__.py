"""Reporting queries over cases (read-only): one module per process; the dashboard and CLI use them."""
