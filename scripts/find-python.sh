#!/usr/bin/env bash
# Print the path of a Python interpreter of the wanted minor version(s), or explain how to get one.
# Usage: find-python.sh rasa   (3.10, for Rasa 3.6: RASA_PYTHON, python3.10 on PATH, or pyenv)
#        find-python.sh bot    (3.11 or newer: BOT_PYTHON, python3, python3.11..3.13, or pyenv)
set -euo pipefail
want=${1:?usage: find-python.sh rasa|bot}

fits() {
  local py=$1
  [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || return 1
  local v
  v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || return 1
  case "$want:$v" in
    rasa:3.10) return 0 ;;
    bot:3.1[1-9]) return 0 ;;
  esac
  return 1
}

if [ "$want" = rasa ]; then
  candidates=("${RASA_PYTHON:-}" python3.10)
  pattern='3.10.*'
else
  candidates=("${BOT_PYTHON:-}" python3 python3.13 python3.12 python3.11)
  pattern='3.1[1-3].*'
fi
if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root)
  for dir in $(ls -d "$root"/versions/$pattern 2>/dev/null | sort -rV); do
    candidates+=("$dir/bin/python")
  done
fi
for py in "${candidates[@]}"; do
  if fits "$py"; then command -v "$py"; exit 0; fi
done

if [ "$want" = rasa ]; then
  cat >&2 <<'MSG'
Rasa 3.6 needs Python 3.10, and none was found (tried $RASA_PYTHON, python3.10 on the PATH, pyenv).
Get one, then run make again:
  - pyenv:   pyenv install 3.10   (or point RASA_PYTHON at an existing python3.10)
  - Debian/Ubuntu: apt-get install python3.10 python3.10-venv (where the release has it)
MSG
else
  echo "The bot needs Python 3.11 or newer; set BOT_PYTHON=/path/to/python3.11 and run make again." >&2
fi
exit 1
