# Says whether descriptor $1 is open in this process.
if [ -e "/proc/$$/fd/$1" ]; then echo open; else echo closed; fi
