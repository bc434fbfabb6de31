// The agent installer, served at GET /install.sh with the control plane's URL filled in:
//   curl -fsSL <cp>/install.sh | sh -s -- --token <t> --name <host> [--labels k=v,…] [--prefix DIR]
//     [--service name=addr:port]… [--allow-net CIDR]… [--allow-loopback] [--no-exec | --exec-allow P]…
//   curl -fsSL <cp>/install.sh | sh -s -- --uninstall [--purge] [--prefix DIR]
// POSIX sh, so it runs on any Linux or macOS host. Re-running it is safe: it updates the agent, keeps
// an existing enrollment (and the config file, unless run options are given), and rewrites (and
// restarts) the service. The run options go into <state dir>/agent.toml, the file the agent reads
// (agent/config/agent-config.ts), checked by the downloaded agent itself before it replaces the old one.

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
UNINSTALL=no
PURGE=no
# The run options, as TOML lines for agent.toml; CONFIG=yes once any is given.
CONFIG=no
SERVICES=''
ALLOW_NET=''
ALLOW_LOOPBACK=''
NO_EXEC=''
EXEC_ALLOW=''

die() { echo "outpost-install: $*" >&2; exit 1; }
usage() {
  cat <<'USAGE'
usage: curl -fsSL <control-plane>/install.sh | sh -s -- --token <token> --name <host-name> [options]
       curl -fsSL <control-plane>/install.sh | sh -s -- --uninstall [--purge] [--prefix DIR]

  --token T           one-time enrollment token from 'outpost token create'
  --name N            this host's name in its cluster (a DNS label)
  --labels k=v,…      labels for the host
  --prefix DIR        where to install (default /opt/outpost as root, ~/.outpost-agent otherwise)
  --runtime R         bun or deno (default: whichever is found, bun first: on PATH, in
                      ./node_modules/.bin, ~/.bun/bin, ~/.deno/bin or npm's global prefix)
  --no-service        do not install a systemd unit, only print how to start the agent
                      (without it, a unit is installed when run as root where systemd runs)

what the agent allows (written to <prefix>/state/agent.toml, which the agent reads at start; given
again, they replace the whole file; without any, an existing file is kept):
  --service name=addr:port   a service of this host (repeatable), e.g. ssh=127.0.0.1:22
  --allow-net CIDR           a network API-added services may reach (repeatable), e.g. 10.1.0.0/16
  --allow-loopback           streams may name a bare port on 127.0.0.1
  --no-exec                  refuse every exec
  --exec-allow PREFIX        allow only argv starting with PREFIX (repeatable), e.g. 'systemctl status'

  --uninstall         stop and remove the systemd unit, the agent and its launcher; keeps the
                      identity (state dir) so a reinstall is the same host
  --purge             with --uninstall: also delete the state dir, the host's key with it (the host
                      stays listed until 'outpost hosts rm <host>' or revoke)
USAGE
}

# A TOML literal string: anything but a single quote or a control character, which are refused.
NL='
'
toml() {
  case "$2" in
    *"'"*) die "$1 '$2' must not contain a single quote" ;;
    *"$NL"*) die "$1 must not contain control characters" ;;
  esac
  if printf '%s' "$2" | LC_ALL=C grep -q '[[:cntrl:]]'; then die "$1 must not contain control characters"; fi
  printf "'%s'" "$2"
}
append() { if [ -z "$1" ]; then printf '%s' "$2"; else printf '%s, %s' "$1" "$2"; fi; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --token) need "$@"; TOKEN="$2"; shift 2 ;;
    --name) need "$@"; NAME="$2"; shift 2 ;;
    --labels) need "$@"; LABELS="$2"; shift 2 ;;
    --prefix) need "$@"; PREFIX="$2"; shift 2 ;;
    --runtime) need "$@"; RUNTIME="$2"; shift 2 ;;
    --no-service) SERVICE=no; shift ;;
    --uninstall) UNINSTALL=yes; shift ;;
    --purge) PURGE=yes; shift ;;
    --service)
      need "$@"
      case "$2" in *=*) ;; *) die "--service '$2' must be name=address:port" ;; esac
      key="$(toml --service "\${2%%=*}")"; value="$(toml --service "\${2#*=}")"
      SERVICES="$SERVICES$key = $value$NL"
      CONFIG=yes; shift 2 ;;
    --allow-net) need "$@"; value="$(toml --allow-net "$2")"; ALLOW_NET="$(append "$ALLOW_NET" "$value")"; CONFIG=yes; shift 2 ;;
    --allow-loopback) ALLOW_LOOPBACK=yes; CONFIG=yes; shift ;;
    --no-exec) NO_EXEC=yes; CONFIG=yes; shift ;;
    --exec-allow) need "$@"; value="$(toml --exec-allow "$2")"; EXEC_ALLOW="$(append "$EXEC_ALLOW" "$value")"; CONFIG=yes; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done
[ "$PURGE" = no ] || [ "$UNINSTALL" = yes ] || die "--purge only goes with --uninstall"

