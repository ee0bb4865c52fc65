# cerise-actors: the state of many jobs of a resource without a batch system, rendered by
# DirectScheduler.poll (cerise_actors/resource/scheduler.py). Prints one line a job:
# `ID running|gone|done CODE [claim=PID:STARTTIME] [disk-full]`, parsed strictly there.
#
# Job ids are PID:STARTTIME of the process-group leader. A job runs while its leader (if
# the PID was not reused) or any other member of its process group is alive and not a
# zombie; the kernel never reuses a PID that is still a group id, so members outliving the
# leader are ours. Only bash builtins run per job (read, parameter expansion), so a poll of
# a thousand jobs costs one `ps`, not thousands of processes.
live=" $(ps -e -o pgid=,stat= | awk '$2 !~ /^Z/ {print $1}' | sort -u | tr '\n' ' ') "
done_line() { local code; read -r code <"$2/exit_code"; echo "$1 done $code$3"; }
check() {
  local id=$1 pid=$2 want=$3 dir=$4 stat fields c extra=
  [ -e "$dir/disk_full" ] && extra=" disk-full"
  if [ -f "$dir/exit_code" ]; then done_line "$id" "$dir" "$extra"; return; fi
  # the claim, if it names another well-formed PID:STARTTIME, is the copy that runs the job
  if read -r c <"$dir/claim" 2>/dev/null && [ "$c" != "$pid:$want" ]; then
    case "$c" in *[!0-9:]*|:*|*:|*:*:*) ;; *:*) pid=${c%%:*}; want=${c#*:}; extra+=" claim=$c";; esac
  fi
  if read -r stat <"/proc/$pid/stat" 2>/dev/null; then
    # shellcheck disable=SC2206 # split on purpose: the fields after the name are numbers and a state letter
    fields=(${stat##*) })
    if [ "${fields[19]}" != "$want" ]; then echo "$id gone$extra"; return; fi
  fi
  case "$live" in *" $pid "*) echo "$id running$extra"; return;; esac
  if [ -f "$dir/exit_code" ]; then done_line "$id" "$dir" "$extra"; return; fi
  echo "$id gone$extra"
}
# one line a job: check ID PID STARTTIME DIR
{{checks}}
