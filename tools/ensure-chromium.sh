#!/usr/bin/env bash
# The snapshot test opens the offline dashboard in headless Chromium (with a CJK font
# for the district and company names). Install Debian's packages when they are
# missing and we can; without them that one test is skipped, with its reason.
set -u
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium and fonts-wqy-zenhei for the snapshot test"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
     chromium fonts-wqy-zenhei >/dev/null) || echo "could not install chromium: skipping its test"
fi
exit 0
