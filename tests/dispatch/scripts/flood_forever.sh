# Writes to stdout and stderr until killed.
yes stderr >&2 &
exec yes
