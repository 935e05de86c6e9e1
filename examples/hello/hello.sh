#!/bin/sh
echo "$(cat /etc/greeting): $(hostname), pid $$, as $(id -un) in $(pwd)"
