#!/usr/bin/env bash
# Fetches the upstream CRD sources listed in crates/homelab-schema/catalog/sources.toml into
# DIR/<source name>/, for `cargo xtask crds --from DIR` (which itself downloads nothing).
#   git sources:   git clone --depth 1 --branch <git_ref or version> <git> DIR/<name>
#   chart sources: helm template crds <chart> --include-crds <helm_args> > DIR/<name>/crds.yaml,
#                  <chart> from $CHARTS (default ../shared/charts) or pulled with `helm pull`.
# Needs git, helm and python3 (3.11+, for tomllib). Uses the network.
#
# Usage: scripts/crd-sources.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:?usage: scripts/crd-sources.sh DIR}"
charts="${CHARTS:-../shared/charts}"
mkdir -p "$dir"
python3 - crates/homelab-schema/catalog/sources.toml <<'PY' | while IFS=$'\t' read -r name kind a b c args; do
import sys, tomllib
for s in tomllib.load(open(sys.argv[1], "rb"))["source"]:
    if "git" in s:
        print("\t".join([s["name"], "git", s["git"], s.get("git_ref", s["version"]), "-", "-"]))
    else:
        print("\t".join([s["name"], "chart", s["chart"], s["chart_repo"], s["chart_version"],
                         " ".join(s.get("helm_args", [])) or "-"]))
PY
  target="$dir/$name"
  rm -rf "$target"
  if [[ "$kind" == git ]]; then
    git clone -q --depth 1 --branch "$b" "$a" "$target"
  else
    mkdir -p "$target"
    chart="$charts/$a"
    if [[ ! -f "$chart" ]]; then
      tmp="$(mktemp -d)"
      read -r repo chart_name <<<"$b"
      if [[ "$repo" == oci://* ]]; then
        helm pull "$repo" --version "$c" -d "$tmp"
      else
        helm pull "$chart_name" --repo "$repo" --version "$c" -d "$tmp"
      fi
      chart="$(ls "$tmp"/*.tgz)"
    fi
    extra=()
    [[ "$args" != "-" ]] && read -r -a extra <<<"$args"
    helm template crds "$chart" --include-crds "${extra[@]}" >"$target/crds.yaml"
  fi
  echo "$name: $target"
done
