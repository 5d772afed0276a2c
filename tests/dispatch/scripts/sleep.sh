# Outlives any short timeout, with a grandchild in its process group; writes the grandchild's
# pid to $1.
sleep 100 &
echo $! > "$1.tmp" && mv "$1.tmp" "$1"
echo "going to sleep"
wait
