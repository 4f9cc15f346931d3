"""Official notices: GB/T 9704 templates rendered to PDF/A-3u, stored immutably with a
verification code (see kinds.py for every kind and its variables, service.py for the API)."""
