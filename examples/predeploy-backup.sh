#!/bin/sh
# Pre-deployment DDS backup through dds-backup's webhook (API Gateway or `dds-backup serve`).
# POSIX sh + curl + openssl + base64 + od + mktemp; no jq needed. Exit 0 when the backup is COMPLETED, 1 when it
# FAILED, the request was refused, or it did not finish within DDS_BACKUP_TIMEOUT seconds.
#
#   DDS_BACKUP_URL=https://<group>.apic.eu-de.otc.t-systems.com \
#   DDS_BACKUP_WEBHOOK_SECRET=whsec_... \
#   DDS_BACKUP_INSTANCE=a89dab5e39394eccbdb77b19d57b0180in02 \
#   DDS_BACKUP_KEY=deploy-$CI_PIPELINE_ID \
#   sh predeploy-backup.sh
#
# DDS_BACKUP_KEY      one backup per key, whatever is retried (default: the current time, i.e. a new backup)
# DDS_BACKUP_TIMEOUT  seconds to wait for COMPLETED, 503 answers included (default 1800)
# DDS_BACKUP_POLL     seconds between status checks (default 10)
# DDS_BACKUP_DESCRIPTION  the backup's description (default "pre-deployment backup"; no >!<"&'= characters)
# DDS_BACKUP_QUIET    1: no progress lines (also -q or --quiet). Otherwise a wait of more than 3 s says on stderr,
#                     at least every 10 s, what it waits for, for how long so far, and until when at the latest.
# Ctrl-C: one line says what was interrupted; the backup may still complete, and running the script again with the
# same DDS_BACKUP_KEY shows it (the same key never makes a second backup). Exit 130.
set -eu
case "${1:-}" in -q|--quiet) DDS_BACKUP_QUIET=1 ;; esac
url="${DDS_BACKUP_URL:?set DDS_BACKUP_URL}"
secret="${DDS_BACKUP_WEBHOOK_SECRET:?set DDS_BACKUP_WEBHOOK_SECRET}"
instance="${DDS_BACKUP_INSTANCE:?set DDS_BACKUP_INSTANCE}"
key="${DDS_BACKUP_KEY:-predeploy-$(date +%s)}"
timeout="${DDS_BACKUP_TIMEOUT:-1800}"
poll="${DDS_BACKUP_POLL:-10}"
description="${DDS_BACKUP_DESCRIPTION:-pre-deployment backup}"
quiet="${DDS_BACKUP_QUIET:-}"
started=$(date +%s)
deadline=$(( started + timeout ))
# The deadline as a clock time: GNU and busybox date read -d @epoch, BSD date -r epoch.
until=$(date -d "@$deadline" +%H:%M:%S 2>/dev/null || date -r "$deadline" +%H:%M:%S 2>/dev/null || echo "in ${timeout}s")

work=$(mktemp -d)
doing="starting"
trap 'rm -rf "$work"' EXIT
trap 'rm -rf "$work"; exit 1' TERM
trap 'echo "dds-backup: interrupted while $doing; the backup may still complete: run this again with the same DDS_BACKUP_KEY to see it (the same key never makes a second backup)" >&2; rm -rf "$work"; exit 130' INT
fail() { echo "dds-backup: $*" >&2; exit 1; }
said=0
progress() {  # one plain line on stderr once a wait passes 3 s, then at least every 10 s
  [ -z "$quiet" ] || return 0
  now=$(date +%s)
  [ $(( now - started )) -ge 3 ] || return 0
  [ "$said" -eq 0 ] || [ $(( now - said )) -ge 10 ] || return 0
  said=$now
  echo "dds-backup: $doing: $(( now - started ))s so far, until $until at the latest" >&2
}
nap() {  # sleep $1 seconds, saying what it waits for
  case "$1" in *[!0-9]*) progress; sleep "$1"; return ;; esac  # a fraction: short anyway
  end=$(( $(date +%s) + $1 ))
  while [ "$(date +%s)" -lt "$end" ]; do progress; sleep 1; done
}

