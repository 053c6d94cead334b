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
set -eu
url="${DDS_BACKUP_URL:?set DDS_BACKUP_URL}"
secret="${DDS_BACKUP_WEBHOOK_SECRET:?set DDS_BACKUP_WEBHOOK_SECRET}"
instance="${DDS_BACKUP_INSTANCE:?set DDS_BACKUP_INSTANCE}"
key="${DDS_BACKUP_KEY:-predeploy-$(date +%s)}"
timeout="${DDS_BACKUP_TIMEOUT:-1800}"
poll="${DDS_BACKUP_POLL:-10}"
description="${DDS_BACKUP_DESCRIPTION:-pre-deployment backup}"
deadline=$(( $(date +%s) + timeout ))

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
fail() { echo "dds-backup: $*" >&2; exit 1; }

case "$key" in *[[:cntrl:]]*) fail "DDS_BACKUP_KEY must not contain control characters" ;; esac
# A JSON string: backslashes and double quotes escaped; anything else the API allows passes as it is.
json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }
# Standard Webhooks: HMAC-SHA256 keyed with the base64-decoded secret after "whsec_", over "id.timestamp.content";
# the content is the body of a POST, and "GET <path>" for a status query.
key_hex=$(printf '%s' "${secret#whsec_}" | base64 -d 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
[ -n "$key_hex" ] || fail "DDS_BACKUP_WEBHOOK_SECRET is not a whsec_ secret"

signed_curl() {  # method path body -> HTTP status (000: no answer); answer in $work/body, headers, curl's error
  : > "$work/body"; : > "$work/headers"; : > "$work/error"
  ts=$(date +%s)
  if [ "$1" = GET ]; then content="GET $2"; else content="$3"; fi
  sig=$(printf '%s.%s.%s' "$key" "$ts" "$content" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64)
  left=$(( deadline - $(date +%s) )); [ "$left" -gt 0 ] || left=1
  # On failure curl still writes 000 for %{http_code}; its message goes to $work/error, not to our stderr.
  curl -sS --max-time "$left" -o "$work/body" -D "$work/headers" -w '%{http_code}' -X "$1" "$url$2" \
    -H "Content-Type: application/json" -H "webhook-id: $key" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$sig" ${3:+--data "$3"} 2>"$work/error" || :
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$work/body" | head -n 1; }
summary() {
  if [ "$1" = 000 ]; then echo "no answer from $url ($(tail -n 1 "$work/error"))"; return; fi
  echo "HTTP $1 $(field code): $(field message)"
}
# 503 means "try again": honour Retry-After (seconds), within our own timeout.
wait_after_503() {
  pause=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' "$work/headers" | head -n 1)
  pause=${pause:-$poll}
  [ $(( $(date +%s) + pause )) -lt "$deadline" ] || fail "still refused after ${timeout}s: $(summary 503)"
  sleep "$pause"
}

body="{\"instance_id\":$(json_string "$instance"),\"idempotency_key\":$(json_string "$key"),\"description\":$(json_string "$description"),\"wait\":true}"
while :; do
  code=$(signed_curl POST /backups "$body")
  case "$code" in
    200|202) break ;;
    000) fail "$(summary 000)" ;;
    503) wait_after_503 ;;
    *) fail "request refused: $(summary "$code")" ;;
  esac
done
backup_id=$(field backup_id)
echo "dds-backup: backup $(field name) ($backup_id) is $(field status)"
while :; do
  case "$(field status)" in
    COMPLETED) echo "dds-backup: COMPLETED"; exit 0 ;;
    FAILED) fail "the backup FAILED: $(field message)" ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || fail "still not COMPLETED after ${timeout}s"
  sleep "$poll"
  code=$(signed_curl GET "/backups/$backup_id" "")
  case "$code" in
    200) ;;
    000) fail "$(summary 000)" ;;
    503) wait_after_503 ;;
    *) fail "status check refused: $(summary "$code")" ;;
  esac
done
