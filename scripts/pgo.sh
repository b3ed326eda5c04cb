#!/usr/bin/env bash
# Builds a profile-guided (PGO) `tpr` with cargo-pgo: an instrumented build runs the bundled
# scenarios, traces and benchmarks, and the profile it records tells the compiler which paths
# are hot, so it lays out and inlines code for them. The result behaves exactly like the plain
# release build; it is only faster (docs/performance.md, "Profile-guided build").
#
#   scripts/pgo.sh            # prints the path of the optimized binary at the end
#
# Needs cargo-pgo (`cargo install cargo-pgo --locked`) and an `llvm-profdata` of the LLVM
# version rustc was built with: `rustup component add llvm-tools-preview` provides one, or put
# one first in PATH. Takes about three times a release build.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "pgo.sh: $*" >&2
  exit 1
}

command -v cargo-pgo >/dev/null || die "cargo-pgo is not installed (cargo install cargo-pgo --locked)"

# cargo-pgo takes llvm-profdata from rustup's llvm-tools, else from PATH. One from another LLVM
# cannot read the profiles rustc's LLVM writes, so check before spending the builds.
want=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
profdata="$(rustc --print target-libdir)/../bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
  profdata=$(command -v llvm-profdata) ||
    die "no llvm-profdata (rustup component add llvm-tools-preview, or one of LLVM $want in PATH)"
fi
have=$("$profdata" show --version 2>/dev/null | sed -n 's/.*LLVM version \([0-9]*\).*/\1/p' || true)
[ "$have" = "$want" ] ||
  die "$profdata is LLVM ${have:-?}, rustc is LLVM $want (rustup component add llvm-tools-preview, or put an llvm-profdata of LLVM $want first in PATH)"

triple=$(rustc -vV | sed -n 's/^host: //p')
bin="target/$triple/release/tpr"

# Names in the raw profiles stay uncompressed, so that an llvm-profdata built without zlib
# reads them too.
RUSTFLAGS="${RUSTFLAGS:-} -Cllvm-args=-enable-name-compression=false" \
  cargo pgo build -- --locked -p tpr-cli

# The training runs: what users run most, the simulator and decisions above all.
train() {
  echo "pgo.sh: training: tpr $*" >&2
  "$bin" "$@" >/dev/null
}
train sim --quiet
for s in scenarios/storms/*.toml scenarios/perf/day-100k.toml; do
  train sim "$s" --quiet
done
train replay scenarios/traces/acme-day.csv --tenant scenarios/tenants/acme.toml --via sbc1.example.com --quiet
train replay scenarios/traces/SYNTHETIC_asterisk_cdr_csv_Master.csv --tenant scenarios/tenants/acme.toml --via sbc1.example.com --quiet
train replay scenarios/traces/SYNTHETIC_teams_pstn_usage_DirectRouting.csv --tenant scenarios/tenants/acme.toml --via sbc1.example.com --quiet
train bench --calls 200000
train bench --tenant scenarios/perf/small-50rules.toml --tenants 1000 --calls 200000
train route --tenant scenarios/tenants/contoso.toml --user spencer.low 50100 933 "(206) 555-0104" "+44 20 7946 0123" 0114420794601
train normalize --tenant scenarios/tenants/contoso.toml --user spencer.low 50100 "(425) 555-0100" 0114420794601 +442071234567

cargo pgo optimize build -- --locked -p tpr-cli
echo "$bin"
