#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, lint the code (ruff, configured in
# pyproject.toml), then run the tests.
#   bash scripts/test.sh [pytest options]
# LibreOffice (Calc, headless) is the spreadsheet application the tests use to recalculate and
# re-save workbooks and to produce real .xls/.ods files; it comes from the distribution's
# packages (installed here when missing and we are root; otherwise those tests are skipped).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v soffice >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== 安装 LibreOffice Calc（无界面）、python3-uno 与 poppler-utils =="
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq libreoffice-calc-nogui libreoffice-writer-nogui python3-uno poppler-utils fonts-noto-cjk >/dev/null
  else
    echo "注意：未找到 LibreOffice（soffice），需要它的测试将被跳过。" >&2
  fi
fi

# xltools publish prints Word documents to PDF, and the published-report corpus turns its
# .docx into PDF: LibreOffice's word processor (Writer)
if command -v soffice >/dev/null 2>&1 && ! ls "$(dirname "$(readlink -f "$(command -v soffice)")")"/*swlo.* >/dev/null 2>&1 \
   && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "== 安装 LibreOffice Writer（无界面）=="
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-writer-nogui >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-writer-nogui >/dev/null; } \
    || echo "注意：未能安装 LibreOffice Writer，生成 PDF 的测试将被跳过。" >&2
fi

# Chromium (Debian's package) for the browser tests of `xltools serve`, driven by Playwright for
# Python (in the test extra); Playwright's own browser download is never used.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== 安装 Chromium（网页测试用）=="
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null || echo "注意：Chromium 安装失败，网页的浏览器测试将被跳过。" >&2
  else
    echo "注意：未找到 Chromium，网页的浏览器测试将被跳过。" >&2
  fi
fi

# axe-core (npm) checks the pages' accessibility in the browser tests: installed into tests/node
# from its package-lock.json (the tests skip that walk, saying why, when npm is absent).
if [ ! -f tests/node/node_modules/axe-core/axe.min.js ]; then
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== 安装 npm（网页无障碍检查用）=="
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; } \
      || echo "注意：npm 安装失败，网页的无障碍检查（axe-core）将被跳过。" >&2
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "== 安装 axe-core（网页无障碍检查）=="
    npm ci --prefix tests/node --no-audit --no-fund >/dev/null \
      || echo "注意：axe-core 安装失败，网页的无障碍检查将被跳过。" >&2
  else
    echo "注意：未找到 npm，网页的无障碍检查（axe-core）将被跳过。" >&2
  fi
fi

# Tesseract (OCR) and its Chinese model read scanned reports (xltools import of an image-only PDF
# or page images); poppler-utils' pdftoppm renders the corpus PDFs into the scans the tests read.
if ! command -v tesseract >/dev/null 2>&1 || ! tesseract --list-langs 2>/dev/null | grep -qx chi_sim \
   || ! command -v pdftoppm >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== 安装 Tesseract 文字识别（含中文模型）与 poppler-utils（扫描件测试用）=="
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq tesseract-ocr tesseract-ocr-chi-sim poppler-utils >/dev/null \
      || { apt-get update -qq && apt-get install -y -qq tesseract-ocr tesseract-ocr-chi-sim poppler-utils >/dev/null; } \
      || echo "注意：Tesseract 安装失败，读取扫描件的测试将被跳过。" >&2
  else
    echo "注意：未找到 Tesseract（tesseract-ocr、tesseract-ocr-chi-sim），读取扫描件的测试将被跳过。" >&2
  fi
fi

# Dovecot (IMAP) is the real mail server the `xltools fetch` tests run on loopback.
if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== 安装 Dovecot（IMAP 服务器，供收件测试使用） =="
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq dovecot-imapd >/dev/null
  else
    echo "注意：未找到 Dovecot（dovecot-imapd），需要它的收件测试将被跳过。" >&2
  fi
fi

echo "== 安装 xltools 及测试依赖 =="
python -m pip install -q --disable-pip-version-check -e ".[test]"

# ruff comes with the test extra (pinned to one minor version: its rules and formatting change
# between minor versions); a finding or an unformatted file stops here, before the tests
echo "== 代码检查（ruff check、ruff format --check） =="
python -m ruff check .
python -m ruff format --check .

echo "== 运行测试 =="
python -m pytest -q "$@"
