"""The web app: server-rendered pages for staff and auditors plus a JSON API under /api.

Pages and API call only the service layer (`engine.runtime.service.Runtime`) and `engine.audit`;
nothing here talks to SpiffWorkflow."""
