# cerise-actors: start a job script on a resource without a batch system, rendered by
# DirectScheduler.submit (cerise_actors/resource/scheduler.py). Starts the script unless
# the job was claimed, then waits for the claim and prints the claimant (the new script,
# or a copy started before a crash). Exit codes: 3 no job folder, and see the values.
cd {{dir}} || exit 3
if [ -s claim ]; then cat claim; exit 0; fi
if [ -s jobid ]; then cat jobid; exit 0; fi  # started by a version without claims
rm -f disk_full
setsid nohup bash {{script}} </dev/null >/dev/null 2>&1 &
pid=$!
s=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null)
start=$(echo "$s" | cut -d" " -f20)
{{#delay}}
sleep {{delay_seconds}}
{{/delay}}
alive() { local s; read -r s <"/proc/$pid/stat" 2>/dev/null || return 1; s=${s##*) }; [ "${s%% *}" != Z ]; }
for _ in $(seq {{rounds}}); do [ -s claim ] && break; alive || break; sleep 0.02; done
if [ -s claim ]; then id=$(cat claim)
elif [ -e disk_full ]; then exit {{disk_full_code}}
elif ! alive; then exit {{unclaimed_code}}
else id="$pid:$start"  # slow to start: it claims later, or its claimant is followed
fi
{ echo "$id" >jobid.tmp && mv jobid.tmp jobid; } 2>/dev/null
echo "$id"
