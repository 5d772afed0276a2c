# Echoes stdin back.
exec cat
