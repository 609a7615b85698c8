"""How people and processes reach the system: the HTTP API and pages, the CLI, the served API processes
and the RQ worker process."""
