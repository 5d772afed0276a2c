# Exits at once, leaving a background process that holds stdout open; writes its pid to $1.
sleep 100 &
echo $! > "$1.tmp" && mv "$1.tmp" "$1"
echo started
