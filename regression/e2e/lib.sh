# Helpers for end-to-end tests of the lola binary. Source it; call `finish` last.
set -u
LOLA=${LOLA:-$PWD/build/lola}
MPIRUN=${MPIRUN:-mpirun}
E2E_PASSED=0
E2E_FAILED=0
E2E_TMP=$(mktemp -d)
trap 'rm -rf "$E2E_TMP"' EXIT

ok() { E2E_PASSED=$((E2E_PASSED + 1)); echo "ok   $1"; }
fail() { E2E_FAILED=$((E2E_FAILED + 1)); echo "FAIL $1"; [ $# -gt 1 ] && printf '     %s\n' "$2"; }

# expect NAME CODE PATTERN -- COMMAND...: exit code equals CODE and stderr+stdout match PATTERN (grep -E).
expect() {
  local name=$1 code=$2 pattern=$3
  shift 4
  local out rc
  out=$(timeout 120 "$@" 2>&1)
  rc=$?
  if [ "$rc" != "$code" ]; then
    fail "$name" "exit code $rc, expected $code; output: $(head -c 600 <<<"$out")"
  elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
    fail "$name" "output does not match /$pattern/: $(head -c 600 <<<"$out")"
  else
    ok "$name"
  fi
}

finish() {
  echo "${E2E_NAME:-e2e}: $E2E_PASSED passed, $E2E_FAILED failed"
  [ "$E2E_FAILED" = 0 ]
}

# mpirun as root (CI) and with more ranks than cores (2-core machines).
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1
