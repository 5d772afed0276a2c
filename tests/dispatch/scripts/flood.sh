# Writes 3 MB to stdout, then succeeds.
head -c 3000000 /dev/zero | tr '\0' 'x'
