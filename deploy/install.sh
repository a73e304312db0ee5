#!/usr/bin/env bash
# Installs kepu-intake on a Debian server: release binary, system user `kepu`, data dir
# /var/lib/kepu-intake, config /etc/kepu-intake/kepu-intake.toml (made from
# config/kepu-intake.example.toml), the password file and the systemd unit.
#
#   sudo deploy/install.sh [--with-libreoffice] [--with-tesseract]
#   DESTDIR=/tmp/root deploy/install.sh --skip-build --binary target/release/kepu-intake
#
# With DESTDIR set nothing outside DESTDIR is touched: no packages, no user, no
# systemctl (a dry install, used by the tests). Re-running keeps an existing config and
# password file.
set -euo pipefail

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'USAGE'
Options:
  --skip-build          do not run cargo; use --binary
  --binary PATH         binary to install (default target/release/kepu-intake)
  --prefix DIR          install prefix (default /usr/local)
  --with-libreoffice    also install LibreOffice (.doc/.wps → .docx) and CJK fonts
  --with-tesseract      also install Tesseract OCR with simplified Chinese
  --no-systemd          do not install the unit (containers)
  --password-file PATH  where the config reads the password from
                        (default /run/credentials/kepu-intake.service/imap-password)
USAGE
}

repo="$(cd "$(dirname "$0")/.." && pwd)"
destdir="${DESTDIR:-}"
prefix=/usr/local
binary=""
build=1
with_lo=0
with_tess=0
systemd=1
password_file=/run/credentials/kepu-intake.service/imap-password
web_token_file=/run/credentials/kepu-intake-web.service/web-token

while [ $# -gt 0 ]; do
  case "$1" in
    --skip-build) build=0 ;;
    --binary) binary="$2"; shift ;;
    --prefix) prefix="$2"; shift ;;
    --with-libreoffice) with_lo=1 ;;
    --with-tesseract) with_tess=1 ;;
    --no-systemd) systemd=0 ;;
    --password-file) password_file="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf 'install.sh: %s\n' "$*"; }

data_dir=/var/lib/kepu-intake
etc_dir=/etc/kepu-intake
example="$repo/config/kepu-intake.example.toml"
[ -f "$example" ] || { echo "install.sh: $example is missing" >&2; exit 1; }

# 1. binary
if [ "$build" = 1 ]; then
  say "building the release binary (cargo build --release)…"
  (cd "$repo" && cargo build --release --locked --bin kepu-intake)
  binary="${binary:-$repo/target/release/kepu-intake}"
fi
binary="${binary:-$repo/target/release/kepu-intake}"
[ -x "$binary" ] || { echo "install.sh: binary $binary not found or not executable" >&2; exit 1; }

# 2. Debian packages the document pipeline calls (never inside DESTDIR)
pkgs=(ca-certificates poppler-utils poppler-data)
[ "$with_lo" = 1 ] && pkgs+=(libreoffice-writer-nogui libreoffice-calc-nogui fonts-noto-cjk)
[ "$with_tess" = 1 ] && pkgs+=(tesseract-ocr tesseract-ocr-chi-sim)
if [ -z "$destdir" ]; then
  missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
else
  say "DESTDIR set: would install packages: ${pkgs[*]}"
fi

# 3. system user
if [ -z "$destdir" ]; then
  if ! id kepu >/dev/null 2>&1; then
    say "creating system user kepu"
    useradd --system --user-group --home-dir "$data_dir" --no-create-home \
      --shell /usr/sbin/nologin kepu
  fi
else
  say "DESTDIR set: would create system user kepu"
fi
own() { [ -z "$destdir" ] && chown "$@" || true; }

# 4. files
install -D -m 0755 "$binary" "$destdir$prefix/bin/kepu-intake"
install -d -m 0750 "$destdir$data_dir"
own kepu:kepu "$destdir$data_dir"
install -d -m 0750 "$destdir$etc_dir"
own root:kepu "$destdir$etc_dir"

config="$destdir$etc_dir/kepu-intake.toml"
target="$config"
if [ -e "$config" ]; then
  target="$config.new"
  say "keeping existing $config; the fresh one is $target"
