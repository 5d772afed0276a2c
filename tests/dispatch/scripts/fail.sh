# Fails with status 3 after some stderr.
echo "some output"
echo "first line of the complaint" >&2
echo "boom: disk full" >&2
exit 3
