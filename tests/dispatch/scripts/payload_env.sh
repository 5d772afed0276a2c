# Prints TRIGGER_PAYLOAD exactly.
printf '%s' "$TRIGGER_PAYLOAD"
