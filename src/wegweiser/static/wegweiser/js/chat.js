// Live conversation over the chat socket (shared/contracts/realtime.md). Without JavaScript the
// page works as a form post plus reload; this script upgrades it. Messages written while offline
// wait in sessionStorage and are sent again with the same client_id after reconnecting, so the
// server stores each exactly once and nothing written is lost.
// In an end-to-end encrypted conversation (docs/e2e-protocol.md) every message and file is
// encrypted here before it leaves and decrypted here when it arrives (e2e.js, keys.js); the
// server relays ciphertext only.
const root = document.getElementById("chat");
const E2E = window.WegweiserE2E;
const KEYS = window.WegweiserKeys;

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
  const encrypted = root.dataset.encrypted === "1";
  const kid = root.dataset.kid || "";
  const role = root.dataset.role;
  let conversationKey = null;
  const keyReady = encrypted ? openKey() : Promise.resolve(null);
  keyReady.catch(() => {}); // shown in #e2e-problem

  const savePending = () => sessionStorage.setItem(storeKey, JSON.stringify([...pending]));
  const setStatus = (text) => { status.textContent = text; };
  const textOf = (value) => (typeof value === "string" ? value : value.text);

  async function openKey() {
    const info = JSON.parse(document.getElementById("e2e-conversation").textContent);
    const problem = document.getElementById("e2e-problem");
    if (!E2E || !KEYS) throw new Error("no WebCrypto");
    try {
      conversationKey = await KEYS.conversationKey(info);
    } catch (e) {
      if (problem) {
        problem.textContent = problem.dataset[`label${(e.code || "nokey").replace(/^./, (c) => c.toUpperCase())}`] || e.message;
        if (e.code === "setup") {
          const a = document.createElement("a");
          a.href = problem.dataset.setupUrl;
          a.textContent = problem.dataset.labelSetupLink;
          problem.append(" ", a);
        }
        problem.hidden = false;
      }
      if (form) form.hidden = true;
      throw e;
    }
    const code = document.getElementById("e2e-safety-code");
    if (code && info.client_public && info.team_public) {
      code.textContent = await E2E.safetyCode(info.client_public, info.team_public);
      showSafety(code.textContent);
    }
    return conversationKey;
  }

  // Whether this person marked the code as compared, and a warning when it changed since.
  function showSafety(code) {
    const state = document.getElementById("e2e-safety-state");
    const confirm = document.getElementById("e2e-safety-confirm");
    if (!state || !confirm) return;
    const compared = state.dataset.compared;
    state.textContent = compared === code ? state.dataset.labelCompared : compared ? state.dataset.labelChanged : "";
    if (compared && compared !== code) { state.classList.add("error"); document.getElementById("e2e-safety").open = true; }
    confirm.hidden = compared === code;
    confirm.onclick = async () => {
      await KEYS.postJson(state.dataset.url, { code });
      state.dataset.compared = code;
      state.classList.remove("error");
      showSafety(code);
    };
  }

  // Fill an encrypted message's body element (data-iv, data-ct, data-client-id, data-role).
  async function decryptInto(body) {
    try {
      await keyReady;
      const payload = await E2E.decryptMessage(conversationKey, { v: 1, key: kid, iv: body.dataset.iv, ct: body.dataset.ct },
        body.dataset.clientId, body.dataset.role);
      body.replaceChildren();
      if (payload.file && body.dataset.attachmentUrl) {
        const a = document.createElement("a");
        a.href = body.dataset.attachmentUrl;
        a.textContent = String(payload.file.name || "file");
        a.addEventListener("click", (event) => { event.preventDefault(); download(body, payload.file); });
        const size = document.createElement("span");
        size.className = "muted";
        size.textContent = ` (${Math.ceil((Number(payload.file.size) || 0) / 1024)} KB)`;
        body.append(a, size);
      } else {
        body.textContent = String(payload.text || "");
      }
      body.classList.add("decrypted");
    } catch (e) {
      if (conversationKey) body.textContent = label("Undecryptable");
    }
  }

  async function download(body, file) {
    const response = await fetch(body.dataset.attachmentUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await E2E.decryptFile(conversationKey, kid, body.dataset.clientId, new Uint8Array(await response.arrayBuffer()));
    // The sender's browser checked the type; so does this one, and names the type itself.
    const type = fileType(data, String(file.name || ""));
    if (!type) { body.textContent = label("FileType"); return; }
    const url = URL.createObjectURL(new Blob([data], { type }));
    const a = document.createElement("a");
    a.href = url;
    a.download = String(file.name || "file");
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

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
    if (m.encrypted) {
      body.classList.add("e2e-body");
      body.dataset.iv = m.encrypted.iv;
      body.dataset.ct = m.encrypted.ct;
      body.dataset.clientId = m.client_id || "";
      body.dataset.role = m.sender_role;
      if (m.attachment) body.dataset.attachmentUrl = `/files/${m.attachment.id}/`;
      const placeholder = document.createElement("span");
      placeholder.className = "muted";
      placeholder.textContent = label("Encrypted");
      body.append(placeholder);
      decryptInto(body);
    } else if (m.attachment) {
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

  function frameFor(clientId, value) {
    if (typeof value === "string") return { type: "send", conversation, client_id: clientId, body: value };
    return { type: "send", conversation, client_id: clientId, encrypted: value.encrypted };
  }

  function flush() {
    for (const [clientId, value] of pending) send(frameFor(clientId, value));
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

  for (const [clientId, value] of pending) pendingItem(clientId, textOf(value));
  for (const body of list.querySelectorAll(".e2e-body[data-ct]")) decryptInto(body);
  if (role === "client") {
    // The enquiry arrived: its draft (kept in this tab in case the form came back) can go.
    for (const key of Object.keys(sessionStorage)) if (key.startsWith("wegweiser.enquiry.")) sessionStorage.removeItem(key);
  }

  if (form) {
    const textarea = form.querySelector("textarea");
    form.addEventListener("submit", async (event) => {
      const text = textarea.value;
      if (!text.trim() && !encrypted) return; // the server answers with the translated error
      event.preventDefault();
      if (!text.trim()) return;
      const clientId = uuid4();
      let value = text;
      if (encrypted) {
        const key = await keyReady;
        value = { text, encrypted: await E2E.encryptMessage(key, kid, clientId, role, { text }) };
      }
      pending.set(clientId, value);
      savePending();
      pendingItem(clientId, text);
      textarea.value = "";
      send(frameFor(clientId, value));
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
  root.addEventListener("wegweiser:message", (event) => append(event.detail));
  const fileForm = document.getElementById("file-form");
  if (encrypted && fileForm) fileForm.addEventListener("submit", (event) => { event.preventDefault(); sendFile(fileForm); });

  connect();
}

// The type check the server cannot make on ciphertext (counseling/files.py does it for plain
// files): PDF, JPEG, PNG or DOCX by their first bytes.
function fileType(bytes, name) {
  const starts = (...sig) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x25, 0x50, 0x44, 0x46, 0x2d)) return "application/pdf";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0x50, 0x4b, 0x03, 0x04) && /\.docx$/i.test(name)) {
    const head = new TextDecoder("latin1").decode(bytes.subarray(0, Math.min(bytes.length, 65536)));
    if (head.includes("word/")) return "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
  }
  return null;
}

async function sendFile(fileForm) {
  const input = fileForm.querySelector("input[type=file]");
  const error = fileForm.querySelector(".e2e-file-error") || fileForm.insertBefore(
    Object.assign(document.createElement("p"), { className: "error e2e-file-error", role: "alert" }), fileForm.lastElementChild);
  const say = (k) => { error.textContent = root.dataset[`label${k}`] || ""; };
  const file = input.files && input.files[0];
  if (!file) return;
  if (file.size === 0) { say("FileEmpty"); return; }
  if (file.size > Number(root.dataset.maxBytes)) { say("FileSize"); return; }
  const bytes = new Uint8Array(await file.arrayBuffer());
  const type = fileType(bytes, file.name);
  if (!type) { say("FileType"); return; }
  error.textContent = "";
  const button = fileForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const info = JSON.parse(document.getElementById("e2e-conversation").textContent);
    const key = await KEYS.conversationKey(info);
    const kid = root.dataset.kid;
    const clientId = uuid4();
    const blob = await E2E.encryptFile(key, kid, clientId, bytes);
    const envelope = await E2E.encryptMessage(key, kid, clientId, root.dataset.role,
      { text: "", file: { name: file.name, type, size: file.size } });
    const data = new FormData();
    data.append("csrfmiddlewaretoken", fileForm.querySelector("input[name=csrfmiddlewaretoken]").value);
    data.append("client_id", clientId);
    data.append("encrypted", JSON.stringify(envelope));
    data.append("file", new Blob([blob], { type: "application/octet-stream" }), "encrypted.bin");
    const response = await fetch(fileForm.action, { method: "POST", body: data, credentials: "same-origin" });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) { error.textContent = answer.error || response.statusText; return; }
    fileForm.reset();
    root.dispatchEvent(new CustomEvent("wegweiser:message", { detail: answer.message }));
  } finally {
    button.disabled = false;
  }
}
