# Prints Dagu's variables as a Dagu step reads them (WEBHOOK_PAYLOAD last, exactly).
printf 'DAG_RUN_ID=%s\n' "${DAG_RUN_ID-<unset>}"
printf 'TRUNCATED=%s\n' "${WEBHOOK_PAYLOAD_TRUNCATED-<unset>}"
printf 'HEADERS=%s\n' "${WEBHOOK_HEADERS-<unset>}"
printf 'STDIN_LENGTH=%s\n' "$(wc -c | tr -d ' ')"
printf 'PAYLOAD_LENGTH=%s\n' "${#WEBHOOK_PAYLOAD}"
printf 'PAYLOAD=%s' "${WEBHOOK_PAYLOAD-<unset>}"
