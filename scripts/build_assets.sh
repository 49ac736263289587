#!/usr/bin/env bash
# Copies the front-end packages installed by npm into static/vendor (served by Django, no CDN).
# nhsuk-frontend's CSS points at /assets/...; rewrite that to the copied folder beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
nhs=node_modules/nhsuk-frontend/dist/nhsuk
out=static/vendor
rm -rf "$out"
mkdir -p "$out/nhsuk" "$out/htmx" "$out/chartjs" "$out/axe" "$out/fonts"
sed -e 's#url(/assets/#url(assets/#g' "$nhs/nhsuk-frontend.min.css" > "$out/nhsuk/nhsuk-frontend.min.css"
cp "$nhs/nhsuk-frontend.min.js" "$out/nhsuk/nhsuk-frontend.min.js"
cp -r "$nhs/assets" "$out/nhsuk/assets"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx/htmx.min.js"
cp node_modules/chart.js/dist/chart.umd.min.js "$out/chartjs/chart.umd.min.js"
# axe-core is for the accessibility tests only (tests/browser/test_accessibility.py): no page loads it.
cp node_modules/axe-core/axe.min.js "$out/axe/axe.min.js"
# The GP letters' PDF font (interop/letters.py): the PDF core fonts are Latin-1 only, and names
# like Nguyễn must print. Read from here by the hub, never served to a page; the licence goes too.
dejavu=node_modules/dejavu-fonts-ttf
cp "$dejavu/ttf/DejaVuSans.ttf" "$dejavu/ttf/DejaVuSans-Bold.ttf" "$out/fonts/"
cp "$dejavu/LICENSE" "$out/fonts/LICENSE-DejaVu.txt"
# Their source maps are not shipped; drop the references so collectstatic can hash every file.
find "$out" -name '*.js' -o -name '*.css' | xargs sed -i -E -e 's@/\*# sourceMappingURL=[^*]*\*/@@g' -e 's@//# sourceMappingURL=.*$@@'
echo "front-end assets copied to $out"
