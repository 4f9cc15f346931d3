"""Glue between the BPMN processes and the domain: each module registers the service-task
functions of one process (or of all: `common`). Modules here are discovered automatically."""
