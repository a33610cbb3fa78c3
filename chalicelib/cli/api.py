"""A small HTTP client for the CLI: JSON management calls with clear errors."""
from __future__ import annotations

import requests


class CliError(Exception):
    pass


class ApiClient:
    def __init__(self, url: str, session: requests.Session | None = None):
        from .auth import auth_for

        self.url = url.rstrip("/")
        self.http = session or requests.Session()
        if session is None:
            self.http.auth = auth_for(self.url)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        from .auth import LoginError

        try:
            return self.http.request(method, self.url + path, timeout=kwargs.pop("timeout", 60), **kwargs)
        except requests.ConnectionError as error:
            raise CliError(f"cannot reach {self.url}: is `moorage serve` running?") from error
        except LoginError as error:
            raise CliError(f"login failed: {error} (run `moorage login`)") from error

    def _json(self, response: requests.Response) -> dict:
        if response.status_code >= 400:
            raise CliError(error_message(response))
        return response.json()

    def get(self, path: str) -> dict:
        return self._json(self.request("GET", path))

    def post(self, path: str, body: dict) -> dict:
        return self._json(self.request("POST", path, json=body))

    def put(self, path: str, body: dict) -> dict:
        return self._json(self.request("PUT", path, json=body))

    def request_json(self, method: str, path: str, body: dict) -> dict:
        return self._json(self.request(method, path, json=body))

    def delete(self, path: str) -> dict:
        return self._json(self.request("DELETE", path))


def error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if "error" in body:
        return f"{body['error'].get('message')} ({body['error'].get('code')})"
    errors = body.get("errors") or [{}]
    return f"{errors[0].get('message')} ({errors[0].get('code')})"
