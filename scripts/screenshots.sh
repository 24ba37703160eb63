#!/usr/bin/env bash
# Screenshots of the example help center and its review dashboard in headless Chromium, as a
# reader opens them from disk (file://), and of `imprimatur serve` as a writer and a reviewer
# see it over HTTP (a draft under its banner, the review queue, a review page with its diff):
# desktop (1280 px) and mobile (390 px), light and dark. Builds and serves the example site
# (the repository root) at a fixed instant, so the pictures change only when the theme or the
# example does, and writes PNGs into docs/screenshots/.
#
#   bash scripts/screenshots.sh            # CHROMIUM=/path/to/chromium to use another one
#   IMPRIMATUR_BIN=target/debug/imprimatur bash scripts/screenshots.sh   # skip the release build
set -euo pipefail
cd "$(dirname "$0")/.."

NOW=2026-11-21T12:00:00Z
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUT=docs/screenshots

if [ ! -x "$CHROMIUM" ]; then
  echo "no Chromium at $CHROMIUM: install it (apt-get install -y chromium) or set CHROMIUM" >&2
  exit 1
fi

if [ -n "${IMPRIMATUR_BIN:-}" ]; then
  BIN=$(cd "$(dirname "$IMPRIMATUR_BIN")" && pwd)/$(basename "$IMPRIMATUR_BIN")
else
  cargo build --release --quiet
  BIN=target/release/imprimatur
fi
"$BIN" build --now "$NOW"
mkdir -p "$OUT"
site="file://$PWD/output"
reports="file://$PWD/reports"
work=$(mktemp -d)
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

# shoot NAME URL WIDTH HEIGHT light|dark [SCRIPT]
# The page is shown in a frame of exactly WIDTH x HEIGHT px on a page of our own: headless
# Chromium lays out a window narrower than 500 px at 500 and crops the picture, and a page it
# scrolls itself comes out blank. SCRIPT, when given, runs once the page has loaded, with `d`
# its document: to open a <details> or scroll to a part of the page.
shoot() {
  local name=$1 url=$2 width=$3 height=$4 scheme=$5 script=${6:-}
  # Blink's preferred colour scheme, what prefers-color-scheme sees: 0 is dark, 1 is light.
  local prefers=1
  [ "$scheme" = dark ] && prefers=0
  local frame="$work/$name-$scheme.html"
  cat >"$frame" <<HTML
<!DOCTYPE html><html><head><meta charset="utf-8"><style>
html, body { margin: 0; overflow: hidden; }
iframe { display: block; border: 0; width: ${width}px; height: ${height}px; }
</style></head><body><iframe src="$url"></iframe><script>
var frame = document.querySelector("iframe");
frame.onload = function () { var d = frame.contentDocument; $script };
</script></body></html>
HTML
  # --allow-file-access-from-files: our page may reach into the framed one (another file).
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile-$name-$scheme" --hide-scrollbars --force-device-scale-factor=1 \
    --blink-settings=preferredColorScheme=$prefers --virtual-time-budget=3000 \
    --allow-file-access-from-files --window-size="$width,$height" \
    --screenshot="$OUT/$name-$scheme.png" "file://$frame" \
    >/dev/null 2>&1 || { echo "chromium failed on $url" >&2; exit 1; }
  echo "$OUT/$name-$scheme.png"
}

install="$site/kb/getting-started/install/index.html"
for scheme in light dark; do
  shoot home-desktop "$site/index.html" 1280 800 "$scheme"
  shoot home-mobile "$site/index.html" 390 844 "$scheme"
  shoot page-desktop "$install" 1280 900 "$scheme"
  shoot page-mobile "$install" 390 844 "$scheme"
  shoot dashboard-desktop "$reports/index.html" 1280 1200 "$scheme"
  shoot dashboard-mobile "$reports/index.html" 390 1400 "$scheme"
done
# The mobile menu opened; a table with code at 390 px (scrolled sideways to its code); an approval history after a resumed
# review; the "Outdated" notice; search from disk (?q=).
shoot menu-mobile "$install" 390 844 light 'd.querySelector(".menu").open = true;'
shoot table-mobile "$install" 390 844 dark \
  'd.getElementById("supported-platforms").scrollIntoView(); var t = d.querySelector("#supported-platforms ~ table"); t.scrollLeft = t.scrollWidth;'
