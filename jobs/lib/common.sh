# shellcheck shell=bash
# Shared by jobs/stage.sbatch and jobs/pipeline.sh (sourced, not run).
# Nothing here is site-specific: every resource comes from the caller's sbatch options
# or LOLA_* variables (see jobs/README.md).

# The stages that can resume from a checkpoint after a time-limit kill.
LOLA_RESUMABLE_STAGES="train_ae train_surrogate train_diffusion"

jobs_die() {
  echo "lola jobs: $*" >&2
  exit 2
}

is_resumable() { [[ " $LOLA_RESUMABLE_STAGES " == *" $1 "* ]]; }

# deck_value KEY < resolved-deck-text
# One value of `lola show`'s output (libconfig as written by libconfig itself): a string
# or number as text, a list one element per line. KEY is dotted ("run.dir").
deck_value() {
  awk -v key="$1" '
    function unquote(s) {
      gsub(/^[ \t]+|[ \t]+$/, "", s)
      if (s ~ /^".*"$/) { s = substr(s, 2, length(s) - 2); gsub(/\\"/, "\"", s); gsub(/\\\\/, "\\", s) }
      return s
    }
    /^[ \t]*[A-Za-z*][-A-Za-z0-9_*]*[ \t]*:[ \t]*$/ { pending = $1; sub(/:$/, "", pending); next }
    /^[ \t]*\{[ \t]*$/ { path = path (path == "" ? "" : ".") pending; next }
    /^[ \t]*\}[ \t]*;?[ \t]*$/ { sub(/\.?[^.]*$/, "", path); next }
    /=/ {
      line = $0
      name = line; sub(/[ \t]*=.*/, "", name); gsub(/^[ \t]+/, "", name)
      full = (path == "" ? name : path "." name)
      if (full != key) next
      value = line; sub(/^[^=]*=[ \t]*/, "", value); sub(/[ \t]*;[ \t]*$/, "", value)
      if (value ~ /^[\[(]/) {
        value = substr(value, 2, length(value) - 2)
        n = split(value, items, ",")
        for (i = 1; i <= n; i++) if (unquote(items[i]) != "") print unquote(items[i])
      } else print unquote(value)
      found = 1
    }
    END { exit found ? 0 : 1 }'
}

# lola_show LOLA DECK [overrides]: the resolved deck on stdout; lola's own message and exit
# code (2 for a bad deck) when it is not valid. A plain process: no srun, no ranks.
lola_show() {
  local lola="$1"
  shift
  [ -x "$lola" ] || jobs_die "no lola binary at $lola (build it with make, or set LOLA_BIN)"
  OMPI_MCA_ess_singleton_isolated=1 "$lola" show "$@"
}

# absolute PATH: PATH made absolute against the current folder, without resolving links.
absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$PWD" "${1#./}" ;;
  esac
}

# The state of a stage in a run, in <run.dir>/jobs/<stage>.state: "STATUS JOBID WHEN",
# STATUS one of running, interrupted, done, failed:RC. Written by the stage's job.
state_file() { printf '%s/jobs/%s.state\n' "$1" "$2"; }

read_state() {
  local file
  file="$(state_file "$1" "$2")"
  [ -f "$file" ] && cat "$file" || echo "none - -"
}

write_state() {
  local file tmp
  file="$(state_file "$1" "$2")"
  mkdir -p "$(dirname "$file")"
  tmp="$file.tmp.$$"
  printf '%s %s %s\n' "$3" "$4" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$tmp" && mv -f "$tmp" "$file"
}

# override_given KEY ARGS...: true when the command line sets KEY (KEY=...).
override_given() {
  local key="$1" arg
  shift
  for arg in "$@"; do [[ "$arg" == "$key="* ]] && return 0; done
  return 1
}

# override_value KEY ARGS...: the last value the command line gives KEY.
override_value() {
  local key="$1" arg value=""
  shift
  for arg in "$@"; do [[ "$arg" == "$key="* ]] && value="${arg#*=}"; done
  printf '%s\n' "$value"
}
