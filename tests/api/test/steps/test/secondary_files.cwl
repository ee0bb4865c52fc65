# Counts a file and its secondary file (same name plus .2nd), which must sit beside it.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: [bash, -c, 'wc -c "$0" "$0.2nd" | head -n 2 | while read n f; do echo "$n $(basename "$f")"; done']
inputs:
  file:
    type: File
    secondaryFiles: [.2nd]
    inputBinding: {position: 1}
stdout: output.txt
outputs:
  output: {type: File, outputBinding: {glob: output.txt}}
