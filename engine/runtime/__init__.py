"""Runtime over SpiffWorkflow: deployment, cases, tasks, timers, restricted scripting.

The web app and the CLI call `engine.runtime.service`; nothing else talks to SpiffWorkflow.
"""
