# Prints the blocked and ignored signal masks.
grep -E '^Sig(Blk|Ign):' /proc/$$/status
