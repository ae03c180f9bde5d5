"""API test fixtures (Bearer headers for any user, a JSON client helper), shared by every test folder."""

from __future__ import annotations

from typing import Any

import pytest

from app.accounts.tokens import issue_token


@pytest.fixture
def bearer():
    """`bearer(user)` → headers carrying a fresh token of `user` (issued directly: no Argon2)."""

    def make(user: Any, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(user).token}", **extra}

    return make


@pytest.fixture
def api(client, bearer):
    """`api(user).get(path)`, `.post(path, json)`, `.patch(path, json, version)`, … under /api/v1."""

    class As:
        def __init__(self, user: Any) -> None:
            self.headers = bearer(user)

        def _call(self, method: str, path: str, *, json: Any = None, version: Any = None, **kw: Any):
            headers = dict(self.headers)
            if version is not None:
                headers["If-Match"] = f'"{version}"'
            return client.open("/api/v1" + path, method=method, json=json, headers=headers, **kw)

        def get(self, path: str, **kw: Any):
            return self._call("GET", path, **kw)

        def post(self, path: str, json: Any = None, **kw: Any):
            return self._call("POST", path, json=json if json is not None else {}, **kw)

        def patch(self, path: str, json: Any = None, **kw: Any):
            return self._call("PATCH", path, json=json, **kw)

        def delete(self, path: str, **kw: Any):
            return self._call("DELETE", path, **kw)

    return As
