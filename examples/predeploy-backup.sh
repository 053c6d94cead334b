#!/bin/sh
# Pre-deployment DDS backup through dds-backup's webhook (API Gateway or `dds-backup serve`).
# POSIX sh + curl + openssl + base64 + od; no jq needed. Exit 0 when the backup is COMPLETED, non-zero
# when it FAILED, the request was refused, or it did not finish within DDS_BACKUP_TIMEOUT seconds.
#
#   DDS_BACKUP_URL=https://<group>.apic.eu-de.otc.t-systems.com \
#   DDS_BACKUP_WEBHOOK_SECRET=whsec_... \
#   DDS_BACKUP_INSTANCE=a89dab5e39394eccbdb77b19d57b0180in02 \
#   DDS_BACKUP_KEY=deploy-$CI_PIPELINE_ID \
#   sh predeploy-backup.sh
set -eu
url="${DDS_BACKUP_URL:?set DDS_BACKUP_URL}"
secret="${DDS_BACKUP_WEBHOOK_SECRET:?set DDS_BACKUP_WEBHOOK_SECRET}"
instance="${DDS_BACKUP_INSTANCE:?set DDS_BACKUP_INSTANCE}"
key="${DDS_BACKUP_KEY:-predeploy-$(date +%s)}"      # the same key never makes a second backup
timeout="${DDS_BACKUP_TIMEOUT:-1800}"
# Standard Webhooks: HMAC-SHA256 keyed with the base64-decoded secret after "whsec_", over "id.timestamp.body".
key_hex=$(printf '%s' "${secret#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \n')

signed_curl() {  # method path body
  ts=$(date +%s)
  sig=$(printf '%s.%s.%s' "$key" "$ts" "$3" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64)
  curl -sS -o /tmp/dds-backup.json -w '%{http_code}' -X "$1" "$url$2" \
    -H "Content-Type: application/json" -H "webhook-id: $key" -H "webhook-timestamp: $ts" \
    -H "webhook-signature: v1,$sig" ${3:+--data "$3"}
}
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" /tmp/dds-backup.json; }

body="{\"instance_id\":\"$instance\",\"description\":\"pre-deployment backup $key\",\"wait\":true}"
code=$(signed_curl POST /backups "$body")
case "$code" in
  200|202) ;;
  *) echo "dds-backup: request refused (HTTP $code): $(cat /tmp/dds-backup.json)" >&2; exit 1 ;;
esac
backup_id=$(field backup_id)
echo "dds-backup: backup $(field name) ($backup_id) is $(field status)"
deadline=$(( $(date +%s) + timeout ))
while :; do
  case "$(field status)" in
    COMPLETED) echo "dds-backup: COMPLETED"; exit 0 ;;
    FAILED) echo "dds-backup: FAILED: $(cat /tmp/dds-backup.json)" >&2; exit 1 ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || { echo "dds-backup: still not COMPLETED after ${timeout}s" >&2; exit 1; }
  sleep "${DDS_BACKUP_POLL:-10}"
  code=$(signed_curl GET "/backups/$backup_id" "")
  [ "$code" = 200 ] || { echo "dds-backup: status check failed (HTTP $code)" >&2; exit 1; }
done
