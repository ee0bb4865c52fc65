#!/usr/bin/env cwl-runner
# Sleeps for the given number of seconds; for tests of cancellation and restarts.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: sleep
inputs:
  delay:
    type: int
    inputBinding: {position: 1}
outputs: []
