# cerise-actors: stop a job on a resource without a batch system, rendered by
# DirectScheduler.cancel (cerise_actors/resource/scheduler.py). Signals the job's process
# group, or the group of the copy its claim names: TERM, then KILL after the grace time.
# Prints reused, ended, stopped or killed (exit 0), or survived (exit 1).
pid={{pid}}; want={{start}}; grace={{grace}}
c=; read -r c <{{claim}} 2>/dev/null
case "$c" in *[!0-9:]*|:*|*:|*:*:*|"") ;; *:*) pid=${c%%:*}; want=${c#*:};; esac
s=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null)
start=$(echo "$s" | cut -d' ' -f20)
if [ -n "$s" ] && [ "$start" != "$want" ]; then echo reused; exit 0; fi
alive() { ps -e -o pgid=,stat= | awk -v g="$pid" '$1==g && $2 !~ /^Z/' | head -n 1; }
[ -z "$(alive)" ] && { echo ended; exit 0; }
kill -TERM -- "-$pid" 2>/dev/null
for _ in $(seq $((grace * 10))); do [ -z "$(alive)" ] && { echo stopped; exit 0; }; sleep 0.1; done
kill -KILL -- "-$pid" 2>/dev/null
for _ in $(seq 50); do [ -z "$(alive)" ] && { echo killed; exit 0; }; sleep 0.1; done
echo survived; exit 1
