#!/bin/sh
# The command line's exit codes, which scripts rely on: 0 for --help and success, 2 for a usage
# error (a missing or unknown argument, command or option), whatever the subcommand.
# Usage: cli_exit_codes.sh TRIGGERD_BINARY
bin=$1
failures=0
expect() {
  want=$1
  shift
  "$bin" "$@" >/dev/null 2>&1
  got=$?
  if [ "$got" -ne "$want" ]; then
    echo "triggerd $*: exit $got, want $want" >&2
    failures=$((failures + 1))
  fi
}
expect 0 --help
expect 0 version
expect 0 serve --help
expect 0 filter check '(eq "a" 1)'
expect 2
expect 2 nosuch
expect 2 send
expect 2 send --bogus http://127.0.0.1:9/ '{}'
expect 2 sign --scheme github body
expect 2 filter check
expect 2 key
expect 2 version extra
expect 2 --no-such-flag
# The command's own verdicts keep their codes: an invalid filter is 1, not a usage error.
expect 1 filter check '(eq "a"'
[ "$failures" -eq 0 ] && echo "cli exit codes: ok"
exit "$failures"
