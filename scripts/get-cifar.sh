#!/usr/bin/env bash
# Downloads CIFAR-10 and/or CIFAR-100 (binary versions) from their official address, verifies the published MD5
# sums and extracts them. Needs network access; nothing in the tests uses it.
#   scripts/get-cifar.sh [DIR] [cifar10|cifar100|all]     (default: data all)
# Afterwards: --data DIR/cifar-10-batches-bin (CIFAR-10) or --data DIR/cifar-100-binary (CIFAR-100); passing DIR
# itself works too, the readers look into those folders.
set -euo pipefail

dir="${1:-data}"
which="${2:-all}"
base_url="https://www.cs.toronto.edu/~kriz"

log() { printf '\033[1m[get-cifar]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

case "$which" in
  cifar10 | cifar100 | all) ;;
  *) die "unknown data set '$which': expected cifar10, cifar100 or all" ;;
esac

download() {
  local url="$1" out="$2"
  if command -v curl >/dev/null; then
    curl -fL --retry 3 --connect-timeout 30 -o "$out" "$url"
  elif command -v wget >/dev/null; then
    wget -O "$out" "$url"
  else
    die "neither curl nor wget is installed (apt-get install curl)"
  fi
}

md5_of() { md5sum "$1" | cut -d' ' -f1; }

# fetch NAME ARCHIVE MD5 FOLDER FILES...: skips what is already extracted and complete.
fetch() {
  local name="$1" archive="$2" md5="$3" folder="$4"
  shift 4
  local complete=1 f
  for f in "$@"; do [ -f "$dir/$folder/$f" ] || complete=0; done
  if [ "$complete" -eq 1 ]; then
    log "$name already in $dir/$folder"
    return 0
  fi
  mkdir -p "$dir"
  if [ ! -f "$dir/$archive" ] || [ "$(md5_of "$dir/$archive")" != "$md5" ]; then
    log "downloading $name from $base_url/$archive"
    download "$base_url/$archive" "$dir/$archive.part" || die "download of $base_url/$archive failed"
    mv "$dir/$archive.part" "$dir/$archive"
  fi
  local got
  got="$(md5_of "$dir/$archive")"
  if [ "$got" != "$md5" ]; then
    rm -f "$dir/$archive"
    die "$archive has MD5 $got, expected $md5 (corrupt or partial download, removed); run the script again"
  fi
  log "MD5 of $archive verified ($md5); extracting into $dir/$folder"
  tar -xzf "$dir/$archive" -C "$dir"
  for f in "$@"; do [ -f "$dir/$folder/$f" ] || die "$dir/$folder/$f missing after extraction"; done
  log "$name ready: --data $dir/$folder"
}

if [ "$which" = cifar10 ] || [ "$which" = all ]; then
  fetch CIFAR-10 cifar-10-binary.tar.gz c32a1d4ab5d03f1284b67883e8d87530 cifar-10-batches-bin \
    data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin
fi
if [ "$which" = cifar100 ] || [ "$which" = all ]; then
  fetch CIFAR-100 cifar-100-binary.tar.gz 03b5dce01913d631647c71ecec9e9cb8 cifar-100-binary train.bin test.bin
fi
