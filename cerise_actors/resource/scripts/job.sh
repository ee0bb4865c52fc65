#!/bin/bash
{{directives}}
# cerise-actors: the script that runs one job (run.sh in the job's folder), the same on
# every scheduler; rendered by cerise_actors/resource/job_script.py, whose docstring
# says why it claims its job and how it keeps the exit code on a full disk.
: cerise-actors job {{job_id}}
cd {{work}} || exit 1
# claim the job: a copy of this script that finds a claim leaves at once
{{#batch}}
# the batch system's job id, host part cut off, or the PID outside a batch job
me={{batch_id}}
me=${me%%.*}
{{/batch}}
{{^batch}}
# PID:STARTTIME of this process (the job's process-group leader), as the submitter computes it
read -r s </proc/$$/stat
# shellcheck disable=SC2206 # split on purpose: the fields after the name are numbers and a state letter
f=(${s##*) })
me="$$:${f[19]}"
{{/batch}}
# the claim's private copy and the reserved exit-code bytes; written quietly, and only
# if that fails once more in a subshell to capture why (no fork when all goes well)
reserve={{exit_code}}.$$
write_claim() { printf '%s\n' "$me" >{{claim}}.$$ && printf '%3s\n' "" >"$reserve"; }
if ! write_claim 2>/dev/null && ! err=$(LC_ALL=C; write_claim 2>&1); then
  rm -f {{claim}}.$$ "$reserve"
  case "$err" in *'No space left'*|*'quota exceeded'*|*'Disk quota'*) : >>{{disk_full}};; esac
  echo "cerise: cannot claim the job: $err" >&2
  exit 1
fi
if ! ln {{claim}}.$$ {{claim}} 2>/dev/null; then
  rm -f {{claim}}.$$ "$reserve"
  echo "cerise: this job was claimed by $(cat {{claim}})" >&2
  exit 0
fi
rm -f {{claim}}.$$
{{runner}} {{workflow}} {{input}} >{{stdout}} 2>{{stderr}} </dev/null &
runner=$!
{{#watchdog}}
# the watchdog: stops the runner before the time limit and marks the job timed out
rm -f {{timed_out}}
( sleep {{limit}}; : >{{timed_out}}; kill -TERM "$runner"; sleep {{grace}}; kill -KILL "$runner" ) </dev/null >/dev/null 2>&1 &
watchdog=$!
{{/watchdog}}
wait "$runner"
code=$?
{{#watchdog}}
kill -KILL "$watchdog" 2>/dev/null
[ -e {{timed_out}} ] && code={{timeout_code}}
# stop what the runner or the watchdog left in this job's process group
for p in $(ps -e -o pid=,pgid= | awk -v g=$$ '$2 == g {print $1}'); do
  [ "$p" != $$ ] && kill -KILL "$p" 2>/dev/null
done
{{/watchdog}}
# write the exit code over the reserved bytes (`3<>` opens without truncating; `1<>` is
# ignored inside $() by bash 5.2), then rename it into place; as the claim, quietly
# first and again in a subshell only to capture why it failed; mark a full disk
write_code() { { printf '%3d\n' "$code" >&3; } 3<>"$reserve" && mv "$reserve" {{exit_code}}; }
if ! write_code 2>/dev/null && ! err=$(LC_ALL=C; write_code 2>&1); then
  case "$err" in *'No space left'*|*'quota exceeded'*|*'Disk quota'*) : >>{{disk_full}};; esac
  echo "cerise: cannot record exit code $code: $err" >&2
elif [ "$code" != 0 ]; then
  free=$(df -Pk {{dir}} 2>/dev/null | awk 'NR == 2 {print $4}')
  [ -n "$free" ] && [ "$free" -lt {{disk_full_kib}} ] && : >>{{disk_full}}
fi
