// The encryption page (/keys/): set up one's identity key, unlock it in this browser, or make a
// new one after losing both password and recovery key. The key is stored first (the server
// checks the password, so the key opens at the next login), then the recovery key is shown.
(function () {
  const E = window.WegweiserE2E;
  const K = window.WegweiserKeys;
  const root = document.getElementById("e2e-keys");
  if (!root || !E || !K) return;
  const done = document.getElementById("e2e-done");
  const status = document.getElementById("e2e-status");
  const next = root.dataset.next;

  function finish() {
    done.textContent = root.dataset.labelDone;
    done.hidden = false;
    if (next) location.assign(next);
  }

  function make(form, replace) {
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector(".e2e-error");
      if (replace && !form.elements.confirm.checked) { form.elements.confirm.focus(); return; }
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      error.textContent = root.dataset.labelWorking;
      try {
        const me = K.me;
        const password = form.elements.password.value;
        const made = await E.createIdentity(me.username, password);
        await K.postJson(me.urls.identity, { password, bundle: made.bundle, recovery: made.recoveryAuth, replace });
        me.bundle = made.bundle;
        await K.remember(made.privateKey, made.publicRaw);
        form.reset();
        error.textContent = "";
        form.closest("section, details").hidden = true;
        if (status) status.textContent = root.dataset.labelUnlocked;
        await K.showRecovery(made.recoveryKey);
        K.maintainTeams().catch(() => {});
        finish();
      } catch (e) {
        error.textContent = e.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  make(document.getElementById("e2e-setup-form"), false);
  make(document.getElementById("e2e-replace-form"), true);
  if (status) {
    K.quietly().then((key) => {
      status.textContent = root.dataset[key ? "labelUnlocked" : "labelLocked"];
      if (key) return;
      K.identity().then(() => {
        status.textContent = root.dataset.labelUnlocked;
        K.maintainTeams().catch(() => {});
        if (next) location.assign(next);
      }).catch(() => {});
    });
  }
})();
