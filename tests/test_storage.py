"""RecordingStore against the real SeaweedFS S3 server: two independent clients on one bucket, non-ASCII keys,
user metadata, paginated streaming listings, missing objects, ranged presigned reads and wrong credentials."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from itertools import islice

import httpx
import pytest

from callqc.seaweed import s3_credentials
from callqc.storage import RecordingStore, StorageError


@pytest.fixture
def boto3_client(bucket_settings):
    """boto3 with path-style addressing, as an agency's own upload script would use it."""
    import boto3
    from botocore.config import Config

    creds = s3_credentials(bucket_settings)
    return boto3.client("s3", endpoint_url=f"http://{bucket_settings.storage.endpoint}",
                        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                        region_name=bucket_settings.storage.region, config=Config(s3={"addressing_style": "path"}))


def list_requests(trace: str) -> list[str]:
    return [line for line in trace.splitlines() if line.startswith("GET ") and "list-type=2" in line]


def test_minio_and_boto3_read_each_others_uploads(store, boto3_client):
    etag = store.put_bytes("hengxin/2026-11-02/上传 01.flac", b"minio bytes", metadata={"agent-id": "HX-1"})
    got = boto3_client.get_object(Bucket=store.bucket, Key="hengxin/2026-11-02/上传 01.flac")
    assert got["Body"].read() == b"minio bytes"
    assert got["ETag"].strip('"') == etag and got["Metadata"] == {"agent-id": "HX-1"}

    boto3_client.put_object(Bucket=store.bucket, Key="qiming/2026-11-02/boto call.flac", Body=b"boto3 bytes",
                            Metadata={"account-id": "ACC-7", "started-at": "2026-11-02T10:00:00+08:00"})
    info = store.stat("qiming/2026-11-02/boto call.flac")
    assert store.get_bytes("qiming/2026-11-02/boto call.flac") == b"boto3 bytes"
    assert info.metadata == {"account-id": "ACC-7", "started-at": "2026-11-02T10:00:00+08:00"}
    assert info.size == len(b"boto3 bytes")

    listed = {o.key: o.etag for o in store.iter_objects("")}
    assert listed == {"hengxin/2026-11-02/上传 01.flac": etag, "qiming/2026-11-02/boto call.flac": info.etag}
    assert store.list_prefixes("") == ["hengxin/", "qiming/"]


def test_listing_1200_objects_streams_page_by_page(bucket_settings, store, boto3_client):
    keys = [f"lianzhong/2026-11-03/call-{i:04d}.json" for i in range(1200)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda key: store.put_bytes(key, b"{}"), keys))

    trace = io.StringIO()
    paged = RecordingStore(bucket_settings, page_size=100)
    paged.client.trace_on(trace)
    listing = paged.iter_objects("lianzhong/2026-11-03/")
    first = list(islice(listing, 150))  # a lazy listing: only the pages needed so far are fetched
    assert len(list_requests(trace.getvalue())) == 2
    rest = list(listing)
    paged.client.trace_off()

    assert [o.key for o in first + rest] == keys  # S3 order, nothing lost or repeated across pages
    requests = list_requests(trace.getvalue())
    assert len(requests) == 12 and all("max-keys=100" in r for r in requests)
    assert sum("continuation-token=" in r for r in requests) == 11

    pages = boto3_client.get_paginator("list_objects_v2").paginate(
        Bucket=store.bucket, Prefix="lianzhong/2026-11-03/", PaginationConfig={"PageSize": 250})
    assert [o["Key"] for page in pages for o in page["Contents"]] == keys  # the second client agrees


def test_missing_objects(store):
    assert store.stat("hengxin/2026-11-02/none.flac") is None
    with pytest.raises(StorageError) as failure:
        store.get_bytes("hengxin/2026-11-02/none.flac")
    assert failure.value.missing_object and failure.value.code == "NoSuchKey"
    assert "s3://" + store.bucket + "/hengxin/2026-11-02/none.flac" in str(failure.value)


def test_presigned_get_serves_byte_ranges(store):
    data = bytes(range(256)) * 40
    store.put_bytes("hengxin/2026-11-02/range.flac", data, content_type="audio/flac")
    url = store.presigned_get("hengxin/2026-11-02/range.flac")
    response = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert response.status_code == 206 and response.content == data[100:200]


@pytest.mark.parametrize("access_key, secret_key, code", [
    ("nobody", "wrong-secret-123", "InvalidAccessKeyId"),
    (None, "wrong-secret-123", "SignatureDoesNotMatch"),  # a real access key with the wrong secret
])
def test_wrong_credentials_are_named(bucket_settings, access_key, secret_key, code):
    from minio import Minio

    real = s3_credentials(bucket_settings)
    client = Minio(bucket_settings.storage.endpoint, access_key=access_key or real.access_key,
                   secret_key=secret_key, secure=False, region="us-east-1")
    store = RecordingStore(bucket_settings, client=client)
    with pytest.raises(StorageError) as failure:
        store.check()
    assert failure.value.code == code
    assert code in str(failure.value) and bucket_settings.storage.endpoint in str(failure.value)


def test_check_names_a_missing_bucket(bucket_settings):
    store = RecordingStore(bucket_settings, bucket="no-such-bucket-here")
    with pytest.raises(StorageError, match="bucket s3://no-such-bucket-here does not exist"):
        store.check()


def test_unreachable_endpoint_is_a_storage_error(bucket_settings):
    import urllib3
    from minio import Minio

    from conftest import _free_port

    # no retries here (the default client retries ~6 s): this checks the error, not the retry policy
    client = Minio(f"127.0.0.1:{_free_port()}", access_key="a", secret_key="b", secure=False, region="us-east-1",
                   http_client=urllib3.PoolManager(retries=urllib3.Retry(total=0)))
    store = RecordingStore(bucket_settings, client=client)
    with pytest.raises(StorageError) as failure:
        next(store.iter_objects("hengxin/"))
    assert failure.value.code is None and "Connection refused" in str(failure.value)


def test_the_embedded_server_keeps_accepting_writes_to_new_buckets(s3_settings):
    """Each test writes to a bucket of its own, and every bucket grows 7 volumes on its first write. SeaweedFS
    derives its volume limit from free disk when none is given (~300 on a machine with 75 GB free), so on the
    same session server writes began failing with HTTP 500 after 43 buckets — how many, depended on the disk.
    60 more buckets on the session's server (on top of the suite's own) must all take a write."""
    import uuid

    from callqc.settings import Settings

    for index in range(60):
        data = s3_settings.model_dump()
        data["storage"]["bucket"] = f"many-{index}-{uuid.uuid4().hex[:8]}"
        store = RecordingStore(Settings.model_validate(data))
        store.ensure_bucket()
        assert store.put_bytes("hengxin/2026-11-20/a.flac", b"fLaC" + bytes(64), content_type="audio/flac")
