# Prints the blocked and ignored signal masks of this shell. Builtins only: a command forked to
# read /proc/$$/status could catch the shell mid-fork, while it blocks every signal around fork()
# (dash does), and report that passing mask instead of the one the shell was started with.
while read -r name value; do
  case "$name" in
    SigBlk: | SigIgn:) echo "$name $value" ;;
  esac
done < /proc/$$/status
