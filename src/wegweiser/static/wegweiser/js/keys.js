// The user's keys in this browser (docs/e2e-protocol.md, docs/security.md), on top of e2e.js.
// - The login page derives the password key before the login is sent, so the first page after
//   it opens the identity key without asking again; the opened key is kept in IndexedDB as a
//   non-extractable CryptoKey (it cannot be read out, only used) and forgotten on logout.
// - Without it (a cleared browser, a login with a passkey), pages that need the key show the
//   unlock form: the password, or the recovery key after a forgotten password.
// - Counselors' browsers look after their agencies' team keys: create the first one, share
//   them with colleagues who lack them, and replace the current one after someone left.
(function () {
  const E = window.WegweiserE2E;
  if (!E || !window.crypto || !crypto.subtle) return;
  const meNode = document.getElementById("e2e-me");
  let me = meNode ? JSON.parse(meNode.textContent) : null;
  const TEAM = (kid) => `wegweiser/team-key/v1|${kid}`;
  const CONV = (kid) => `wegweiser/conversation-key/v1|${kid}`;

  function csrf() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function postJson(url, data) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(data),
    });
    let body = {};
    try { body = await response.json(); } catch (e) { body = {}; }
    if (!response.ok) {
      const error = new Error(body.error || response.statusText);
      error.code = body.code || String(response.status);
      throw error;
    }
    return body;
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(response.statusText);
    return response.json();
  }

  // --- the identity key ---------------------------------------------------------------------
  const slot = () => `identity:${me.user}`;

  async function remember(privateKey, publicRaw) {
    await E.keyStore.put(slot(), { public: publicRaw, key: privateKey });
  }

  // The key opened without asking: kept from before, made with the enquiry that registered
  // this account, or opened with the password key the login page derived.
  async function quietly() {
    if (!me || !me.bundle) return null;
    const kept = await E.keyStore.get(slot());
    if (kept && kept.public === me.bundle.public) return kept.key;
    const fresh = await E.keyStore.get("identity:new");
    if (fresh && fresh.public === me.bundle.public) {
      await remember(fresh.key, fresh.public);
      await E.keyStore.put("identity:new", null);
      return fresh.key;
    }
    const kek = await E.keyStore.get("kek");
    if (kek && kek.username === me.username.toLowerCase() && Date.now() - kek.at < 15 * 60 * 1000) {
      try {
        const key = await E.unlockWithKek(me.bundle, kek.key);
        await remember(key, me.bundle.public);
        await E.keyStore.put("kek", null);
        return key;
      } catch (e) { /* the password changed meanwhile: ask */ }
    }
    return null;
  }

  let unlocking = null;

  // The identity key, asking for the password (or the recovery key) when it must.
  function identity() {
    if (!me || !me.bundle) return Promise.resolve(null);
    if (!unlocking) {
      unlocking = quietly().then((key) => key || ask());
      unlocking.catch(() => { unlocking = null; });
    }
    return unlocking;
  }

  function ask() {
    const panel = document.getElementById("e2e-unlock");
    if (!panel) return Promise.reject(new Error("locked"));
    panel.hidden = false;
    const form = panel.querySelector("form");
    const error = panel.querySelector(".e2e-error");
    const recoveryField = panel.querySelector("[data-recovery]");
    const toggle = panel.querySelector("[data-use-recovery]");
    if (toggle) {
      toggle.addEventListener("click", () => {
        recoveryField.hidden = false;
        toggle.hidden = true;
        recoveryField.querySelector("input").focus();
      });
    }
    const first = form.querySelector("input:not([type=hidden])");
    if (first && !document.querySelector(".has-error")) first.focus();
    return new Promise((resolve) => {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const button = form.querySelector("button[type=submit]");
        button.disabled = true;
        error.textContent = panel.dataset.labelWorking || "";
        const password = form.elements.password.value;
        const recovery = form.elements.recovery ? form.elements.recovery.value.trim() : "";
        try {
          let key;
          if (recovery && !recoveryField.hidden) {
            // Forgotten or reset password: open with the recovery key, wrap for the current one.
            const opened = await E.unlockWithRecovery(me.bundle, recovery);
            const bundle = await E.rewrapForPassword(me.bundle, { recoveryKey: recovery }, me.username, password);
            await postJson(me.urls.rewrap, { password, password_wrap: bundle.password });
            me.bundle = bundle;
            key = opened.privateKey;
          } else {
            key = await E.unlockWithPassword(me.bundle, me.username, password);
          }
          await remember(key, me.bundle.public);
          form.reset();
          panel.hidden = true;
          error.textContent = "";
          resolve(key);
        } catch (e) {
          error.textContent = e.code ? e.message : (panel.dataset.labelWrong || "");
        } finally {
          button.disabled = false;
        }
      });
    });
  }

  // --- conversation keys ----------------------------------------------------------------------
  const conversationKeys = new Map();

  // info: the conversation's key data (counseling.selectors.conversation_keys).
  async function conversationKey(info) {
    if (conversationKeys.has(info.kid)) return conversationKeys.get(info.kid);
    const promise = (async () => {
      const kept = await E.keyStore.get(`conversation:${info.kid}`);
      if (kept) return kept;
      const own = await identity();
      if (!own) throw Object.assign(new Error("no identity key"), { code: "setup" });
      if (!info.sealed) throw Object.assign(new Error("no key for you"), { code: "nokey" });
      let opener = own;
      if (info.via_team) {
        if (!info.team_sealed) throw Object.assign(new Error("no team key yet"), { code: "noteam" });
        const teamPkcs8 = await E.open(own, info.team_sealed, TEAM(info.team_kid), me.bundle.public);
        opener = await E.importTeamPrivate(teamPkcs8);
      }
      const recipient = info.via_team ? info.team_public : info.client_public;
      const raw = await E.open(opener, info.sealed, CONV(info.kid), recipient);
      const key = await E.importConversationKey(raw);
      await E.keyStore.put(`conversation:${info.kid}`, key);
      return key;
    })();
    conversationKeys.set(info.kid, promise);
    promise.catch(() => conversationKeys.delete(info.kid));
    return promise;
  }

  // --- team keys (counselors) -------------------------------------------------------------------
  async function sealTo(members, pkcs8, kid) {
    const grants = [];
    for (const m of members) grants.push({ user: m.user, sealed: await E.seal(m.public, pkcs8, TEAM(kid)) });
    return grants;
  }

  async function maintainAgency(state, own) {
    const held = new Map();
    for (const k of state.keys) {
      if (!k.sealed) continue;
      try { held.set(k.kid, await E.open(own, k.sealed, TEAM(k.kid), me.bundle.public)); } catch (e) { /* stale */ }
    }
    const current = state.current;
    if (!current || (state.rotate && held.has(current.kid))) {
      const team = await E.newTeamKey();
      const grants = await sealTo(state.members, team.pkcs8, team.kid);
      try {
        return await postJson(state.url, { action: "create", key: team.kid, public: team.publicRaw,
                                           grants, expected: current ? current.kid : null });
      } catch (e) {
        if (e.code !== "stale") throw e;
        return null; // another browser was quicker; its key is used
      }
    }
    const grants = [];
    for (const m of state.missing) {
      for (const kid of m.kids) {
        if (held.has(kid)) grants.push({ kid, user: m.user, sealed: await E.seal(m.public, held.get(kid), TEAM(kid)) });
      }
    }
    if (grants.length) return postJson(state.url, { action: "grant", grants });
    return state;
  }

  async function maintainTeams() {
    if (!me || !me.counselor || !me.bundle) return;
    const own = await quietly();
    if (!own) return; // not unlocked here: the next page that asks will do it
    const data = await getJson(me.urls.teams);
    for (const state of data.agencies) {
      try { await maintainAgency(state, own); } catch (e) { console.warn("team key upkeep failed", e); }
    }
  }

  // Show a new recovery key once (#e2e-recovery) and resolve when the user confirms having
  // written it down.
  function showRecovery(recoveryKey) {
    const panel = document.getElementById("e2e-recovery");
    const ok = document.getElementById("e2e-recovery-ok");
    const go = document.getElementById("e2e-recovery-continue");
    document.getElementById("e2e-recovery-key").textContent = recoveryKey;
    ok.checked = false;
    go.disabled = true;
    panel.hidden = false;
    panel.querySelector("h2").focus();
    ok.onchange = () => { go.disabled = !ok.checked; };
    return new Promise((resolve) => {
      go.onclick = () => {
        if (!ok.checked) return;
        panel.hidden = true;
        document.getElementById("e2e-recovery-key").textContent = "";
        resolve();
      };
    });
  }

  // --- login and logout ----------------------------------------------------------------------
  // The password key is derived on the login page (never sent anywhere) and kept for the next
  // page; logging out forgets every key of this browser.
  function hookLogin() {
    const password = document.querySelector("form input[name=password][type=password]");
    const form = password && password.form;
    const login = form && form.querySelector("input[name=login]");
    if (!login) return;
    let derived = false;
    form.addEventListener("submit", async (event) => {
      if (derived || !login.value || !password.value) return;
      event.preventDefault();
      try {
        const key = await E.deriveKek(login.value, password.value);
        await E.keyStore.put("kek", { username: login.value.trim().toLowerCase(), key, at: Date.now() });
      } catch (e) { /* the login still works; the key page asks for the password */ }
      derived = true;
      form.requestSubmit(event.submitter || undefined);
    });
  }

  function hookLogout() {
    for (const form of document.querySelectorAll("form[data-logout]")) {
      let cleared = false;
      form.addEventListener("submit", async (event) => {
        if (cleared) return;
        event.preventDefault();
        try { await E.keyStore.clear(); } catch (e) { /* nothing kept */ }
        cleared = true;
        form.requestSubmit(event.submitter || undefined);
      });
    }
  }

  // allauth's password change: the same key, wrapped for the new password, goes with it
  // (counseling.forms.KeyedChangePasswordForm refuses the change without it).
  function hookPasswordChange() {
    const hidden = document.querySelector("input[name=e2e_password_wrap]");
    const form = hidden && hidden.form;
    if (!form) return;
    let wrapped = false;
    form.addEventListener("submit", async (event) => {
      if (wrapped) return;
      event.preventDefault();
      try {
        const mine = await getJson(hidden.dataset.identityUrl);
        if (mine.bundle && form.elements.oldpassword.value && form.elements.password1.value) {
          const bundle = await E.rewrapForPassword(mine.bundle, { password: form.elements.oldpassword.value },
            mine.username, form.elements.password1.value);
          hidden.value = JSON.stringify(bundle.password);
        }
      } catch (e) { /* a wrong current password: the server says so */ }
      wrapped = true;
      form.requestSubmit(event.submitter || undefined);
    });
  }

  hookLogin();
  hookLogout();
  hookPasswordChange();
  // A page for anonymous visitors after a logout elsewhere (or an expired session): no key stays.
  if (!document.querySelector("form[data-logout]") && !document.querySelector("input[name=login]")) {
    E.keyStore.get("kek").then((kek) => { if (!kek) E.keyStore.clear(); }).catch(() => {});
  }

  window.WegweiserKeys = {
    get me() { return me; },
    set me(value) { me = value; },
    identity, quietly, remember, conversationKey, maintainTeams, postJson, getJson, csrf, showRecovery,
    labels: { team: TEAM, conversation: CONV },
  };
  if (me && me.counselor) maintainTeams().catch((e) => console.warn("team key upkeep failed", e));
})();
