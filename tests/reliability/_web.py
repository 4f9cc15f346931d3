"""An API client for the reliability probes (their `app` and `web_rt` fixtures come from conftest.py)."""


def api_client(app, username="street"):
    """A TestClient logged in through the API, sending the CSRF header on writes."""
    from fastapi.testclient import TestClient

    c = TestClient(app)
    r = c.post("/api/session", json={"username": username, "password": "hongwu-demo"})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c
