// The enquiry form, end-to-end encrypted (docs/e2e-protocol.md §1, §4, §5): a new client's
// identity key is made here (the recovery key shown once), then a conversation key, sealed to
// the client and to the agency's team key, encrypts the first message. Only ciphertext is
// sent; the text stays in this tab (sessionStorage) until the enquiry has arrived, so nothing
// written is lost when the form comes back with an error. Without JavaScript, or where the
// agency has no team key yet, the form posts the text as before (unless the topic requires
// encryption, which the server enforces). A logged-in client without a key is sent to set one
// up first.
(function () {
  const dataNode = document.getElementById("e2e-enquiry");
  const hidden = document.querySelector("input[name=e2e]");
  if (!dataNode || !hidden) return;
  const page = JSON.parse(dataNode.textContent);
  const E = window.WegweiserE2E;
  const K = window.WegweiserKeys;
  const form = hidden.form;
  const textarea = form.querySelector("textarea[name=body]");
  const problem = document.getElementById("e2e-enquiry-problem");
  hidden.value = ""; // a form that came back starts afresh: new keys for the next attempt
  const draft = sessionStorage.getItem(page.draft);
  if (draft && !textarea.value) textarea.value = draft;
  if (!E || !K || !page.team_key) return;

  function fail(kind, link) {
    problem.textContent = problem.dataset[`label${kind}`];
    if (link) {
      const a = document.createElement("a");
      a.href = problem.dataset.setupUrl;
      a.textContent = problem.dataset.labelSetupLink;
      problem.append(" ", a);
    }
    problem.hidden = false;
    problem.scrollIntoView({ block: "center" });
  }

  let ready = false;
  let busy = false;
  form.addEventListener("submit", async (event) => {
    if (ready) return;
    event.preventDefault();
    if (busy) return;
    const text = textarea.value;
    const plain = () => { ready = true; form.requestSubmit(); };
    if (!text.trim()) { plain(); return; } // the server says what is missing
    busy = true;
    try {
      let identityPublic;
      let bundle = null;
      let recovery = null;
      if (page.register) {
        const username = form.elements.username.value.trim();
        const password = form.elements.password.value;
        if (!username || !password) { plain(); return; }
        const made = await E.createIdentity(username, password);
        await K.showRecovery(made.recoveryKey);
        bundle = made.bundle;
        recovery = made.recoveryAuth;
        identityPublic = made.publicRaw;
        await E.keyStore.put("identity:new", { public: made.publicRaw, key: made.privateKey });
      } else {
        const me = K.me;
        if (!me || !me.bundle) {
          // An account from before encryption (or registered without an enquiry): set up the
          // key first; the text waits in this tab and is back when the user returns here.
          sessionStorage.setItem(page.draft, text);
          fail("Setup", true);
          return;
        }
        await K.identity();
        identityPublic = me.bundle.public;
      }
      const conversation = await E.newConversationKey();
      const key = await E.importConversationKey(conversation.raw);
      const clientId = crypto.randomUUID();
      const label = K.labels.conversation(conversation.kid);
      hidden.value = JSON.stringify({
        key: conversation.kid,
        team_key: page.team_key.kid,
        client_grant: await E.seal(identityPublic, conversation.raw, label),
        team_grant: await E.seal(page.team_key.public, conversation.raw, label),
        message: await E.encryptMessage(key, conversation.kid, clientId, "client", { text }),
        client_id: clientId,
        identity: bundle,
        recovery,
      });
      await E.keyStore.put(`conversation:${conversation.kid}`, key);
      sessionStorage.setItem(page.draft, text);
      textarea.removeAttribute("name"); // the text itself stays in this browser
      ready = true;
      form.requestSubmit();
    } catch (e) {
      console.warn("encrypting the enquiry failed", e);
      fail("Failed", false);
    } finally {
      busy = false;
    }
  });
})();
