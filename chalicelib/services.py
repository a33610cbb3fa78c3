"""Wiring: build the adapters and services from settings, once per process (on first use,
never at import, so `import app` stays light)."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from .clock import Clock, SystemClock
from .settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    clock: Clock
    registries: object
    uploads: object
    manifests: object
    content: object
    auth: object
    aws: object        # AwsClients: boto3 clients for the configured endpoint
    events: object     # Bus: fan-out of domain events to the consumer queues
    publisher: object  # BufferedPublisher: the request path's events (pulls, logins, denials)
    metadata: object   # DynamoMetadata, for the management API's reads
    gc: object         # GarbageCollector
    deletions: object  # DeletionWorker: registries and repositories deleted in the background
    retention: object  # RetentionService
    artifacts: object  # ArtifactViews: repositories, tags and artifacts as the management API shows them
    scans: object      # ScanService: scans, their reports and the referrers they attach
    objects: object    # S3Objects: the object store (scan reports, the vulnerability DB)


def build_services(settings: Settings | None = None, clock: Clock | None = None) -> Services:
    import boto3

    from .events.bus import Bus, BufferedPublisher
    from .registry.artifacts import ArtifactViews
    from .registry.content import ContentService
    from .registry.deletion import DeletionWorker
    from .registry.gc import GarbageCollector
    from .registry.retention import RetentionService
    from .store.webhooks import WebhookStore
    from .registry.manifests import ManifestService
    from .registry.registries import RegistryService
    from .registry.uploads import UploadService
    from .store import models
    from .store.aws import AwsClients
    from .store.blobs import S3Objects
    from .store.metadata import DynamoMetadata

    settings = settings or Settings.from_env()
    clock = clock or SystemClock()
    models.bind(settings.table_name, settings.region, settings.aws_endpoint)
    metadata = DynamoMetadata(settings.region, settings.aws_endpoint, clock)
    registries = RegistryService(metadata, clock, settings.settings_cache_ttl_s)
    objects = S3Objects(boto3.session.Session(), settings.bucket, settings.region, settings.aws_endpoint,
                        settings.s3_public_endpoint, own_bucket=registries.bucket_of)
    registries.bind_bucket_check(objects.bucket_exists)
    aws = AwsClients(settings.region, settings.aws_endpoint)
    bus = Bus(aws.client("sqs"), settings.queue_prefix)
    uploads = UploadService(metadata, objects, registries, clock, settings)
    manifests = ManifestService(metadata, objects, registries, clock, settings)
    auth = _build_auth(settings, clock, registries)
    webhooks = WebhookStore()
    return Services(
        settings=settings, clock=clock, registries=registries, uploads=uploads, manifests=manifests,
        content=ContentService(metadata, objects, settings, clock), auth=auth,
        aws=aws, events=bus, publisher=BufferedPublisher(bus), metadata=metadata,
        gc=GarbageCollector(metadata, objects, uploads, clock, settings.gc_grace_s),
        deletions=DeletionWorker(metadata, objects, manifests, on_registry_gone=[
            auth.principals.forget_registry, lambda registry, actor: webhooks.delete_all(registry)]),
        retention=RetentionService(metadata, manifests, registries, clock),
        artifacts=ArtifactViews(metadata, manifests, objects, registries),
        scans=_build_scans(metadata, objects, uploads, manifests, clock, settings),
        objects=objects,
    )


def _build_scans(metadata, objects, uploads, manifests, clock, settings):
    from .registry.attachments import Attacher
    from .scanner.service import ScanService

    attacher = Attacher(metadata, uploads, manifests, clock)
    return ScanService(metadata, objects, clock, read_manifest=manifests.content,
                       attach=lambda name, a: attacher.attach(name, a.subject, a.artifact_type, a.media_type, a.data),
                       cache_dir=settings.vulndb_cache_dir)


def _build_auth(settings: Settings, clock: Clock, registries):
    import boto3

    from .auth.keys import KeyStore
    from .auth.principals import PrincipalService
    from .auth.service import AuthService
    from .auth.tokens import LEEWAY, REFRESH_LIFETIME, TokenIssuer, TokenVerifier
    from .store.principals import PrincipalStore

    oidc = None
    if settings.oidc_providers:
        from .auth.oidc import OidcVerifier, providers_from_env
        oidc = OidcVerifier(providers_from_env(settings.oidc_providers), clock)
    secrets = boto3.session.Session().client("secretsmanager", region_name=settings.region,
                                             endpoint_url=settings.aws_endpoint)
    # A replaced key stays published as long as refresh tokens it signed live.
    keys = KeyStore(secrets, settings.keys_secret, clock, overlap=REFRESH_LIFETIME + LEEWAY)
    principals = PrincipalService(PrincipalStore(), clock, registries, oidc)
    from .store.throttle import LoginFailures

    return AuthService(principals, TokenIssuer(keys, settings.token_issuer, clock),
                       TokenVerifier(keys, settings.token_issuer, settings.service, clock), keys, clock,
                       settings.service, failures=LoginFailures(settings.login_window_s),
                       max_failures=settings.login_max_failures)


@functools.lru_cache(maxsize=1)
def default_services() -> Services:
    return build_services()
