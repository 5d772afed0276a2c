# Fails after writing 10000 bytes to stderr, the last of them "END".
head -c 10000 /dev/zero | tr '\0' 'e' >&2
echo " END" >&2
exit 1
