"""S3 adapter: implements ObjectStore with boto3. Pre-signed URLs are made with a client
whose endpoint is the one clients can reach (the embedded S3 port locally)."""
from __future__ import annotations

from typing import Callable, Iterator, Sequence

from botocore.config import Config
from botocore.exceptions import ClientError

from .ports import IncompleteObject

_NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}
_INCOMPLETE = _NOT_FOUND | {"InvalidPart", "InvalidPartOrder", "MalformedXML", "EntityTooSmall"}


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _NOT_FOUND


class S3Objects:
    def __init__(self, session, bucket: str, region: str, endpoint: str | None, public_endpoint: str | None,
                 own_bucket: Callable[[str], str | None] | None = None):
        """own_bucket(registry): the registry's own bucket, if it has one. Keys start with their
        registry (store/keys.py), so every call finds its bucket from the key alone."""
        s3 = {"addressing_style": "path"}
        if endpoint and endpoint.startswith("http://"):
            # botocore signs (SHA-256s) every body sent over plain HTTP, which only the local
            # storage is; over HTTPS (AWS) it already leaves part and object bodies unsigned.
            s3["payload_signing_enabled"] = False
        config = Config(signature_version="s3v4", s3=s3,
                        max_pool_connections=64, retries={"max_attempts": 3, "mode": "standard"})
        self._default_bucket = bucket
        self._own_bucket = own_bucket
        self._s3 = session.client("s3", region_name=region, endpoint_url=endpoint, config=config)
        self._signer = (session.client("s3", region_name=region, endpoint_url=public_endpoint, config=config)
                        if public_endpoint and public_endpoint != endpoint else self._s3)

    def _bucket(self, key: str) -> str:
        registry = key.partition("/")[0]
        if self._own_bucket is None or registry.startswith("_"):
            return self._default_bucket
        return self._own_bucket(registry) or self._default_bucket

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self._s3.head_bucket(Bucket=bucket)
            return True
        except ClientError:
            return False

    def put(self, key: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self._bucket(key), Key=key, Body=data, ContentType="application/octet-stream")

    def get(self, key: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self._bucket(key), Key=key)["Body"].read()
        except ClientError as error:
            if _missing(error):
                return None
            raise

    def size(self, key: str) -> int | None:
        try:
            return int(self._s3.head_object(Bucket=self._bucket(key), Key=key)["ContentLength"])
        except ClientError as error:
            if _missing(error):
                return None
            raise

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket(key), Key=key)

    def read_chunks(self, key: str, chunk_size: int) -> Iterator[bytes]:
        try:
            body = self._s3.get_object(Bucket=self._bucket(key), Key=key)["Body"]
        except ClientError as error:
            if _missing(error):
                raise IncompleteObject(key) from error
            raise
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def presign_get(self, key: str, ttl_s: int) -> str:
        return self._signer.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket(key), "Key": key}, ExpiresIn=ttl_s)

    def presign_put(self, key: str, ttl_s: int, size: int, sha256_b64: str) -> tuple[str, dict[str, str]]:
        # The checksum is signed in: S3 refuses bytes that do not match (on AWS).
        url = self._signer.generate_presigned_url(
            "put_object", ExpiresIn=ttl_s,
            Params={"Bucket": self._bucket(key), "Key": key, "ContentLength": size,
                    "ChecksumSHA256": sha256_b64, "ContentType": "application/octet-stream"})
        return url, {"Content-Type": "application/octet-stream", "x-amz-checksum-sha256": sha256_b64,
                     "Content-Length": str(size)}

    def presign_part(self, key: str, multipart_id: str, part_number: int, ttl_s: int) -> str:
        return self._signer.generate_presigned_url(
            "upload_part", ExpiresIn=ttl_s,
            Params={"Bucket": self._bucket(key), "Key": key, "UploadId": multipart_id, "PartNumber": part_number})

    def start_multipart(self, key: str) -> str:
        return self._s3.create_multipart_upload(
            Bucket=self._bucket(key), Key=key, ContentType="application/octet-stream")["UploadId"]

    def upload_part(self, key: str, multipart_id: str, part_number: int, data: bytes) -> str:
        return self._s3.upload_part(Bucket=self._bucket(key), Key=key, UploadId=multipart_id,
                                    PartNumber=part_number, Body=data)["ETag"]

    def list_parts(self, key: str, multipart_id: str) -> list[tuple[int, str]]:
        parts: list[tuple[int, str]] = []
        paginator = self._s3.get_paginator("list_parts")
        try:
            for page in paginator.paginate(Bucket=self._bucket(key), Key=key, UploadId=multipart_id):
                parts += [(p["PartNumber"], p["ETag"]) for p in page.get("Parts", [])]
        except ClientError as error:
            if _missing(error):
                raise IncompleteObject(key) from error
            raise
        return parts

    def complete_multipart(self, key: str, multipart_id: str, parts: Sequence[tuple[int, str]]) -> None:
        if not parts:
            raise IncompleteObject(key)
        try:
            self._s3.complete_multipart_upload(
                Bucket=self._bucket(key), Key=key, UploadId=multipart_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _INCOMPLETE:
                raise IncompleteObject(key) from error
            raise

    def abort_multipart(self, key: str, multipart_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket(key), Key=key, UploadId=multipart_id)
        except ClientError as error:
            if not _missing(error):
                raise
