# cerise-actors: submit a job script to a batch scheduler (Slurm, Torque, Grid Engine),
# rendered by BatchScheduler.submit (cerise_actors/resource/batch.py). A job that finished,
# was claimed, or is queued under its name already is adopted (its id printed after the
# adopted marker) rather than submitted again; else the scheduler's submit command runs.
if [ -f {{exit_code}} ]; then echo {{adopted}} {{finished}}; exit 0; fi
if [ -s {{claim}} ]; then echo {{adopted}} "$(cat {{claim}})"; exit 0; fi
existing=$({{find}})
if [ -n "$existing" ]; then echo {{adopted}} "$existing"; exit 0; fi
{{submit}}
{{#delay}}
rc=$?; sleep {{delay_seconds}}; exit $rc
{{/delay}}
