#!/usr/bin/env bash
# The main job on the bundled default: install, prepare the bundled corpus (for `pinhan train`),
# load the default model shipped in the package, show conversions (full, abbreviated, in context,
# fast mode), a g2p and a continuation, then serve the web input method at http://127.0.0.1:8000
# until stopped (PINHAN_NO_SERVE=1 skips serving). Without a shipped model (a trimmed install) it
# trains configs/small.yaml for PINHAN_TRAIN_MINUTES (10) into runs/quickstart first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
[ -f data/bundled/prepare_report.json ] || .venv/bin/pinhan prepare bundled --out data/bundled --overwrite --quiet
model=()
if ! .venv/bin/python -c 'from pinhan.loader import default_model_dir as d; raise SystemExit(d() is None)'; then
  if [ ! -f runs/quickstart/best/config.json ]; then
    minutes=${PINHAN_TRAIN_MINUTES:-10}
    echo "no default model installed: training configs/small.yaml for $minutes minutes into runs/quickstart"
    .venv/bin/pinhan train --config configs/small.yaml --data data/bundled --out runs/quickstart --max-minutes "$minutes" --quiet > /dev/null
  fi
  model=(--model runs/quickstart/best)
fi
.venv/bin/pinhan convert "${model[@]}" -k 5 zhongguowenhua woxiangqubeijing zgwh bjdx
.venv/bin/pinhan convert "${model[@]}" -k 3 --context "我们明天去" beijing
.venv/bin/pinhan convert "${model[@]}" -k 3 --mode fast jintiantianqihenhao
.venv/bin/pinhan g2p "${model[@]}" --tones mark "银行行长说了算"
.venv/bin/pinhan generate "${model[@]}" --num-beams 3 --max-new-tokens 4 "中国"
if [ -z "${PINHAN_NO_SERVE:-}" ]; then
  echo "serving the web input method at http://127.0.0.1:8000 (API docs at /docs); Ctrl-C stops"
  exec .venv/bin/pinhan serve "${model[@]}" --host 127.0.0.1 --port 8000
fi