if [ -z "$PREFIX" ]; then
  if [ "$(id -u)" = 0 ]; then PREFIX=/opt/outpost; else PREFIX="$HOME/.outpost-agent"; fi
fi
STATE_DIR="$PREFIX/state"
UNIT=/etc/systemd/system/outpost-agent.service
has_systemd() { [ "$(id -u)" = 0 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

if [ "$UNINSTALL" = yes ]; then
  if [ -f "$UNIT" ] && has_systemd; then
    systemctl disable --now outpost-agent.service >/dev/null 2>&1 || true
    rm -f "$UNIT"
    systemctl daemon-reload
    echo "outpost-install: removed systemd unit outpost-agent.service"
  fi
  rm -f "$PREFIX/agent.js" "$PREFIX/agent.js.download" "$PREFIX/outpost-agent"
  echo "outpost-install: removed the agent from $PREFIX"
  if [ "$PURGE" = yes ]; then
    rm -rf "$STATE_DIR"
    rmdir "$PREFIX" 2>/dev/null || true
    echo "outpost-install: deleted the identity in $STATE_DIR; remove the host with 'outpost hosts rm <host>'"
  else
    echo "outpost-install: kept the identity in $STATE_DIR (--purge deletes it)"
  fi
  exit 0
fi

# bun or deno by absolute path: where npm, bun's and deno's installers put them, PATH first.
find_runtime() {
  for candidate in "$(command -v "$1" 2>/dev/null || true)" "$PWD/node_modules/.bin/$1" \\
    "$HOME/.$1/bin/$1" "$(npm prefix -g 2>/dev/null || true)/bin/$1"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ ! -d "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}
if [ -z "$RUNTIME" ]; then
  if BIN="$(find_runtime bun)"; then RUNTIME=bun
  elif BIN="$(find_runtime deno)"; then RUNTIME=deno
  else die "neither bun nor deno was found (PATH, ./node_modules/.bin, ~/.bun/bin, ~/.deno/bin, npm's global prefix): install one (https://bun.sh or https://deno.com) and run this again"
  fi
else
  case "$RUNTIME" in
    bun|deno) BIN="$(find_runtime "$RUNTIME")" || die "$RUNTIME was not found (PATH, ./node_modules/.bin, ~/.$RUNTIME/bin, npm's global prefix)" ;;
    *) die "--runtime must be bun or deno, not '$RUNTIME'" ;;
  esac
fi
case "$RUNTIME" in
  bun) RUN="$BIN $PREFIX/agent.js" ;;
  deno) RUN="$BIN run -A $PREFIX/agent.js" ;;
esac

mkdir -p "$PREFIX" "$STATE_DIR"
chmod 700 "$STATE_DIR"
tmp="$PREFIX/agent.js.download"
curl -fsSL "$OUTPOST_URL/agent.js" -o "$tmp" || die "cannot download the agent from $OUTPOST_URL/agent.js"
mv "$tmp" "$PREFIX/agent.js"

if [ "$CONFIG" = yes ]; then
  # Checked by the agent in a scratch state dir first, so a bad value leaves the old file in place.
  check_dir="$(mktemp -d)"
  {
    echo "# written by install.sh; the agent's run options (see 'outpost-agent --help')"
    [ -z "$ALLOW_LOOPBACK" ] || echo "allow-loopback = true"
    [ -z "$ALLOW_NET" ] || echo "allow-net = [$ALLOW_NET]"
    [ -z "$NO_EXEC" ] || echo "no-exec = true"
    [ -z "$EXEC_ALLOW" ] || echo "exec-allow = [$EXEC_ALLOW]"
    if [ -n "$SERVICES" ]; then printf '[services]\\n%s' "$SERVICES"; fi
  } > "$check_dir/agent.toml"
  if ! $RUN config --state-dir "$check_dir" >/dev/null; then rm -rf "$check_dir"; die "the run options were refused (see above)"; fi
  chmod 600 "$check_dir/agent.toml"
  mv "$check_dir/agent.toml" "$STATE_DIR/agent.toml"
  rm -rf "$check_dir"
  echo "outpost-install: wrote $STATE_DIR/agent.toml"
fi

if [ -f "$STATE_DIR/state.json" ]; then
  echo "outpost-install: already enrolled (state in $STATE_DIR); keeping that identity"
else
  [ -n "$TOKEN" ] || die "missing --token (create one with 'outpost token create <cluster>/<site>')"
  [ -n "$NAME" ] || die "missing --name for this host"
  set -- enroll --url "$OUTPOST_URL" --token "$TOKEN" --name "$NAME" --state-dir "$STATE_DIR"
  [ -z "$LABELS" ] || set -- "$@" --labels "$LABELS"
  OUTPOST_AGENT_LAUNCHER="$PREFIX/outpost-agent" $RUN "$@" || die "enrollment failed (see above)"
fi

cat > "$PREFIX/outpost-agent" <<LAUNCHER
#!/bin/sh
exec $RUN run --state-dir "$STATE_DIR" "\\$@"
LAUNCHER
chmod 755 "$PREFIX/outpost-agent"

if [ "$SERVICE" = auto ] && has_systemd; then
  cat > "$UNIT" <<UNIT
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
