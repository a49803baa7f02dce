#!/usr/bin/env bash
# Make sure the Debian packages selfexp builds and tests with are installed.
# Installs the missing ones with apt-get (as root, or through sudo when it
# needs no password); otherwise prints the exact command and fails.
set -euo pipefail

# pkg-config module -> Debian package
pkgs=(
	"libcurl:libcurl4-openssl-dev"
	"libcjson:libcjson-dev"
	"libpcre2-8:libpcre2-dev"
	"gsl:libgsl-dev"
	"sqlite3:libsqlite3-dev"
	"libmicrohttpd:libmicrohttpd-dev"
	"libcrypto:libssl-dev"
	"libzstd:libzstd-dev"
	"cmocka:libcmocka-dev"
)
# commands the tests use -> Debian package
tools=(
	"pkg-config:pkg-config"
	"curl:curl"
	"python3:python3"
)
# optional test tools -> Debian package: installed when possible; the tests that
# need them print SKIP with the reason when they are missing
optional=(
	"chromium:chromium"
	"pdflatex:texlive-latex-recommended"
)

missing=()
for t in "${tools[@]}"; do
	command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}")
done
for p in "${pkgs[@]}"; do
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "${p%%:*}"; then
		missing+=("${p#*:}")
	fi
done
for extra in "$@"; do
	dpkg -s "$extra" >/dev/null 2>&1 || missing+=("$extra")
done
missing_opt=()
if [ -z "${SELFEXP_NO_OPTIONAL_DEPS:-}" ]; then
	for t in "${optional[@]}"; do
		command -v "${t%%:*}" >/dev/null 2>&1 || missing_opt+=("${t#*:}")
	done
fi
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_opt[@]} -gt 0 ]; then
	# only optional tools are missing: try, and never fail the build over them
	if [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
		s=""; [ "$(id -u)" -eq 0 ] || s="sudo -n"
		echo "selfexp: installing optional test tools: ${missing_opt[*]}" >&2
		export DEBIAN_FRONTEND=noninteractive
		{ $s apt-get update -qq && $s apt-get install -y --no-install-recommends "${missing_opt[@]}"; } >&2 ||
			echo "selfexp: could not install ${missing_opt[*]}; the tests that need them will be skipped" >&2
	else
		echo "selfexp: optional test tools missing (tests will skip): ${missing_opt[*]}" >&2
	fi
	exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0
missing+=("${missing_opt[@]}")

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo="sudo -n"
else
	echo "selfexp: missing Debian packages: ${missing[*]}" >&2
	echo "install them with: sudo apt-get update && sudo $cmd" >&2
	exit 1
fi
echo "selfexp: installing missing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2 || true
if ! $sudo $cmd >&2; then
	echo "selfexp: apt-get failed; run it yourself: sudo apt-get update && sudo $cmd" >&2
	exit 1
fi
