# Always fails, after writing a message to stderr.
cwlVersion: v1.0
class: CommandLineTool
baseCommand: [bash, -c, 'echo "this step always fails" >&2; exit 3']
inputs: []
outputs: []
