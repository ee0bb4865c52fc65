# Sleeps `seconds` and prints when it started and when it ended (seconds since
# the epoch, one a line), so tests can tell whether steps overlapped. `after`
# is not used: it lets a workflow run this step after another.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: [bash, -c, 'date +%s.%N; sleep "$0"; date +%s.%N']
inputs:
  seconds: {type: int, inputBinding: {position: 1}}
  after: File?
stdout: output.txt
outputs:
  output: {type: File, outputBinding: {glob: output.txt}}
