// The agent installer, served at GET /install.sh with the control plane's URL filled in:
//   curl -fsSL <cp>/install.sh | sh -s -- --token <t> --name <host> [--labels k=v,…] [--prefix DIR]
// POSIX sh, so it runs on any Linux or macOS host. Re-running it is safe: it updates the agent, keeps
// an existing enrollment, and rewrites (and restarts) the service.

export function installScript(origin: string): string {
  return `#!/bin/sh
# Outpost agent installer for ${origin}
set -eu

OUTPOST_URL='${origin.replace(/'/g, "")}'
TOKEN=''
NAME=''
LABELS=''
PREFIX=''
RUNTIME=''
SERVICE=auto

die() { echo "outpost-install: $*" >&2; exit 1; }
usage() {
  cat <<'USAGE'
usage: curl -fsSL <control-plane>/install.sh | sh -s -- --token <token> --name <host-name> [options]

  --token T        one-time enrollment token from 'outpost token create'
  --name N         this host's name in its cluster (a DNS label)
  --labels k=v,…   labels for the host
  --prefix DIR     where to install (default /opt/outpost as root, ~/.outpost-agent otherwise)
  --runtime R      bun or deno (default: whichever is installed, bun first)
  --no-service     do not install a systemd unit, only print how to start the agent
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --token) TOKEN="\${2:-}"; shift 2 ;;
    --name) NAME="\${2:-}"; shift 2 ;;
    --labels) LABELS="\${2:-}"; shift 2 ;;
    --prefix) PREFIX="\${2:-}"; shift 2 ;;
    --runtime) RUNTIME="\${2:-}"; shift 2 ;;
    --no-service) SERVICE=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done

if [ -z "$PREFIX" ]; then
  if [ "$(id -u)" = 0 ]; then PREFIX=/opt/outpost; else PREFIX="$HOME/.outpost-agent"; fi
fi
STATE_DIR="$PREFIX/state"

if [ -z "$RUNTIME" ]; then
  if command -v bun >/dev/null 2>&1; then RUNTIME=bun
  elif command -v deno >/dev/null 2>&1; then RUNTIME=deno
  else die "neither bun nor deno is installed: install one (https://bun.sh or https://deno.com) and run this again"
  fi
fi
case "$RUNTIME" in
  bun) RUN="$(command -v bun) $PREFIX/agent.js" ;;
  deno) RUN="$(command -v deno) run -A $PREFIX/agent.js" ;;
  *) die "--runtime must be bun or deno, not '$RUNTIME'" ;;
esac
command -v "$RUNTIME" >/dev/null 2>&1 || die "$RUNTIME is not installed"

mkdir -p "$PREFIX" "$STATE_DIR"
chmod 700 "$STATE_DIR"
tmp="$PREFIX/agent.js.download"
curl -fsSL "$OUTPOST_URL/agent.js" -o "$tmp" || die "cannot download the agent from $OUTPOST_URL/agent.js"
mv "$tmp" "$PREFIX/agent.js"

if [ -f "$STATE_DIR/state.json" ]; then
  echo "outpost-install: already enrolled (state in $STATE_DIR); keeping that identity"
else
  [ -n "$TOKEN" ] || die "missing --token (create one with 'outpost token create <cluster>/<site>')"
  [ -n "$NAME" ] || die "missing --name for this host"
  set -- enroll --url "$OUTPOST_URL" --token "$TOKEN" --name "$NAME" --state-dir "$STATE_DIR"
  [ -z "$LABELS" ] || set -- "$@" --labels "$LABELS"
  $RUN "$@" || die "enrollment failed (see above)"
fi

cat > "$PREFIX/outpost-agent" <<LAUNCHER
#!/bin/sh
exec $RUN run --state-dir "$STATE_DIR" "\\$@"
LAUNCHER
chmod 755 "$PREFIX/outpost-agent"

if [ "$SERVICE" = auto ] && [ "$(id -u)" = 0 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  cat > /etc/systemd/system/outpost-agent.service <<UNIT
[Unit]
Description=Outpost agent
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=$PREFIX/outpost-agent
Restart=always
RestartSec=2
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable outpost-agent.service >/dev/null
  systemctl restart outpost-agent.service
  echo "outpost-install: the agent runs as systemd unit outpost-agent.service"
else
  echo "outpost-install: installed in $PREFIX; start the agent with:"
  echo "  $PREFIX/outpost-agent"
fi
`;
}
