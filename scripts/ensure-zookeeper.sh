#!/usr/bin/env bash
# Makes sure Debian's ZooKeeper 3.8 (and a Java runtime) are installed, for the cluster tests.
# Quiet and quick when they are; installs them with apt when not (root), or says how.
set -euo pipefail
jar=/usr/share/java/zookeeper.jar
if [ -f "$jar" ] && command -v java >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "ZooKeeper is missing: run 'sudo apt-get update && sudo apt-get install -y zookeeper' (Debian's package, with Java 17)" >&2
  exit 1
fi
echo "Installing Debian's zookeeper package for the cluster tests..." >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zookeeper >/dev/null
test -f "$jar"
