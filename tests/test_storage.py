"""pb/storage.py against the real things: a folder in tmp_path, and an S3 server (moto) on a loopback port."""

import pytest

from pb import create_app, storage
from tests.conftest import _free_port


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server, for real over HTTP on loopback."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _s3_settings(endpoint: str, bucket: str) -> dict:
    return {"S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint, "S3_ACCESS_KEY_ID": "testing",
            "S3_SECRET_ACCESS_KEY": "testing", "S3_REGION": "us-east-1"}


@pytest.fixture(params=["folder", "s3"])
def store(request, tmp_path):
    if request.param == "folder":
        return storage.store_for({"UPLOAD_FOLDER": str(tmp_path / "uploads")})
    endpoint = request.getfixturevalue("s3_server")
    bucket = f"pb-test-{_free_port()}"
    made = storage.store_for(_s3_settings(endpoint, bucket))
    made.client.create_bucket(Bucket=bucket)
    return made


def test_a_file_is_put_read_and_deleted(store):
    key = storage.new_key()
    assert not store.exists(key)
    store.put(key, b"\x89PNG bytes", "image/png")
    assert store.exists(key)
    assert store.get(key) == b"\x89PNG bytes"
    store.put(key, b"replaced", "image/png")
    assert store.get(key) == b"replaced"
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(storage.StoredFileMissing):
        store.get(key)
    store.delete(key)  # deleting what is gone is no error


def test_s3_keeps_the_content_type(s3_server):
    bucket = f"pb-test-{_free_port()}"
    store = storage.store_for(_s3_settings(s3_server, bucket))
    store.client.create_bucket(Bucket=bucket)
    store.put("a" * 32, b"%PDF-1.4", "application/pdf")
    assert store.client.head_object(Bucket=bucket, Key="a" * 32)["ContentType"] == "application/pdf"


@pytest.mark.parametrize("key", ["../etc/passwd", "a/b", "", "short", "x" * 101, "abc def ghi jkl mnop", None,
                                 "..%2F..%2Fsecret-file-name", "C:\\windows\\system32"])
def test_no_key_can_name_a_path_outside_the_store(store, key):
    for call in (lambda: store.put(key, b"x", "text/plain"), lambda: store.get(key), lambda: store.delete(key)):
        with pytest.raises(ValueError):
            call()


def test_keys_are_random_and_url_safe():
    keys = {storage.new_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(storage._KEY.match(key) and len(key) >= 32 for key in keys)


def test_the_folder_holds_no_half_written_file(tmp_path):
    store = storage.store_for({"UPLOAD_FOLDER": str(tmp_path)})
    store.put("k" * 32, b"data", "text/plain")
    assert [path.name for path in tmp_path.iterdir()] == ["k" * 32]


def test_the_app_chooses_the_store_from_its_settings(tmp_path, s3_server):
    folder_app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "UPLOAD_FOLDER": str(tmp_path)})
    assert isinstance(folder_app.extensions["pb_storage"], storage.FolderStore)
    assert folder_app.extensions["pb_storage"].folder == str(tmp_path)
    default_app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    assert default_app.config["UPLOAD_FOLDER"].endswith("instance/uploads")
    s3_app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", **_s3_settings(s3_server, "photos")})
    assert isinstance(s3_app.extensions["pb_storage"], storage.S3Store)
    assert s3_app.extensions["pb_storage"].bucket == "photos"
