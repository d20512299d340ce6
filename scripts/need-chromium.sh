#!/usr/bin/env bash
# The console's browser tests use Debian's chromium (driven by Playwright), and a Chinese font so that their
# screenshots are readable; install them when missing.
set -euo pipefail
command -v chromium >/dev/null && fc-list :lang=zh | grep -q . && exit 0
echo "installing Debian's chromium for the browser tests"
export DEBIAN_FRONTEND=noninteractive
sudo_=""
[ "$(id -u)" -eq 0 ] || sudo_="sudo"
$sudo_ apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 ||
  { $sudo_ apt-get update -q >/dev/null && $sudo_ apt-get install -y -q chromium fonts-wqy-microhei >/dev/null; }
