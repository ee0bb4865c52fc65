# cerise-actors: the state of many jobs of a batch scheduler, rendered by
# BatchScheduler.poll (cerise_actors/resource/batch.py). Between markers: the scheduler's
# job table (or the failed marker and its exit status), then the facts of each job.
echo {{status_marker}}
{{status}} || echo {{failed_marker}} "$?"
echo {{exits_marker}}
# facts ID BATCH_ID DIR prints `ID CODE` (the exit-code file), `ID claim=OTHER` (the
# claim names another job than the one followed) and `ID disk-full`; builtins but for
# the exit code's `cat`. Defined once, so a poll of 2,000 jobs sends one short line a job.
facts() { local c=
  [ -f "$3"/{{exit_code}} ] && echo "$1" "$(cat "$3"/{{exit_code}})"
  read -r c <"$3"/{{claim}} 2>/dev/null
  [ -n "$c" ] && [ "$c" != "$2" ] && echo "$1" "claim=$c"
  [ -e "$3"/{{disk_full}} ] && echo "$1" disk-full
  return 0
}
{{facts}}
echo {{end_marker}}
