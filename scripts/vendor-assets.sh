#!/usr/bin/env bash
# Refresh the vendored front-end assets from the npm registry. Run by hand when upgrading; the
# application never fetches anything at run time. Update the versions here and in web/templates/base.html.
set -euo pipefail
HTMX=2.0.11 CHARTJS=4.6.1 PICO=2.1.1
dest="$(cd "$(dirname "$0")/.." && pwd)/src/ansinh/web/static/vendor"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack "htmx.org@$HTMX" "chart.js@$CHARTJS" "@picocss/pico@$PICO" --silent >/dev/null
for f in *.tgz; do mkdir -p "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
cp "htmx.org-$HTMX/package/dist/htmx.min.js" "$dest/htmx-$HTMX.min.js"
cp "htmx.org-$HTMX/package/LICENSE" "$dest/htmx.LICENSE.txt"
cp "chart.js-$CHARTJS/package/dist/chart.umd.min.js" "$dest/chart-$CHARTJS.umd.min.js"
cp "chart.js-$CHARTJS/package/LICENSE.md" "$dest/chart.js.LICENSE.txt"
cp "picocss-pico-$PICO/package/css/pico.min.css" "$dest/pico-$PICO.min.css"
cp "picocss-pico-$PICO/package/LICENSE.md" "$dest/pico.LICENSE.txt"

SWAGGER=5.35.0
npm pack "swagger-ui-dist@$SWAGGER" --silent >/dev/null
mkdir -p sw "$dest/swagger-ui-$SWAGGER" && tar xzf "swagger-ui-dist-$SWAGGER.tgz" -C sw
cp sw/package/{swagger-ui-bundle.js,swagger-ui.css,LICENSE,NOTICE,favicon-32x32.png} "$dest/swagger-ui-$SWAGGER/"
echo "vendored into $dest"
