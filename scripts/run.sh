#!/usr/bin/env bash
# The main job on the bundled default: install, prepare the bundled corpus, load the default model
# (or, until one is shipped, train a quick one on the bundled train split), show conversions.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
[ -f data/bundled/prepare_report.json ] || .venv/bin/pinhan prepare bundled --out data/bundled --overwrite
model=()
if ! .venv/bin/python -c 'from pinhan.infer.api import default_model_dir as d; raise SystemExit(d() is None)'; then
  if [ ! -f runs/quickstart/best/config.json ]; then
    minutes=${PINHAN_TRAIN_MINUTES:-10}
    echo "no default model installed: training configs/small.yaml for $minutes minutes into runs/quickstart"
    .venv/bin/pinhan train --config configs/small.yaml --data data/bundled --out runs/quickstart --max-minutes "$minutes" --quiet > /dev/null
  fi
  model=(--model runs/quickstart/best)
fi
.venv/bin/pinhan convert "${model[@]}" -k 5 zhongguowenhua zgwh "woxiangqubeijing"
.venv/bin/pinhan convert "${model[@]}" -k 3 --context "我们明天去" beijing
.venv/bin/pinhan g2p "${model[@]}" --tones mark "银行行长说了算"
.venv/bin/pinhan generate "${model[@]}" --num-beams 3 --max-new-tokens 4 "中国"
