"""Audio through the app from a real S3 bucket: HTTP ranges (206), whole file (200), bad range (416), scope."""

from __future__ import annotations

import pytest

from callqc.db.models import Recording
from callqc.web.audio import ByteRange, RangeNotSatisfiable, parse_range
from web_fixtures import CALLS_DIR, make_web_env

SIZE = 1000


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("", None),
    ("bytes=0-", ByteRange(0, 999)),
    ("bytes=0-99", ByteRange(0, 99)),
    ("bytes=900-5000", ByteRange(900, 999)),  # clipped to the object
    ("bytes=-100", ByteRange(900, 999)),      # the last 100 bytes
    ("bytes=-5000", ByteRange(0, 999)),
    ("bytes=0-1,5-6", None),                  # multi-range: the whole object is a valid answer
    ("items=0-1", None),
])
def test_parse_range(header, expected):
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-4", "bytes=-0"])
def test_unsatisfiable_range(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, SIZE)


def test_audio_streams_ranges_from_s3_for_permitted_users_only(store, sqlite_url, tmp_path):
    audio = (CALLS_DIR / "callA_02.flac").read_bytes()
    env = make_web_env(sqlite_url, tmp_path, store=store)
    call = env.calls["lianzhong"]
    with env.factory() as session:
        recording = session.get(Recording, call.recording_id)
        store.put_bytes(recording.key, audio, content_type="audio/flac")
        recording.bucket = store.bucket
        session.commit()

    reviewer = env.client("rita")
    path = f"/calls/{call.recording_id}/audio"
    whole = reviewer.get(path)
    assert whole.status_code == 200 and whole.content == audio
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["content-type"] == "audio/flac"
    middle = reviewer.get(path, headers={"range": "bytes=700000-1300000"})  # crosses the 512 KiB chunks
    assert middle.status_code == 206
    assert middle.headers["content-range"] == f"bytes 700000-1221110/{len(audio)}"
    assert middle.content == audio[700000:1221111]
    tail = reviewer.get(path, headers={"range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == audio[-10:]
    assert reviewer.get(path, headers={"range": f"bytes={len(audio)}-"}).status_code == 416

    assert env.client("lz_viewer").get(path, headers={"range": "bytes=0-9"}).content == audio[:10]
    refused = env.client("hx_viewer").get(path, headers={"range": "bytes=0-9"})
    assert refused.status_code == 404 and refused.content != audio[:10]
    assert env.client().get(path, headers={"range": "bytes=0-9"}).status_code == 401

    # The other call's object was never uploaded: a clear 404, whether its size is known or not.
    missing = f"/calls/{env.calls['hengxin'].recording_id}/audio"
    with env.factory() as session:
        session.get(Recording, env.calls["hengxin"].recording_id).bucket = store.bucket
        session.commit()
    answer = reviewer.get(missing, headers={"range": "bytes=0-9"})
    assert answer.status_code == 404 and "missing from storage" in answer.text
    with env.factory() as session:
        session.get(Recording, env.calls["hengxin"].recording_id).size = 5000
        session.commit()
    answer = reviewer.get(missing, headers={"range": "bytes=0-9"})
    assert answer.status_code == 404 and "missing from storage" in answer.text
