# cerise-actors: cancel a job of a batch scheduler, rendered by BatchScheduler.cancel
# (cerise_actors/resource/batch.py). Cancels the job followed and, if the job's claim
# names another copy (the one that runs the job), that one too; the last status counts.
c=; read -r c <{{claim}} 2>/dev/null
{{cancel}}
rc=$?
if [ -n "$c" ] && [ "$c" != {{remote_id}} ]; then {{cancel_claimant}}; rc=$?; fi
exit $rc
