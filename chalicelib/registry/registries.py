"""Registries (tenants): the first component of every repository name."""
from __future__ import annotations

from chalicelib.clock import Clock
from chalicelib.oci import Code, OciError, parse_registry_name
from chalicelib.store.ports import RegistryExists, RegistryRecord


class RegistryService:
    def __init__(self, metadata, clock: Clock):
        self._meta = metadata
        self._clock = clock

    def require(self, registry: str) -> RegistryRecord:
        record = self._meta.get_registry(registry)
        if record is None:
            raise OciError(Code.NAME_UNKNOWN, detail={"registry": registry},
                           message=f"registry '{registry}' does not exist; create it first "
                                   f"(moorage registry create {registry})")
        return record

    def create(self, name: str, actor: str) -> RegistryRecord:
        return self._meta.create_registry(parse_registry_name(name), self._clock.now(), actor)

    def ensure(self, name: str, actor: str) -> None:
        try:
            self.create(name, actor)
        except RegistryExists:
            pass

    def list(self) -> list[RegistryRecord]:
        return self._meta.list_registries()
