"""boto3 clients for the configured region and endpoint (moto locally), one per service
and process: clients are thread-safe, and creating one costs milliseconds."""
from __future__ import annotations

import threading


class AwsClients:
    def __init__(self, region: str, endpoint: str | None):
        import boto3

        self._session = boto3.session.Session()
        self._region, self._endpoint = region, endpoint
        self._clients: dict[str, object] = {}
        self._lock = threading.Lock()

    def client(self, service: str):
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(service, region_name=self._region,
                                                              endpoint_url=self._endpoint)
            return self._clients[service]
