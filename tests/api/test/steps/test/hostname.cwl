cwlVersion: v1.0
class: CommandLineTool
baseCommand: hostname
inputs: []
stdout: output.txt
outputs:
  output: {type: File, outputBinding: {glob: output.txt}}
