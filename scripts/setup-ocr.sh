#!/usr/bin/env bash
# Make sure Tesseract (Debian's tesseract-ocr, with English) is installed: rag reads
# scanned PDF pages and pictures of text with it. Without it those files are skipped
# with a reason, and everything else is indexed; so a machine where it cannot be
# installed (not root) only gets a warning here.
set -euo pipefail

if command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx eng; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "WARNING: Tesseract is not installed, so scanned PDFs and images will be skipped:" \
        "sudo apt-get install tesseract-ocr tesseract-ocr-eng" >&2
    exit 0
fi
echo "Installing Tesseract for reading scanned pages ..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng >/dev/null
