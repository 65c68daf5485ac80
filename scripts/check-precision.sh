#!/usr/bin/env bash
# Runs `homelab check --format json` over a set of repositories and tallies the findings per
# rule, to judge the rules on repositories that are not the guide's own (issue 18): read a
# sample of each rule's findings (the `--sample N` listing) and mark each true or false.
# Not part of the test suite: it reads whatever folders it is given (../shared/corpus by
# default) and judges nothing itself.
#
# Usage: scripts/check-precision.sh [--bin HOMELAB] [--out DIR] [--sample N] [REPO_DIR...]
#   --bin     the homelab binary (default: target/release/homelab, else target/debug/homelab)
#   --out     where the JSON reports go (default: a temporary folder, removed at exit)
#   --sample  list up to N findings per rule (file:line and message), picked evenly over the
#             repositories (default 0: tallies only)
#   REPO_DIR  repositories to check (default: every folder of ../shared/corpus)
# Notes are not counted (they fail nothing); `policy/*` findings are tallied as one family.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=""
out=""
sample=0
repos=()
while (($#)); do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --sample) sample="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) repos+=("$1"); shift ;;
  esac
done
if [[ -z "$bin" ]]; then
  target="${CARGO_TARGET_DIR:-target}"
  for candidate in "$target/release/homelab" "$target/debug/homelab"; do
    if [[ -x "$candidate" ]]; then bin="$candidate"; break; fi
  done
fi
[[ -x "$bin" ]] || { echo "no homelab binary (build it, or pass --bin)" >&2; exit 2; }
if ((${#repos[@]} == 0)); then
  [[ -d ../shared/corpus ]] || { echo "no repositories given and no ../shared/corpus" >&2; exit 2; }
  for d in ../shared/corpus/*/; do repos+=("${d%/}"); done
fi
if [[ -z "$out" ]]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
for repo in "${repos[@]}"; do
  [[ -d "$repo" ]] || continue
  name="$(basename "$repo")"
  # Exit 1 means findings; anything else is a failure of the run itself.
  status=0
  "$bin" check "$repo" --format json >"$out/$name.json" 2>"$out/$name.err" || status=$?
  if ((status > 1)); then
    echo "check failed on $repo (exit $status):" >&2
    cat "$out/$name.err" >&2
    exit 1
  fi
done
python3 - "$out" "$sample" <<'PY'
import collections, json, os, sys

out, sample = sys.argv[1], int(sys.argv[2])
per_rule = collections.Counter()
per_repo = {}
examples = collections.defaultdict(list)
for name in sorted(f for f in os.listdir(out) if f.endswith(".json")):
    with open(os.path.join(out, name)) as f:
        report = json.load(f)
    counts = collections.Counter()
    for d in report["diagnostics"]:
        if d["severity"] == "note":
            continue
        rule = "policy/*" if d["rule"].startswith("policy/") else d["rule"]
        counts[rule] += 1
        loc = d.get("location") or {}
        examples[rule].append((name[:-5], f'{loc.get("file")}:{loc.get("line")}', d["message"]))
    per_repo[name[:-5]] = counts
    per_rule.update(counts)

width = max([len(r) for r in per_repo] + [10])
print(f'{"repository":<{width}}  errors+warnings')
for repo, counts in per_repo.items():
    top = ", ".join(f"{r} {n}" for r, n in counts.most_common(4))
    print(f"{repo:<{width}}  {sum(counts.values()):6}  {top}")
print()
print(f'{"rule":<32} findings  repositories')
for rule, n in per_rule.most_common():
    repos = sum(1 for c in per_repo.values() if rule in c)
    print(f"{rule:<32} {n:8}  {repos:12}")
print(f'{"total":<32} {sum(per_rule.values()):8}')
if sample > 0:
    for rule, found in sorted(examples.items()):
        # Evenly over the list (which is grouped by repository), so one repository's many
        # findings do not fill the sample.
        step = max(1, len(found) // sample)
        print(f"\n## {rule} ({len(found)} findings, {min(sample, len(found))} sampled)")
        for repo, where, message in found[::step][:sample]:
            print(f"- [{repo}] {where}: {message[:240]}")
PY
