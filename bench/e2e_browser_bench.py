"""What end-to-end encryption costs in the browser (static/wegweiser/js/e2e.js in real Chromium):
the password key at login (PBKDF2, 600,000 iterations), making and opening an identity key,
encrypting and decrypting one message, sealing a conversation key, and encrypting a 20 MB file.

    .venv/bin/python bench/e2e_browser_bench.py [ROUNDS]

Serves e2e.js from a throw-away HTTP server on 127.0.0.1 (WebCrypto needs a secure context,
which localhost is) and prints medians of ROUNDS runs (default 5). Prints figures, asserts
nothing; needs Debian's chromium.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import statistics
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "src" / "wegweiser" / "static" / "wegweiser" / "js"

MEASURE = """async () => {
  const E = WegweiserE2E, now = () => performance.now(), out = {};
  let s = now(); await E.deriveKek("mia", "lange-test-passphrase"); out.kek = now() - s;
  s = now(); const id = await E.createIdentity("mia", "lange-test-passphrase");
  out.create_identity = now() - s;
  s = now(); const key = await E.unlockWithPassword(id.bundle, "mia", "lange-test-passphrase");
  out.unlock_with_password = now() - s;
  const conv = await E.newConversationKey();
  s = now(); const sealed = await E.seal(id.publicRaw, conv.raw, E.conversationKeyLabel(conv.kid));
  out.seal = now() - s;
  s = now(); await E.open(key, sealed, E.conversationKeyLabel(conv.kid), id.publicRaw); out.open = now() - s;
  const k = await E.importConversationKey(conv.raw), cid = crypto.randomUUID(), n = 1000;
  const payload = {text: "Guten Tag, ich habe eine Frage zu meinen Mietschulden und weiß nicht weiter."};
  let env;
  s = now(); for (let i = 0; i < n; i++) env = await E.encryptMessage(k, conv.kid, cid, "client", payload);
  out.encrypt_message = (now() - s) / n;
  s = now(); for (let i = 0; i < n; i++) await E.decryptMessage(k, env, cid, "client");
  out.decrypt_message = (now() - s) / n;
  const file = new Uint8Array(20 * 1024 * 1024);
  s = now(); const blob = await E.encryptFile(k, conv.kid, cid, file); out.encrypt_20mb_file = now() - s;
  s = now(); await E.decryptFile(k, conv.kid, cid, blob); out.decrypt_20mb_file = now() - s;
  return out;
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> int:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        print("Debian's chromium is not installed (make chromium)")
        return 1
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(JS)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    runs: list[dict[str, float]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(f"{base}/e2e.js")  # any page of the origin: a secure context (localhost)
        page.add_script_tag(url=f"{base}/e2e.js")
        for _ in range(rounds):
            runs.append(page.evaluate(MEASURE))
        version = browser.version
        browser.close()
    server.shutdown()
    print(f"== e2e in the browser (Chromium {version}), median of {rounds} runs")
    for name in runs[0]:
        values = [run[name] for run in runs]
        median = statistics.median(values)
        print(f"{name:24} {median:9.3f} ms   (min {min(values):.3f}, max {max(values):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
