// Live conversation over the chat socket (shared/contracts/realtime.md). Without JavaScript the
// page works as a form post plus reload; this script upgrades it. Messages written while offline
// wait in sessionStorage and are sent again with the same client_id after reconnecting, so the
// server stores each exactly once and nothing written is lost.
const root = document.getElementById("chat");

function uuid4() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

if (root && "WebSocket" in window) {
  const conversation = root.dataset.conversation;
  const me = root.dataset.user;
  const label = (k) => root.dataset[`label${k}`] || "";
  const list = document.getElementById("messages");
  const status = document.getElementById("chat-status");
  const form = document.getElementById("send-form");
  const storeKey = `wegweiser.pending.${conversation}`;
  let lastSeq = Number(root.dataset.lastSeq || 0);
  let socket = null;
  let backoff = 1000;
  let stopped = false;
  let readSent = 0;
  const pending = new Map(JSON.parse(sessionStorage.getItem(storeKey) || "[]"));

  const savePending = () => sessionStorage.setItem(storeKey, JSON.stringify([...pending]));
  const setStatus = (text) => { status.textContent = text; };

  function who(m) {
    if (m.sender_role === "system") return label("Notice");
    if (m.sender === me) return label("You");
    return m.sender_role === "client" ? label("Client") : label("Counselor");
  }

  function render(m, li = document.createElement("li")) {
    li.className = `msg msg-${m.sender_role}${m.sender === me ? " mine" : ""}`;
    li.id = `m-${m.seq}`;
    li.dataset.seq = String(m.seq);
    delete li.dataset.clientId;
    li.replaceChildren();
    const meta = document.createElement("p");
    meta.className = "meta";
    const name = document.createElement("span");
    name.className = "who";
    name.textContent = who(m);
    const time = document.createElement("time");
    time.dateTime = m.sent_at;
    time.textContent = new Date(m.sent_at).toLocaleString();
    meta.append(name, " ", time);
    const body = document.createElement("p");
    body.className = "body";
    if (m.attachment) {
      const a = document.createElement("a");
      a.href = `/files/${m.attachment.id}/`;
      a.textContent = m.attachment.name;
      body.append(a);
    } else {
      body.textContent = m.body;
    }
    li.append(meta, body);
    return li;
  }

  function pendingItem(clientId, text) {
    const li = document.createElement("li");
    li.className = "msg mine pending";
    li.dataset.clientId = clientId;
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = label("Sending");
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = text;
    li.append(meta, body);
    list.append(li);
    return li;
  }

  // Stored messages in seq order, then the ones still waiting for their ack.
  function place(li) {
    list.insertBefore(li, list.querySelector("li.pending"));
  }

  function append(m) {
    if (m.seq <= lastSeq) return;
    if (m.seq > lastSeq + 1) { send({ type: "sync", conversation, after: lastSeq }); return; }
    if (!document.getElementById(`m-${m.seq}`)) place(render(m));
    lastSeq = m.seq;
    markRead();
  }

  function markRead() {
    if (document.visibilityState === "visible" && lastSeq > readSent) {
      readSent = lastSeq;
      send({ type: "read", conversation, seq: lastSeq });
    }
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function flush() {
    for (const [clientId, text] of pending) send({ type: "send", conversation, client_id: clientId, body: text });
  }

  function onFrame(frame) {
    if (frame.type === "ack") {
      const li = list.querySelector(`[data-client-id="${CSS.escape(frame.client_id)}"]`);
      pending.delete(frame.client_id);
      savePending();
      const m = frame.message;
      if (m.seq <= lastSeq) { if (li) li.remove(); return; }
      if (m.seq > lastSeq + 1) { if (li) li.remove(); send({ type: "sync", conversation, after: lastSeq }); return; }
      if (li) { li.classList.remove("pending"); place(render(m, li)); } else { place(render(m)); }
      lastSeq = m.seq;
    } else if (frame.type === "message" && frame.conversation === conversation) {
      append(frame.message);
    } else if (frame.type === "messages" && frame.conversation === conversation) {
      for (const m of frame.messages) {
        if (m.client_id && pending.has(m.client_id)) {
          const li = list.querySelector(`[data-client-id="${CSS.escape(m.client_id)}"]`);
          if (li) li.remove();
          pending.delete(m.client_id);
          savePending();
        }
        append(m);
      }
      if (frame.more) send({ type: "sync", conversation, after: lastSeq });
      else flush();
    } else if (frame.type === "error") {
      if (frame.code === "rate_limited") { setTimeout(flush, 3000); return; }
      const li = frame.client_id && list.querySelector(`[data-client-id="${CSS.escape(frame.client_id)}"]`);
      if (li) {
        li.classList.add("failed");
        li.querySelector(".meta").textContent = label("Error") + " " + frame.detail;
        pending.delete(frame.client_id);
        savePending();
      }
      if (frame.code === "closed") { setStatus(label("Closed")); if (form) form.hidden = true; }
    }
  }

  let timer = null;
  function scheduleReconnect() {
    if (timer) return;
    timer = setTimeout(() => { timer = null; connect(); }, backoff);
    backoff = Math.min(backoff * 2, 15000);
  }

  function connect() {
    if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const current = new WebSocket(`${scheme}://${location.host}${root.dataset.wsPath}`);
    socket = current;
    current.addEventListener("open", () => {
      if (socket !== current) { current.close(); return; } // replaced while connecting
      backoff = 1000;
      setStatus(label("Online"));
      root.classList.add("live");
      send({ type: "sync", conversation, after: lastSeq });
    });
    current.addEventListener("message", (event) => {
      try { onFrame(JSON.parse(event.data)); } catch (e) { console.warn("bad frame", e); }
    });
    current.addEventListener("close", (event) => {
      if (socket !== current) return; // a socket given up on earlier: its late close changes nothing
      root.classList.remove("live");
      if (event.code === 4401 || event.code === 4403) {
        stopped = true;
        setStatus(label("Ended"));
      }
      if (stopped) return;
      setStatus(label("Offline"));
      scheduleReconnect();
    });
  }

  for (const [clientId, text] of pending) pendingItem(clientId, text);

  if (form) {
    const textarea = form.querySelector("textarea");
    form.addEventListener("submit", (event) => {
      const text = textarea.value;
      if (!text.trim()) return; // the server answers with the translated error
      event.preventDefault();
      const clientId = uuid4();
      pending.set(clientId, text);
      savePending();
      pendingItem(clientId, text);
      textarea.value = "";
      send({ type: "send", conversation, client_id: clientId, body: text });
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
  }
  document.addEventListener("visibilitychange", markRead);
  // The browser knows first when the network is gone: close at once and reconnect when it is back.
  // With the network gone, a close handshake can take long to end: show "offline" at once and
  // forget that socket; "online" opens a new one.
  window.addEventListener("offline", () => {
    const gone = socket;
    socket = null;
    root.classList.remove("live");
    setStatus(label("Offline"));
    if (gone) gone.close();
  });
  window.addEventListener("online", () => {
    clearTimeout(timer);
    timer = null;
    backoff = 1000;
    connect();
  });
  connect();
}
