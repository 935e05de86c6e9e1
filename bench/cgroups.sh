#!/usr/bin/env bash
# Cgroup setup cost per container: manager + apply(pid) + set(memory, pids limits), in-process.
source "$(dirname "$0")/lib.sh"
build_release
read -r rounds min median max < <("$REPO/target/release/examples/apply-set" 200)
echo "| cgroup apply+set (memory+pids), $rounds rounds | min | median | max |"
echo "|---|---|---|---|"
echo "| berth-cgroups ($(grep -q cgroup2 <(stat -fc %T /sys/fs/cgroup) && echo v2 || echo v1)) | ${min} µs | ${median} µs | ${max} µs |"