shoot history-desktop "$site/policies/privacy/index.html" 1280 1000 light \
  'var h = d.getElementById("approval-history"); h.open = true; h.scrollIntoView();'
shoot outdated-desktop "$site/kb/getting-started/configure/index.html" 1280 600 light
shoot search-desktop "$site/kb/dashboard/index.html?q=offline" 1280 600 dark
# Code highlighted at build time, light and dark (the API guide, scrolled to its code).
for scheme in light dark; do
  shoot code-desktop "$site/api/authentication/index.html" 1280 900 "$scheme" \
    'd.getElementById("send-the-key").scrollIntoView();'
done

# The served site: `imprimatur serve` on a free loopback port, judged at the same instant. It
# renders from memory and writes nothing; the frames above load its pages over HTTP.
"$BIN" serve --port 0 --now "$NOW" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 100); do grep -q ' at http' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
served=$(sed -n 's/^serving .* at \(http[^ ]*\)$/\1/p' "$work/serve.out" | head -1)
[ -n "$served" ] || { echo "imprimatur serve did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }
for scheme in light dark; do
  shoot served-page-desktop "${served}kb/getting-started/install/" 1280 900 "$scheme"
  shoot draft-desktop "${served}_drafts/kb/getting-started/configure/" 1280 900 "$scheme"
  shoot draft-mobile "${served}_drafts/kb/getting-started/configure/" 390 844 "$scheme"
  shoot review-queue-desktop "${served}_review/" 1280 900 "$scheme"
  shoot review-queue-mobile "${served}_review/" 390 844 "$scheme"
  shoot review-desktop "${served}_review/kb/getting-started/configure" 1280 1400 "$scheme"
  shoot review-mobile "${served}_review/kb/getting-started/configure" 390 1400 "$scheme"
  # A version in review: its facts, the commands with their copy buttons, the side by side.
  shoot review-pending-desktop "${served}_review/api/pagination" 1280 1400 "$scheme"
  shoot review-pending-mobile "${served}_review/api/pagination" 390 1400 "$scheme"
done
# The queue filtered to one space.
shoot review-queue-filtered-desktop "${served}_review/?space=policies" 1280 700 light
# The theme's 404.html, as a host shows it at an address the site does not have.
shoot not-found-desktop "${served}kb/an/old/link/" 1280 800 light

# The decision buttons: a fresh `imprimatur init` site (which makes its owner a key), a page
# submitted, and `serve --key` with that key, so the review page shows what the key may sign.
demo="$work/demo"
"$BIN" init "$demo" >/dev/null
(cd "$demo" && "$BIN" submit content/docs/writing-a-page.md --key keys/me.pem --now "$NOW" >/dev/null)
(cd "$demo" && "$BIN" serve --port 0 --now "$NOW" --key keys/me.pem >"$work/demo.out" 2>"$work/demo.err") &
demo_server=$!
trap '[ -z "$server" ] || kill "$server" 2>/dev/null; kill "$demo_server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q ' at http' "$work/demo.out" 2>/dev/null && break; sleep 0.1; done
decided=$(sed -n 's/^serving .* at \(http[^ ]*\)$/\1/p' "$work/demo.out" | head -1)
[ -n "$decided" ] || { echo "imprimatur serve --key did not start:" >&2; cat "$work/demo.err" >&2; exit 1; }
for scheme in light dark; do
  shoot review-buttons-desktop "${decided}_review/docs/writing-a-page" 1280 1100 "$scheme"
  shoot review-buttons-mobile "${decided}_review/docs/writing-a-page" 390 1600 "$scheme"
done

# Passkeys: registering one at /_keys/ (the form, the keyring entry it shows), and the team
# review server's sign-in page and a decision signed with one, before and after Approve;
# headless Chromium's virtual authenticator holds the passkey (tests/keys.rs,
# screenshots_of_registering_a_passkey; tests/team.rs,
# screenshots_of_the_sign_in_and_a_passkey_decision).
IMPRIMATUR_SCREENSHOTS="$PWD/$OUT" cargo test --quiet --test tests \
  screenshots_of_ -- --ignored --nocapture