fi
# The example with every password source replaced by the credential file and the
# data dir pointed at /var/lib/kepu-intake.
awk -v pw="$password_file" -v data="$data_dir" -v tok="$web_token_file" '
  /^[[:space:]]*\[[^]]*\][[:space:]]*$/ {
    sec = $0; gsub(/[[:space:]]/, "", sec); print; seen[sec] = 1
    if (sec == "[imap]" || sec == "[smtp]") print "password_file = \"" pw "\""
    if (sec == "[storage]") print "data_dir = \"" data "\""
    if (sec == "[web]") print "token_file = \"" tok "\""
    next
  }
  sec == "[web]" && /^[[:space:]]*#?[[:space:]]*token_file[[:space:]]*=/ { next }
  (sec == "[imap]" || sec == "[smtp]") && /^[[:space:]]*#?[[:space:]]*password_(env|file|command)[[:space:]]*=/ { next }
  sec == "[storage]" && /^[[:space:]]*#?[[:space:]]*data_dir[[:space:]]*=/ { next }
  { print }
  END {
    if (!seen["[imap]"]) print "\n[imap]\npassword_file = \"" pw "\""
    if (!seen["[storage]"]) print "\n[storage]\ndata_dir = \"" data "\""
    if (!seen["[web]"]) print "\n[web]\ntoken_file = \"" tok "\""
  }
' "$example" > "$target"
chmod 0640 "$target"
own root:kepu "$target"

secret="$destdir$etc_dir/imap-password"
if [ ! -e "$secret" ]; then
  install -m 0600 /dev/null "$secret"
  say "put the mailbox 客户端授权码 into $etc_dir/imap-password (one line, mode 0600)"
fi

# The web page's /metrics token: random, readable by root only (systemd passes it on).
web_token="$destdir$etc_dir/web-token"
if [ ! -e "$web_token" ]; then
  install -m 0600 /dev/null "$web_token"
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$web_token"
fi

if [ "$systemd" = 1 ]; then
  for name in kepu-intake kepu-intake-web; do
    unit="$destdir/etc/systemd/system/$name.service"
    install -D -m 0644 "$repo/deploy/$name.service" "$unit"
    sed -i "s#/usr/local/bin/kepu-intake#$prefix/bin/kepu-intake#" "$unit"
  done
  # The daemon may reach only the mail servers (and DNS): their addresses now, from the
  # config's hosts. Nothing resolved (no network while installing) → no address filter
  # at all rather than a daemon that cannot fetch; re-run the installer to refresh.
  conf="$config"; [ -e "$conf" ] || conf="$target"
  hosts=$(sed -n 's/^[[:space:]]*host[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$conf" | sort -u | tr '\n' ' ')
  [ -n "${hosts% }" ] || hosts="imap.126.com smtp.126.com"
  addrs=""
  for h in $hosts; do
    addrs="$addrs $( (getent ahosts "$h" 2>/dev/null || true) | awk '{print $1}' | sort -u | tr '\n' ' ')"
  done
  dns=$( (awk '/^nameserver/ {print $2}' /etc/resolv.conf 2>/dev/null || true) | tr '\n' ' ')
  dropin="$destdir/etc/systemd/system/kepu-intake.service.d/10-mail-servers.conf"
  install -d -m 0755 "$(dirname "$dropin")"
  if [ -n "$(echo $addrs)" ]; then
    printf '# Written by install.sh for: %s\n[Service]\nIPAddressAllow=%s %s\n' \
      "$hosts" "$(echo $addrs)" "$dns" > "$dropin"
  else
    say "could not resolve $hosts: the daemon runs without an IP address filter"
    printf '# Written by install.sh: %s did not resolve; no address filter.\n[Service]\nIPAddressDeny=\n' \
      "$hosts" > "$dropin"
  fi
  if [ -z "$destdir" ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload || true
    say "then: edit $etc_dir/kepu-intake.toml and run: systemctl enable --now kepu-intake"
    say "the web page: kepu-intake user add NAME (password on stdin), then systemctl enable --now kepu-intake-web"
  fi
fi
say "installed into ${destdir:-/}"
