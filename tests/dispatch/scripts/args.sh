# Prints each argument in brackets, one per line.
for a in "$@"; do printf '[%s]\n' "$a"; done
