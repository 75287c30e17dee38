def test_seaweed_roundtrip(store):
    etag = store.put_bytes("hengxin/2026-11-02/x.json", b"{}", metadata={"agent-id": "A1"})
    info = store.stat("hengxin/2026-11-02/x.json")
    assert info.etag == etag and info.metadata["agent-id"] == "A1"
