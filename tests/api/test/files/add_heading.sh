#!/bin/bash
cat "$1/heading.txt" "$2"
