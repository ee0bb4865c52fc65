cwlVersion: v1.0
class: CommandLineTool
baseCommand: sleep
inputs:
  seconds: {type: int, inputBinding: {position: 1}}
outputs: []
