// A new password with the recovery key (docs/e2e-protocol.md §1.2): the browser derives the
// recovery proof and shows it to the server, which then hands out the private key wrapped with
// the recovery key; the browser opens it, wraps it for the new password and sends that wrap
// with the new password. The recovery key itself never leaves the browser.
(function () {
  const E = window.WegweiserE2E;
  const K = window.WegweiserKeys;
  const form = document.getElementById("e2e-recover-form");
  if (!form || !E || !K) return;
  const error = form.querySelector(".e2e-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = form.elements.username.value.trim();
    const password = form.elements.password1.value;
    if (password !== form.elements.password2.value) { error.textContent = form.dataset.labelMismatch; return; }
    let recovery;
    try { recovery = E.recoveryParse(form.elements.recovery.value); } catch (e) {
      error.textContent = form.dataset.labelMalformed;
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    error.textContent = form.dataset.labelWorking;
    try {
      const proof = (await E.recoveryKeys(recovery)).auth;
      const found = await K.postJson(form.dataset.url, { step: "check", username, proof });
      const text = E.recoveryEncode(recovery);
      // The server hands out the recovery part only; the password part is made anew here.
      const partial = { ...found.bundle, password: { kdf: "pbkdf2-sha256", iter: E.ITERATIONS } };
      const bundle = await E.rewrapForPassword(partial, { recoveryKey: text }, found.username, password);
      await K.postJson(form.dataset.url, { step: "reset", username, proof, password, password_wrap: bundle.password });
      form.hidden = true;
      const done = document.getElementById("e2e-recover-done");
      done.querySelector("span").textContent = form.dataset.labelDone;
      done.hidden = false;
    } catch (e) {
      // The server's translated message, or (the key did not open here) the same as a wrong key.
      error.textContent = e.code ? e.message : form.dataset.labelWrong;
    } finally {
      button.disabled = false;
    }
  });
})();
