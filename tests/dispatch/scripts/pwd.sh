# Prints the physical working directory.
pwd -P
