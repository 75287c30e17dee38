#!/usr/bin/env bash
# The integration tests also run against PostgreSQL on 127.0.0.1:5432 (trust auth).
# Start the local cluster if it is installed but not answering; otherwise say what is needed.
set -uo pipefail
ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null || python - <<'PY' 2>/dev/null
import psycopg; psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3).close()
PY
}
if ready; then exit 0; fi
if command -v pg_ctlcluster >/dev/null && [[ $(id -u) -eq 0 ]]; then
  version=$(ls /etc/postgresql 2>/dev/null | head -1)
  if [[ -n "$version" ]]; then
    echo "==> starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
  fi
fi
echo "!! PostgreSQL is not answering on 127.0.0.1:5432 (trust auth, user postgres); the PostgreSQL tests will fail" >&2
exit 0
