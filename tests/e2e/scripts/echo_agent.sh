#!/bin/sh
# A command agent for the end-to-end tests: records what it was given in the directory named by
# its first argument, one file per run id, and answers with a reply naming the event.
set -eu
out="$1"
payload=$(cat)
printf '%s' "$payload" > "$out/$TRIGGER_RUN_ID.stdin"
env | grep '^TRIGGER_' | sort > "$out/$TRIGGER_RUN_ID.env"
pwd > "$out/$TRIGGER_RUN_ID.cwd"
printf 'handled %s for %s' "$TRIGGER_EVENT_ID" "$TRIGGER_SOURCE_ID"
