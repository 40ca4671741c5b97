"""The file store for photos and documents: a folder (the default) or an S3-compatible bucket; only this module talks to it.

Keys are made by pb (`new_key()`, random), never taken from a user, and checked before any use, so no key can name a
path outside the folder.
"""

import os
import re
import secrets
import tempfile

from flask import Flask, current_app

_KEY = re.compile(r"^[A-Za-z0-9_-]{16,100}$")


class StoredFileMissing(LookupError):
    """The store has no file under this key."""


def new_key() -> str:
    """A fresh random key: nothing about the file, the proposal or its author can be read from it."""
    return secrets.token_urlsafe(24)


def _checked(key: str) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class FolderStore:
    """Files in one folder on the server's disk (the instance folder's uploads/ by default)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def _path(self, key: str) -> str:
        return os.path.join(self.folder, _checked(key))

    def put(self, key: str, data: bytes, content_type: str) -> None:
        os.makedirs(self.folder, exist_ok=True)
        # Written whole under a temporary name, then renamed: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, self._path(key))
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    def get(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as file:
                return file.read()
        except FileNotFoundError as error:
            raise StoredFileMissing(key) from error

    def delete(self, key: str) -> None:
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            pass

    def exists(self, key: str) -> bool:
        return os.path.exists(self._path(key))


class S3Store:
    """Files in a bucket of an S3-compatible store (AWS S3, MinIO, Ceph, Garage...) through boto3."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, access_key_id: str | None = None,
                 secret_access_key: str | None = None, region: str | None = None) -> None:
        import boto3  # only needed when a bucket is configured
        from botocore.config import Config

        self.bucket = bucket
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None, region_name=region or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=30),
        )

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=_checked(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=_checked(key))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise StoredFileMissing(key) from error
            raise

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=_checked(key))  # deleting a missing key is no error

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=_checked(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return False
            raise
        return True


def store_for(config) -> FolderStore | S3Store:
    """The store the settings name: the S3 bucket when PB_S3_BUCKET is set, else the upload folder."""
    if config.get("S3_BUCKET"):
        return S3Store(config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
                       access_key_id=config.get("S3_ACCESS_KEY_ID"),
                       secret_access_key=config.get("S3_SECRET_ACCESS_KEY"), region=config.get("S3_REGION"))
    return FolderStore(config["UPLOAD_FOLDER"])


def init_app(app: Flask) -> None:
    if not app.config.get("UPLOAD_FOLDER"):
        app.config["UPLOAD_FOLDER"] = os.path.join(app.instance_path, "uploads")
    app.extensions["pb_storage"] = store_for(app.config)


def store() -> FolderStore | S3Store:
    """The current app's store."""
    return current_app.extensions["pb_storage"]
