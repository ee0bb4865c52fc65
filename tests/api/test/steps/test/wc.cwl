cwlVersion: v1.0
class: CommandLineTool
baseCommand: wc
inputs:
  file: {type: File, inputBinding: {position: 1}}
stdout: output.txt
outputs:
  output: {type: File, outputBinding: {glob: output.txt}}
