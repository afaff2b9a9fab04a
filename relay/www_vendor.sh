#!/bin/sh
# SPDX-License-Identifier: MIT
# Fetches a pinned npm package for the Listen Live page and unpacks it.
# Usage: www_vendor.sh DIR NAME VERSION INTEGRITY
# Gets NAME-VERSION.tgz into DIR (kept there: a later build reuses it
# without the network; when it is missing, "npm pack --prefer-offline"
# takes it from npm's cache, or else from the registry), checks it against
# INTEGRITY ("sha512-BASE64", the form npm's lock files and "npm view NAME
# dist.integrity" use) and unpacks it into DIR/NAME-VERSION/. A tarball
# that does not match is deleted and the build fails: what the page
# serves is exactly the pinned release. Run by the Makefile.
set -eu
dir=$1
name=$2
version=$3
integrity=$4
tgz="$dir/$name-$version.tgz"
out="$dir/$name-$version"

case $integrity in
sha512-*) ;;
*)
	echo "www_vendor.sh: $name: integrity must be sha512-..." >&2
	exit 1
	;;
esac

# Hex digests, so only coreutils are needed (no openssl, no xxd).
want=$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 |
	tr -d ' \n')
mkdir -p "$dir"
if [ ! -f "$tgz" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "www_vendor.sh: npm is needed to fetch $name@$version" \
			"(make deps installs it)" >&2
		exit 1
	fi
	echo "  NPM     $name@$version" >&2
	npm pack --silent --prefer-offline --pack-destination "$dir" \
		"$name@$version" >/dev/null
fi
got=$(sha512sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
	echo "www_vendor.sh: $tgz does not match the pinned integrity" \
		"$integrity; deleted it" >&2
	rm -f "$tgz"
	exit 1
fi
# Unpacked beside and renamed into place, so that a build running at the
# same time (another variant) never embeds half a directory.
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
tar -xzf "$tgz" -C "$tmp" --strip-components=1
rm -rf "$out"
mv "$tmp" "$out"
