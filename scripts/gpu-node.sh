#!/usr/bin/env bash
# Opt-in check of NovaRL's GPU plug-in (kernels/, published as novarl/gpu) in Node, through
# headless-gl under Xvfb. Not run by CI: it needs apt packages and a native build of `gl`
# (about 5 minutes). See docs/gpu.md.
#
#   scripts/gpu-node.sh               install what is missing, build gl, run the Node GPU tests
#                                     and the Node half of the GPU benchmark
#   scripts/gpu-node.sh --no-install  only run (gl already built)
#
# What it shows: the kernels as WebGL1 shaders (gpu.js's HeadlessGLKernel) against float64
# (tests/gpu_dispatcher.test.ts, with NOVARL_EXPECT_HEADLESS_GL=1 so a missing or broken gl
# build fails instead of falling back), and WASM vs GPU GFLOP/s with what `auto` chose.
# Under Xvfb the GL renderer is Mesa's llvmpipe, a software rasteriser: expect auto to choose
# the WASM core. For a real GPU, run with DISPLAY pointing at an X server that drives it
# (set NOVARL_NO_XVFB=1 to skip Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."

GL_VERSION=8.1.6 # the version gpu.js 2.24.1 declares as its optional dependency

if [[ "${1:-}" != "--no-install" ]]; then
  if ! command -v xvfb-run >/dev/null || ! pkg-config --exists glew 2>/dev/null; then
    SUDO=""
    [[ $EUID -ne 0 ]] && SUDO=sudo
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
      xvfb xauth build-essential python3 pkg-config libxi-dev libglu1-mesa-dev libglew-dev libgl1-mesa-dri
  fi
  if ! node -e "require('gl')" 2>/dev/null; then
    # --no-save: gl stays out of package.json; it is a native build for this machine only.
    # package.json denies gl's install script (allowScripts) so that `npm ci` never spends
    # minutes on this build, and npm 11 refuses --allow-scripts in a project: so install
    # without scripts, then run the build gl's script would have run, with npm's own node-gyp.
    npm install --no-save --ignore-scripts "gl@${GL_VERSION}"
    # npm hands node-gyp its nodedir setting (Node's headers) when it runs a script; do the same.
    nodedir=$(npm config get nodedir)
    gyp_args=(rebuild)
    [[ -n "$nodedir" && "$nodedir" != "undefined" && "$nodedir" != "null" ]] && gyp_args+=("--nodedir=$nodedir")
    (cd node_modules/gl && node "$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js" "${gyp_args[@]}")
  fi
fi

run() {
  if [[ "${NOVARL_NO_XVFB:-}" == "1" ]]; then
    "$@"
  else
    # headless-gl needs an X display; xvfb-run gives the command a private one.
    xvfb-run -a -s "-screen 0 1024x768x24" "$@"
  fi
}

npm run build:wasm
export NOVARL_EXPECT_HEADLESS_GL=1
run npx vitest run tests/gpu_dispatcher.test.ts
run npx tsx bench/gpu.ts --node --quick
