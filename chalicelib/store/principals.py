"""Principals (users, groups, robot accounts) and registry resource policies in the table.

One item per principal holds everything evaluation needs (secret hash, groups, roles,
attached policies), so authenticating and loading a caller's policies is one GetItem per
principal. Updates are read-modify-write guarded by the item's version.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from .dynamo import condition_failed
from . import keys
from .models import PrincipalItem, RegistryItem
from .ports import PrincipalExists, PrincipalRecord, PrincipalUnknown

MAX_UPDATE_ATTEMPTS = 5


def _record(item: PrincipalItem) -> PrincipalRecord:
    return PrincipalRecord(
        ptype=item.ptype, name=item.name, created_at=item.created_at, secret_hash=item.secret_hash,
        registry=item.registry, groups=tuple(item.groups or ()), roles=dict(item.roles or {}),
        policies=dict(item.policies or {}), disabled=bool(item.disabled), expires_at=item.expires_at,
        description=item.description or "")



class PrincipalStore:
    def create(self, record: PrincipalRecord, actor: str) -> PrincipalRecord:
        item = PrincipalItem(
            keys.PRINCIPALS_PK, keys.principal_sk(record.ptype, record.name), ptype=record.ptype,
            name=record.name, created_at=record.created_at, secret_hash=record.secret_hash,
            registry=record.registry, groups=list(record.groups), roles=dict(record.roles),
            policies=dict(record.policies), disabled=record.disabled, expires_at=record.expires_at,
            description=record.description, updated_by=actor, updated_at=record.created_at)
        try:
            item.save(condition=PrincipalItem.pk.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                raise PrincipalExists(f"{record.ptype} '{record.name}' already exists") from error
            raise
        return _record(item)

    def get(self, ptype: str, name: str) -> PrincipalRecord | None:
        item = self._item(ptype, name)
        return item and _record(item)

    def list(self, ptype: str) -> list[PrincipalRecord]:
        prefix = keys.principal_sk(ptype, "")
        return [_record(i) for i in PrincipalItem.query(keys.PRINCIPALS_PK, PrincipalItem.sk.startswith(prefix))]

    def delete(self, ptype: str, name: str, actor: str = "system") -> None:
        # Stamp the deleter first: the stream's REMOVE record then says who (see store/metadata.py).
        try:
            PrincipalItem(keys.PRINCIPALS_PK, keys.principal_sk(ptype, name)).update(
                actions=[PrincipalItem.updated_by.set(actor)], condition=PrincipalItem.pk.exists(),
                add_version_condition=False)
        except UpdateError as error:
            if condition_failed(error):
                raise PrincipalUnknown(f"{ptype} '{name}' does not exist") from error
            raise
        try:
            PrincipalItem(keys.PRINCIPALS_PK, keys.principal_sk(ptype, name)).delete(
                condition=PrincipalItem.pk.exists(), add_version_condition=False)
        except DeleteError as error:
            if condition_failed(error):
                raise PrincipalUnknown(f"{ptype} '{name}' does not exist") from error
            raise

    def update(self, ptype: str, name: str, change: Callable[[PrincipalItem], None], actor: str,
               now: datetime) -> PrincipalRecord:
        """Apply `change` to the stored item and save it; retried when another writer won."""
        for _ in range(MAX_UPDATE_ATTEMPTS):
            item = self._item(ptype, name, consistent=True)
            if item is None:
                raise PrincipalUnknown(f"{ptype} '{name}' does not exist")
            change(item)
            item.updated_by, item.updated_at = actor, now
            try:
                item.save()  # conditional on the version read
                return _record(item)
            except PutError as error:
                if not condition_failed(error):
                    raise
        raise RuntimeError(f"{ptype} '{name}' is being changed by others; try again")

    @staticmethod
    def _item(ptype: str, name: str, consistent: bool = False) -> PrincipalItem | None:
        try:
            return PrincipalItem.get(keys.PRINCIPALS_PK, keys.principal_sk(ptype, name),
                                     consistent_read=consistent)
        except PrincipalItem.DoesNotExist:
            return None

    # ---- registry resource policies ---------------------------------------------------

    def registry_policy(self, registry: str) -> str | None:
        return self.registry_access(registry)[0]

    def registry_access(self, registry: str) -> tuple[str | None, str]:
        """The registry's resource policy (JSON text) and its visibility."""
        try:
            item = RegistryItem.get(keys.REGISTRIES_PK, keys.registry_sk(registry),
                                    attributes_to_get=["pk", "sk", "kind", "resource_policy", "visibility"])
        except RegistryItem.DoesNotExist:
            return None, "private"
        return item.resource_policy, item.visibility or "private"

    def set_registry_policy(self, registry: str, document: str | None, actor: str, now: datetime) -> None:
        """Set (or with None remove) a registry's resource policy; PrincipalUnknown-like
        LookupError when the registry does not exist."""
        item = RegistryItem(keys.REGISTRIES_PK, keys.registry_sk(registry))
        action = (RegistryItem.resource_policy.remove() if document is None
                  else RegistryItem.resource_policy.set(document))
        try:
            item.update(actions=[action, RegistryItem.updated_by.set(actor), RegistryItem.updated_at.set(now)],
                        condition=RegistryItem.pk.exists())
        except UpdateError as error:
            if condition_failed(error):
                raise LookupError(f"registry '{registry}' does not exist") from error
            raise
