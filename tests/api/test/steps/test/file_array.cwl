# Concatenates an array of files, in order.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: cat
inputs:
  files:
    type: File[]
    inputBinding: {position: 1}
stdout: output.txt
outputs:
  output: {type: File, outputBinding: {glob: output.txt}}