case "$key" in *[[:cntrl:]]*) fail "DDS_BACKUP_KEY must not contain control characters" ;; esac
# A JSON string: backslashes and double quotes escaped; anything else the API allows passes as it is.
json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
# Standard Webhooks: HMAC-SHA256 keyed with the base64-decoded secret after "whsec_", over "id.timestamp.content";
# the content is the body of a POST, and "GET <path>" for a status query.
key_hex=$(printf '%s' "${secret#whsec_}" | base64 -d 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
[ -n "$key_hex" ] || fail "DDS_BACKUP_WEBHOOK_SECRET is not a whsec_ secret"

signed_curl() {  # method path body -> $code, the HTTP status (000: no answer); answer in $work/body, headers, error
  : > "$work/body"; : > "$work/headers"; : > "$work/error"; : > "$work/code"
  ts=$(date +%s)
  if [ "$1" = GET ]; then content="GET $2"; else content="$3"; fi
  sig=$(printf '%s.%s.%s' "$key" "$ts" "$content" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64)
  left=$(( deadline - $(date +%s) )); [ "$left" -gt 0 ] || left=1
  # On failure curl still writes 000 for %{http_code}; its message goes to $work/error, not to our stderr.
  # In the background, so that a long answer (the function waits for the backup) gets its progress lines.
  curl -sS --max-time "$left" -o "$work/body" -D "$work/headers" -w '%{http_code}' -X "$1" "$url$2" \
    -H "Content-Type: application/json" -H "webhook-id: $key" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$sig" ${3:+--data "$3"} >"$work/code" 2>"$work/error" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do progress; sleep 0.2 2>/dev/null || sleep 1; done
  wait "$pid" || :
  code=$(cat "$work/code")
}
# A string field of the JSON answer, escaped characters (\" and \\) included and unescaped.
field() {
  sed -nE 's/.*"'"$1"'":"(([^"\\]|\\.)*)".*/\1/p' "$work/body" | head -n 1 | sed 's/\\"/"/g; s/\\\\/\\/g'
}
summary() {
  if [ "$1" = 000 ]; then echo "no answer from $url ($(tail -n 1 "$work/error"))"; return; fi
  echo "HTTP $1 $(field code): $(field message)"
}
# 503 means "try again": honour Retry-After (seconds), within our own timeout.
wait_after_503() {
  pause=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "$work/headers" | head -n 1)
  pause=${pause:-$poll}
  [ $(( $(date +%s) + pause )) -lt "$deadline" ] || fail "still refused after ${timeout}s: $(summary 503)"
  doing="the instance is busy (HTTP 503); trying again after ${pause}s"
  nap "$pause"
}

body="{\"instance_id\":$(json_string "$instance"),\"idempotency_key\":$(json_string "$key"),\"description\":$(json_string "$description"),\"wait\":true}"
doing="waiting for the backup of $instance to be made (POST $url/backups)"
while :; do
  signed_curl POST /backups "$body"
  case "$code" in
    200|202) break ;;
    000) fail "$(summary 000)" ;;
    503) wait_after_503 ;;
    *) fail "request refused: $(summary "$code")" ;;
  esac
done
backup_id=$(field backup_id)
doing="waiting for backup $backup_id to be COMPLETED (it is $(field status))"
echo "dds-backup: backup $(field name) ($backup_id) is $(field status)"
while :; do
  case "$(field status)" in
    COMPLETED) echo "dds-backup: COMPLETED"; exit 0 ;;
    FAILED) fail "the backup FAILED: $(field message)" ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || fail "still not COMPLETED after ${timeout}s"
  doing="waiting for backup $backup_id to be COMPLETED (it is $(field status))"
  nap "$poll"
  signed_curl GET "/backups/$backup_id" ""
  case "$code" in
    200) ;;
    000) fail "$(summary 000)" ;;
    503) wait_after_503 ;;
    *) fail "status check refused: $(summary "$code")" ;;
  esac
done
