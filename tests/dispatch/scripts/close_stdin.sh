# Closes stdin unread, lingers a moment so that the writer meets a closed pipe, then succeeds.
exec 0<&-
sleep 0.2
echo closed
