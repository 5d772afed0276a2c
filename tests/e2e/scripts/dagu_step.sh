#!/bin/sh
# A Dagu step as a command agent, for the Dagu webhook end-to-end tests: writes its whole
# environment (`env`), WEBHOOK_PAYLOAD byte for byte and its stdin to the directory named by its
# first argument, one set of files per triggerd run id.
set -eu
out="$1"
cat > "$out/$TRIGGER_RUN_ID.stdin"
env > "$out/$TRIGGER_RUN_ID.env"
printf '%s' "${WEBHOOK_PAYLOAD-<unset>}" > "$out/$TRIGGER_RUN_ID.payload"
printf 'ok'
