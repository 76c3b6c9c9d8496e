"""S3 (or any S3-compatible server) through boto3.

boto3 is blocking, so every call runs in a worker thread. Streaming writes use a multipart
upload (parts of ``part_size`` bytes), completed only after the last chunk: until then the
object does not exist, and an upload that fails is aborted. Small objects use one
``PutObject``. ``move`` is a server-side copy followed by a delete.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from pydantic import BaseModel, Field, SecretStr

from .base import CHUNK_SIZE, PathNotFound, Tap, check_path

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

MIN_PART_SIZE = 5 << 20


class S3StorageSettings(BaseModel):
    """``WHARF_REGISTRY_STORAGE__DRIVER=s3`` plus ``WHARF_REGISTRY_STORAGE__BUCKET=...`` etc."""

    driver: Literal["s3"]
    bucket: str
    prefix: str = ""
    """Key prefix for every object (``registry/`` keeps a shared bucket tidy)."""
    endpoint_url: str | None = None
    region: str | None = None
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "path"
    part_size: int = Field(default=8 << 20, ge=MIN_PART_SIZE)
    create_bucket: bool = False
    """Create the bucket at start-up when it does not exist (handy for a private S3 server)."""
    redirect: bool = False
    """Answer layer GETs with a presigned URL (``302``) instead of streaming them."""
    redirect_expiry: int = 600


def _missing(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("404", "NoSuchKey", "NotFound")


class S3Driver:
    name = "s3"

    def __init__(self, settings: S3StorageSettings) -> None:
        self.settings = settings
        self.bucket = settings.bucket
        self.prefix = settings.prefix.strip("/") + "/" if settings.prefix.strip("/") else ""
        self.client: S3Client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.endpoint_url,
            region_name=settings.region,
            aws_access_key_id=settings.access_key.get_secret_value() if settings.access_key else None,
            aws_secret_access_key=settings.secret_key.get_secret_value() if settings.secret_key else None,
            config=Config(s3={"addressing_style": settings.addressing_style}, retries={"max_attempts": 3}),
        )
        if settings.create_bucket:
            self._create_bucket()

    def _create_bucket(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            extra: dict[str, Any] = {}
            if self.settings.region and self.settings.region != "us-east-1":
                extra["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
            self.client.create_bucket(Bucket=self.bucket, **extra)

    def _key(self, path: str) -> str:
        return self.prefix + check_path(path)

    async def read(self, path: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        if end is not None and end <= start:
            await self.size(path)
            return
        extra: dict[str, Any] = {}
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            response = await asyncio.to_thread(
                self.client.get_object, Bucket=self.bucket, Key=self._key(path), **extra
            )
        except ClientError as exc:
            if _missing(exc):
                raise PathNotFound(path) from None
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return
            raise
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK_SIZE):
                yield chunk
        finally:
            body.close()

    async def write(
        self, path: str, chunks: AsyncIterable[bytes], *, durable: bool = True, tap: Tap | None = None
    ) -> int:
        """S3 keeps what it acknowledged: every write is durable, ``durable`` changes nothing.
        ``tap`` sees each part in the thread that uploads it."""
        key = self._key(path)
        part_size = self.settings.part_size
        buffer = bytearray()
        iterator = aiter(chunks)
        # fill the first part: a small object is one PutObject
        async for chunk in iterator:
            buffer += chunk
            if len(buffer) >= part_size:
                break
        else:
            whole = bytes(buffer)
            await asyncio.to_thread(self._put_tapped, key, whole, tap)
            return len(whole)
        upload = await asyncio.to_thread(self.client.create_multipart_upload, Bucket=self.bucket, Key=key)
        upload_id = upload["UploadId"]
        parts: list[CompletedPartTypeDef] = []
        written = len(buffer)

        def send_part(data: bytes, number: int) -> str:
            if tap is not None:
                tap(data)
            result = self.client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
            return result["ETag"]

        async def flush(data: bytes) -> None:
            number = len(parts) + 1
            etag = await asyncio.to_thread(send_part, data, number)
            parts.append({"ETag": etag, "PartNumber": number})

        try:
            async for chunk in iterator:
                buffer += chunk
                written += len(chunk)
                while len(buffer) >= part_size:  # every part but the last is exactly part_size
                    await flush(bytes(buffer[:part_size]))
                    del buffer[:part_size]
            if buffer or not parts:
                await flush(bytes(buffer))
            await asyncio.to_thread(
                self.client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            await asyncio.shield(
                asyncio.to_thread(
                    self.client.abort_multipart_upload, Bucket=self.bucket, Key=key, UploadId=upload_id
                )
            )
            raise
        return written

    def _put_tapped(self, key: str, data: bytes, tap: Tap | None) -> None:
        if tap is not None:
            tap(data)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    async def put(self, path: str, data: bytes, *, durable: bool = True) -> None:
        key = self._key(path)  # S3 keeps what it acknowledged: durable either way
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=key, Body=data)

    async def sync(self, paths: Sequence[str]) -> None:
        for path in paths:
            self._key(path)

    async def get(self, path: str) -> bytes:
        key = self._key(path)

        def fetch() -> bytes:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                return body.read()
            finally:
                body.close()

        try:
            return await asyncio.to_thread(fetch)
        except ClientError as exc:
            if _missing(exc):
                raise PathNotFound(path) from None
            raise

    async def size(self, path: str) -> int:
        try:
            head = await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self._key(path))
        except ClientError as exc:
            if _missing(exc):
                raise PathNotFound(path) from None
            raise
        return head["ContentLength"]

    async def exists(self, path: str) -> bool:
        try:
            await self.size(path)
        except PathNotFound:
            return False
        return True

    async def _keys(self, prefix: str, *, delimiter: bool) -> tuple[list[str], list[str]]:
        """(object keys, common prefixes) under ``prefix``, every page."""

        def collect() -> tuple[list[str], list[str]]:
            keys: list[str] = []
            prefixes: list[str] = []
            paginator = self.client.get_paginator("list_objects_v2")
            pages = paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/" if delimiter else "")
            for page in pages:
                keys.extend(obj["Key"] for obj in page.get("Contents", []))
                prefixes.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
            return keys, prefixes

        return await asyncio.to_thread(collect)

    async def list(self, path: str) -> list[str]:
        prefix = self._key(path) + "/"
        keys, prefixes = await self._keys(prefix, delimiter=True)
        names = {k[len(prefix) :] for k in keys} | {p[len(prefix) :].rstrip("/") for p in prefixes}
        return sorted(n for n in names if n)

    async def delete(self, path: str) -> None:
        key = self._key(path)
        keys, _ = await self._keys(key + "/", delimiter=False)
        if await self.exists(path):
            keys.append(key)
        if not keys:
            raise PathNotFound(path)
        for i in range(0, len(keys), 1000):
            batch = keys[i : i + 1000]
            await asyncio.to_thread(
                self.client.delete_objects,
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )

    async def move(self, src: str, dst: str, *, durable: bool = True) -> None:
        source, target = self._key(src), self._key(dst)
        if not await self.exists(src):
            raise PathNotFound(src)
        await asyncio.to_thread(self.client.copy, {"Bucket": self.bucket, "Key": source}, self.bucket, target)
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=source)

    def redirect_url(self, path: str) -> str | None:
        if not self.settings.redirect:
            return None
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(path)},
            ExpiresIn=self.settings.redirect_expiry,
        )

    def local_path(self, path: str) -> Path | None:
        check_path(path)
        return None
