# Never reads stdin.
echo ignored
