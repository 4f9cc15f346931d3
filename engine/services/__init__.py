"""Application services that need a process module as well as the runtime (the runtime itself
knows no process): what the web pages, the API and the CLI call for those jobs."""
