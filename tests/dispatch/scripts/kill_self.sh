# Dies of SIGKILL.
echo "about to die" >&2
kill -9 $$
