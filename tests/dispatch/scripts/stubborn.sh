# Ignores SIGTERM (so do its children, which inherit the disposition); writes the background
# grandchild's pid to $1.
trap '' TERM
sleep 100 &
echo $! > "$1.tmp" && mv "$1.tmp" "$1"
sleep 100
