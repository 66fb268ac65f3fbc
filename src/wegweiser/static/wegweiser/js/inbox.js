// Live inbox. The notification socket says only "your inbox changed" (no name, no topic, no
// text); this script then fetches the same page again, through the server's access checks, and
// swaps in the list. Without JavaScript the page works as before: reload it by hand.
const root = document.getElementById("inbox-live");

if (root && "WebSocket" in window && "DOMParser" in window) {
  const status = document.getElementById("inbox-status");
  let backoff = 1000;
  let stopped = false;
  let busy = false;
  let again = false;
  let dirty = false;
  let timer = null;

  async function refresh() {
    if (document.visibilityState !== "visible") { dirty = true; return; }
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
      if (response.redirected || !response.ok) return; // logged out meanwhile: the next load shows it
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.getElementById("inbox-live");
      if (!fresh) return;
      const focused = document.activeElement && root.contains(document.activeElement);
      root.replaceChildren(...fresh.childNodes);
      if (focused) root.focus();
      if (status) status.textContent = root.dataset.labelUpdated || "";
    } catch (e) {
      console.warn("inbox refresh failed", e);
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300); // several events at once: one fetch
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && dirty) { dirty = false; soon(); }
  });

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.wsPath}`);
    let ping = null;
    socket.addEventListener("open", () => {
      if (backoff > 1000) soon(); // events may have been missed while offline
      backoff = 1000;
      ping = setInterval(() => socket.send('{"type":"ping"}'), 30000);
    });
    socket.addEventListener("message", (event) => {
      try {
        if (JSON.parse(event.data).type === "inbox") soon();
      } catch (e) { console.warn("bad frame", e); }
    });
    socket.addEventListener("close", (event) => {
      clearInterval(ping);
      if (event.code === 4401 || event.code === 4403) stopped = true;
      if (stopped) return;
      setTimeout(connect, backoff + Math.random() * 500);
      backoff = Math.min(backoff * 2, 30000);
    });
  }

  connect();
}
