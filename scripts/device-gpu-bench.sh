#!/usr/bin/env bash
# `pnpm bench:gpu` on a lent real GPU (the NVIDIA H200 machine of the `run` device tool), in one call.
#
# That machine has no network and no Node, pnpm or Vulkan loader, so this script has two steps:
#
#   1. Here, in the repository root of the checkout the device tool sends (the lead's), once:
#        bash scripts/device-gpu-bench.sh prepare
#      It fills .devcarry/ (ignored, ~40 MiB): the bench bundled into one file (esbuild), this
#      Node binary and the `webgpu` package's Dawn (xz), and the Vulkan loader's .deb (apt-get
#      download, as /work/.library/device/README.md describes).
#
#   2. One device call (the bench stops itself at BENCH_TIMEOUT, 420 s by default, and keeps
#      every finished row in gpu.json; leave time for the machine's start and a rerun):
#        run(command: "bash scripts/device-gpu-bench.sh device", carry: [".devcarry"], timeout_s: 480)
#      Extra arguments go to the bench: `... device --models llama3.2-1b --types q8_0`.
#      What comes back under $OUT: gpu-bench.log (adapter, bandwidth, the table), bench-results/gpu.json,
#      env.txt (nvidia-smi, Vulkan ICDs, node version).
#
# `bash scripts/device-gpu-bench.sh local` runs step 2's path here (SwiftShader), to check the carry.
set -uo pipefail
cd "$(dirname "$0")/.."
C=.devcarry

prepare() {
  set -e
  mkdir -p "$C/gl" "$C/node_modules/webgpu/dist/linux-x64"
  e2e/node_modules/.bin/esbuild packages/sdk/bench/gpu/main.ts --bundle --platform=node --format=esm \
    --target=node20 --conditions=source --external:webgpu --external:./runtime-chromium.js \
    --outfile="$C/gpu-bench.mjs" --log-level=warning
  local wg
  wg=$(dirname "$(cd packages/sdk && node -p "require.resolve('webgpu/package.json')")")
  cp "$wg/index.js" "$wg/package.json" "$C/node_modules/webgpu/"
  [ -f "$C/dawn.node.xz" ] || xz -T0 -6 -c "$wg/dist/linux-x64/dawn.node" >"$C/dawn.node.xz"
  [ -f "$C/node.xz" ] || xz -T0 -6 -c "$(command -v node)" >"$C/node.xz"
  if ! ls "$C"/gl/libvulkan1_*.deb >/dev/null 2>&1; then
    local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    mkdir -p /tmp/amd64/partial
    # shellcheck disable=SC2086
    apt-get $o update >/dev/null
    # shellcheck disable=SC2086
    (cd "$C/gl" && apt-get $o download libvulkan1)
  fi
  du -sh "$C"
  echo "ready: run(command: \"bash scripts/device-gpu-bench.sh device\", carry: [\"$C\"], timeout_s: 480)"
}

# Unpacks what prepare carried; $1: where Node goes.
unpack() {
  local xzcat='xz -dc'
  command -v xz >/dev/null || xzcat="python3 -c 'import lzma,sys;sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())'"
  eval "$xzcat $C/dawn.node.xz" >"$C/node_modules/webgpu/dist/linux-x64/dawn.node"
  if command -v node >/dev/null && node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
    NODE=$(command -v node)
  else
    eval "$xzcat $C/node.xz" >"$1" && chmod +x "$1"
    NODE=$1
  fi
}

device() {
  local out=${OUT:-/tmp/gpu-bench-out}
  mkdir -p "$out"
  [ -f "$C/gpu-bench.mjs" ] || { echo "no $C/gpu-bench.mjs: run 'prepare' here first, and carry $C" >&2; exit 2; }
  if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
    for f in "$C"/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  # The NVIDIA driver's ICD lives beside the mounted driver; the loader does not look there itself.
  local icd
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
    /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
  done
  [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] &&
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  unpack /tmp/edgelm-node
  {
    date -u
    nvidia-smi -L 2>&1 || true
    echo "node: $NODE $("$NODE" --version)"
    echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
    ls /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1 || true
    ldconfig -p | grep -i vulkan || true
    nproc
    free -g
  } >"$out/env.txt" 2>&1
  cat "$out/env.txt"
  # The bundle is the Dawn runtime only (no Playwright); `pnpm bench:gpu` in a checkout runs Chromium too.
  timeout -k 10 "${BENCH_TIMEOUT:-420}" "$NODE" "$C/gpu-bench.mjs" --runtimes node \
    --cache /tmp/edgelm-bench-models --out "$out/bench-results" "$@" 2>&1 | tee "$out/gpu-bench.log"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 124 ] && echo "bench stopped at BENCH_TIMEOUT; gpu.json holds the rows finished by then" | tee -a "$out/gpu-bench.log"
  return "$rc"
}

case "${1:-}" in
prepare) prepare ;;
device)
  shift
  device "$@"
  ;;
local)
  shift
  VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json} OUT=${OUT:-/tmp/gpu-bench-local} device "$@"
  ;;
*)
  sed -n '2,21p' "$0"
  exit 2
  ;;
esac
