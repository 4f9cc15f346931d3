"""Read-side queries for pages and commands (the "views" of the service layer): each function
takes the `Runtime`, opens its own reading unit of work and returns plain data, so that no web
page or CLI command needs a database session or SQLAlchemy."""
