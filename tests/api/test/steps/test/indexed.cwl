# Counts the bytes of a file and of its index (same name plus .idx), which
# must sit beside it.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: [bash, -c, 'wc -c "$0" "$0.idx" | head -n 2 | while read n f; do echo "$n $(basename "$f")"; done']
inputs:
  file:
    type: File
    secondaryFiles: [.idx]
    inputBinding: {position: 1}
stdout: output.txt
outputs:
  output: {type: File, outputBinding: {glob: output.txt}}
