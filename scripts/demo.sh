#!/usr/bin/env bash
# make demo: the main job. Checks backpropagation against numerical
# gradients on networks that mix every activation with the losses they fit.
set -euo pipefail
cli=${1:-build/descent}
echo "descent: gradient checks (backpropagation vs central differences)"
"$cli" gradcheck --inputs 3 --outputs 2 --layers 4:softplus,3:tanh --output identity --loss ssr
echo
"$cli" gradcheck --inputs 4 --outputs 3 --layers 5:relu,4:sigmoid --output softmax --loss ce
echo
"$cli" gradcheck --inputs 2 --outputs 1 --layers 3:leaky_relu --output sigmoid --loss bce
