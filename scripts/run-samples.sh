#!/usr/bin/env bash
# `make run`: send the bundled samples through the real pipeline and show what was stored.
# Uses the Redis at NEWSFLOW_BROKER_URL; if none answers, starts a private redis-server; if
# there is none, falls back to --local (the four stages in one process). Stops what it starts.
#
# The demo goes into a database of its own, demo.db in the data folder, emptied at the start
# of each run and kept afterwards to look at: a second run shows the same clean result, not
# the demo site's pages again (under a new port, as duplicates of the last run's).
# DEMO_DATABASE=default uses the default database (NEWSFLOW_DATABASE_URL, or newsflow.db in
# the data folder) instead, and adds to it.
set -euo pipefail
cd "$(dirname "$0")/.."

newsflow=.venv/bin/newsflow
python=.venv/bin/python
work=$(mktemp -d "${TMPDIR:-/tmp}/newsflow-run.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

broker_answers() {
  "$python" - "$1" <<'PY'
import sys, redis
try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
except redis.RedisError:
    sys.exit(1)
PY
}

case "${DEMO_DATABASE:-demo}" in
  demo)
    demo_db=$("$python" -c 'from pipeline.settings import get_settings; print(get_settings().data_dir / "demo.db")')
    mkdir -p "$(dirname "$demo_db")"  # the data folder is made on first use; this is it
    rm -f "$demo_db" "$demo_db-wal" "$demo_db-shm"
    export NEWSFLOW_DATABASE_URL="sqlite:///$demo_db"
    whose="the demo's own, emptied each run; DEMO_DATABASE=default uses your default database"
    ;;
  default)
    whose="your default database; the demo's articles stay there"
    ;;
  *)
    echo "DEMO_DATABASE is demo (the default) or default, not '$DEMO_DATABASE'" >&2
    exit 2
    ;;
esac
# Shown with its password hidden: the URL may be a PostgreSQL server's.
database=$("$python" -c 'from pipeline.settings import get_settings; from pipeline.store.urls import shown; print(shown(get_settings().database))')
echo "==> database: $database ($whose)"

broker=$("$python" -c 'from pipeline.settings import get_settings; print(get_settings().broker_url)')
mode=queued
if broker_answers "$broker"; then
  echo "==> using Redis at $broker"
elif command -v redis-server >/dev/null; then
  port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
  pids+=($!)
  export NEWSFLOW_BROKER_URL="redis://127.0.0.1:$port/0"
  for _ in $(seq 50); do broker_answers "$NEWSFLOW_BROKER_URL" && break; sleep 0.1; done
  echo "==> no Redis at $broker; started a private one at $NEWSFLOW_BROKER_URL"
else
  mode=local
  echo "==> NOTICE: no Redis at $broker and no redis-server installed:"
  echo "    running the four stages in this process (--local) instead of through workers."
fi

samples=(samples/*.txt)
pages=(samples/*.html)
"$newsflow" db upgrade

# A demo site on 127.0.0.1: the HTML samples as web pages and an RSS feed listing them.
site="$work/site"
mkdir -p "$site"
cp "${pages[@]}" "$site/"
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
{
  echo '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>newsflow demo</title>'
  for page in "${pages[@]}"; do
    echo "<item><link>http://127.0.0.1:$port/$(basename "$page")</link></item>"
  done
  echo '</channel></rss>'
} >"$site/feed.xml"
"$python" -m http.server "$port" --bind 127.0.0.1 --directory "$site" >"$work/site.log" 2>&1 &
pids+=($!)
# The guard refuses private addresses; this one demo host is allowed by name.
export NEWSFLOW_ALLOWED_HOSTS="127.0.0.1:$port"
feed="http://127.0.0.1:$port/feed.xml"
for _ in $(seq 50); do "$python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])" "$feed" 2>/dev/null && break; sleep 0.1; done

if [ "$mode" = queued ]; then
  "$newsflow" worker --loglevel warning --hostname "newsflow-run-$$@%h" >"$work/worker.log" 2>&1 &
  pids+=($!)
  # Wait (at most a minute) until the worker answers, so that nothing reports it missing.
  "$python" -c "
import sys, time
from workers.app import get_app
app = get_app()
deadline = time.monotonic() + 60
while not app.control.ping(timeout=1.0) and time.monotonic() < deadline:
    time.sleep(0.5)
" || true
  echo "==> worker started (log: $work/worker.log); ingesting ${samples[*]}"
  if ! "$newsflow" ingest "${samples[@]}" --wait --timeout 300; then
    echo "==> some items failed; the worker said:"; tail -n 20 "$work/worker.log"; exit 1
  fi
  echo "==> polling the demo feed $feed"
  added=$("$newsflow" sources add "$feed" --interval 10m)
  echo "$added"
  source_id=$(echo "$added" | sed -n 's/.*#\([0-9]*\).*/\1/p' | head -n 1)
  if ! "$newsflow" sources poll "$source_id" --wait --timeout 300; then
    echo "==> some items failed; the worker said:"; tail -n 20 "$work/worker.log"; exit 1
  fi
  # The demo site goes away with this script; its source should not linger in the database.
  "$newsflow" sources remove "$source_id"
  echo "==> the pipeline at a glance (newsflow status)"
  COLUMNS=${COLUMNS:-120} "$newsflow" status
else
  "$newsflow" ingest --local "${samples[@]}" "${pages[@]}"
  echo "==> NOTICE: polling the demo feed needs a worker (and Redis); skipped in --local mode."
fi
"$newsflow" articles --limit 10
if [ "${DEMO_DATABASE:-demo}" = demo ]; then
  echo "==> kept in $database until the next run; to look again:"
  printf '    NEWSFLOW_DATABASE_URL=%q %s articles\n' "$NEWSFLOW_DATABASE_URL" "$newsflow"
fi
