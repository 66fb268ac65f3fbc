// End-to-end encryption, protocol version 1 (docs/e2e-protocol.md), with WebCrypto only.
// tests/e2e_protocol.py is the reference implementation; tests/browser/test_e2e_vectors.py checks
// that both agree byte for byte. Binary arguments may be Uint8Array (or any ArrayBuffer view) or
// b64u strings; binary results are b64u where the protocol puts them into JSON and Uint8Array
// otherwise. Keys that stay in the browser are non-extractable CryptoKeys.
(function () {
  "use strict";

  const subtle = crypto.subtle;
  const VERSION = 1;
  const ITERATIONS = 600000;
  const KDF = "pbkdf2-sha256";
  const P256 = { name: "ECDH", namedCurve: "P-256" };
  const AES = { name: "AES-GCM", length: 256 };
  const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const ROLES = ["client", "counselor"];
  const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const utf8 = (text) => new TextEncoder().encode(text);
  const IDENTITY_AAD = utf8("wegweiser/identity/v1");

  // --- bytes and encodings ----------------------------------------------------------------------

  const b64u = {
    encode(data) {
      const bytes = toBytes(data);
      let s = "";
      for (let i = 0; i < bytes.length; i += 0x8000) {
        s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      }
      return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
    // Strict: no padding, the url-safe alphabet only, and one spelling per value.
    decode(text) {
      if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
        throw new TypeError("not canonical unpadded base64url");
      }
      const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
      if (b64u.encode(out) !== text) throw new TypeError("not canonical unpadded base64url");
      return out;
    },
  };

  function toBytes(x) {
    if (x instanceof Uint8Array) return x;
    if (x instanceof ArrayBuffer) return new Uint8Array(x);
    if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    throw new TypeError("expected bytes");
  }
  const bin = (x) => (typeof x === "string" ? b64u.decode(x) : toBytes(x));

  function sized(x, n, what) {
    const b = bin(x);
    if (b.length !== n) throw new TypeError(`${what} must be ${n} bytes`);
    return b;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => { out.set(p, at); return at + p.length; }, 0);
    return out;
  }

  function equal(a, b) {
    a = toBytes(a); b = toBytes(b);
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
  const random = (n) => crypto.getRandomValues(new Uint8Array(n));
  const ivOf = (iv) => (iv === undefined || iv === null ? random(12) : sized(iv, 12, "iv"));
  const newKid = () => b64u.encode(random(16));

  function checkKid(kid) {
    if (typeof kid !== "string") throw new TypeError("a kid is a b64u string");
    sized(kid, 16, "kid");
    return kid;
  }

  function checkLabel(label) {
    if (typeof label !== "string" || !label) throw new TypeError("a label is a non-empty string");
    return utf8(label);
  }

  const gcm = (iv, aad) => ({ name: "AES-GCM", iv, additionalData: aad });

  // --- P-256 keys -------------------------------------------------------------------------------

  async function importPublic(raw) {
    const b = sized(raw, 65, "public key");
    if (b[0] !== 4) throw new TypeError("a public key is an uncompressed point");
    return subtle.importKey("raw", b, P256, true, []);
  }

  const importPrivate = (pkcs8, extractable) =>
    subtle.importKey("pkcs8", bin(pkcs8), P256, extractable, ["deriveBits"]);

  // The raw public point of an extractable private key (only for keys given as PKCS #8).
  async function publicOfPrivate(key) {
    const jwk = await subtle.exportKey("jwk", key);
    return concat(new Uint8Array([4]), b64u.decode(jwk.x), b64u.decode(jwk.y));
  }

  async function ecdh(privateKey, publicRaw) {
    const bits = await subtle.deriveBits({ name: "ECDH", public: await importPublic(publicRaw) },
      privateKey, 256);
    return new Uint8Array(bits);
  }

  const hkdfBase = (ikm) => subtle.importKey("raw", ikm, "HKDF", false, ["deriveKey", "deriveBits"]);

  const hkdfParams = (salt, info) => ({ name: "HKDF", hash: "SHA-256", salt, info });

  // --- 1.1 password wrapping --------------------------------------------------------------------

  async function kekSalt(username) {
    const input = concat(utf8("wegweiser/kek/v1"), new Uint8Array([0]), utf8(username.toLowerCase()));
    return new Uint8Array(await subtle.digest("SHA-256", input));
  }

  async function pbkdf2(username, password, iterations) {
    if (!Number.isInteger(iterations) || iterations < 1) throw new TypeError("bad iteration count");
    const base = await subtle.importKey("raw", utf8(password), "PBKDF2", false, ["deriveBits", "deriveKey"]);
    return [{ name: "PBKDF2", hash: "SHA-256", salt: await kekSalt(username), iterations }, base];
  }

  // The KEK as a non-extractable AES-GCM key that can only wrap and unwrap keys.
  async function deriveKek(username, password, iterations = ITERATIONS) {
    const [params, base] = await pbkdf2(username, password, iterations);
    return subtle.deriveKey(params, base, AES, false, ["wrapKey", "unwrapKey"]);
  }

  // The same KEK as bytes (for the test vectors).
  async function deriveKekBits(username, password, iterations = ITERATIONS) {
    const [params, base] = await pbkdf2(username, password, iterations);
    return new Uint8Array(await subtle.deriveBits(params, base, 256));
  }

  async function wrap(privateKey, wrappingKey, iv) {
    iv = ivOf(iv);
    const ct = await subtle.wrapKey("pkcs8", privateKey, wrappingKey, gcm(iv, IDENTITY_AAD));
    return { iv: b64u.encode(iv), ct: b64u.encode(ct) };
  }

  // --- 1.2 recovery key -------------------------------------------------------------------------

  function recoveryEncode(r) {
    const bytes = sized(r, 20, "recovery key");
    let out = "", bits = 0, value = 0;
    for (const b of bytes) {
      value = ((value << 8) | b) & 0xffff;
      bits += 8;
      while (bits >= 5) { out += B32[(value >>> (bits - 5)) & 31]; bits -= 5; }
    }
    return out.match(/.{4}/g).join("-");
  }

  // ASCII letters and digits only, upper-cased, 0→O 1→I 8→B; exactly 20 bytes or an error.
  function recoveryParse(text) {
    const kept = String(text).replace(/[^A-Za-z0-9]/g, "").toUpperCase()
      .replace(/0/g, "O").replace(/1/g, "I").replace(/8/g, "B");
    if (!/^[A-Z2-7]{32}$/.test(kept)) throw new TypeError("not a recovery key");
    const out = new Uint8Array(20);
    let bits = 0, value = 0, j = 0;
    for (const c of kept) {
      value = ((value << 5) | B32.indexOf(c)) & 0xffff;
      bits += 5;
      if (bits >= 8) { out[j++] = (value >>> (bits - 8)) & 255; bits -= 8; }
    }
    return out;
  }

  // {wrapKey: non-extractable AES-GCM key, wrapKeyRaw: Uint8Array, auth: b64u}.
  async function recoveryKeys(r) {
    const base = await hkdfBase(sized(r, 20, "recovery key"));
    const raw = new Uint8Array(await subtle.deriveBits(
      hkdfParams(new Uint8Array(), utf8("wegweiser/recovery/wrap/v1")), base, 256));
    const auth = await subtle.deriveBits(
      hkdfParams(new Uint8Array(), utf8("wegweiser/recovery/auth/v1")), base, 256);
    const wrapKey = await subtle.importKey("raw", raw, "AES-GCM", false, ["wrapKey", "unwrapKey"]);
    return { wrapKey, wrapKeyRaw: raw, auth: b64u.encode(auth) };
  }

  // --- 1.3 the bundle ---------------------------------------------------------------------------

  function checkBundle(bundle) {
    const ok = isObject(bundle) && bundle.v === VERSION && typeof bundle.public === "string" &&
      isObject(bundle.password) && isObject(bundle.recovery) && bundle.password.kdf === KDF &&
      Number.isInteger(bundle.password.iter) && bundle.password.iter >= 1;
    if (!ok) throw new TypeError("not a version 1 identity bundle");
  }

  // A non-extractable key cannot show its public half, so compare ECDH with a throwaway key: a
  // server that swapped the bundle's public key would otherwise get secrets sealed to its own key.
  async function checkMatches(privateKey, publicB64u) {
    const probe = await subtle.generateKey(P256, true, ["deriveBits"]);
    const probePublic = new Uint8Array(await subtle.exportKey("raw", probe.publicKey));
    const [a, b] = await Promise.all([ecdh(privateKey, probePublic), ecdh(probe.privateKey, publicB64u)]);
    if (!equal(a, b)) throw new Error("the private key does not match the bundle's public key");
  }

  async function unwrapPart(bundle, part, wrappingKey, extractable) {
    checkBundle(bundle);
    const w = bundle[part];
    const key = await subtle.unwrapKey("pkcs8", bin(w.ct), wrappingKey,
      gcm(sized(w.iv, 12, "iv"), IDENTITY_AAD), P256, extractable, ["deriveBits"]);
    await checkMatches(key, bundle.public);
    return key;
  }

  const unlockWithKek = (bundle, kek) => unwrapPart(bundle, "password", kek, false);

  async function passwordKek(bundle, username, password) {
    checkBundle(bundle);
    if (bundle.password.salt !== b64u.encode(await kekSalt(username))) {
      throw new Error("the bundle belongs to another username");
    }
    return deriveKek(username, password, bundle.password.iter);
  }

  async function unlockWithPassword(bundle, username, password) {
    return unlockWithKek(bundle, await passwordKek(bundle, username, password));
  }

  async function unlockWithRecovery(bundle, recoveryString) {
    const rec = await recoveryKeys(recoveryParse(recoveryString));
    return { privateKey: await unwrapPart(bundle, "recovery", rec.wrapKey, false), recoveryAuth: rec.auth };
  }

  async function passwordPart(privateKey, username, password, iterations, iv) {
    const kek = await deriveKek(username, password, iterations);
    const salt = b64u.encode(await kekSalt(username));
    return { kdf: KDF, iter: iterations, salt, ...(await wrap(privateKey, kek, iv)) };
  }

  // options (all for test vectors only): {iterations, privatePkcs8, ivPassword, ivRecovery, recovery}
  async function createIdentity(username, password, options = {}) {
    let key, publicRaw;
    if (options.privatePkcs8) {
      key = await importPrivate(options.privatePkcs8, true);
      publicRaw = await publicOfPrivate(key);
    } else {
      const pair = await subtle.generateKey(P256, true, ["deriveBits"]);
      key = pair.privateKey;
      publicRaw = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
    }
    const r = options.recovery ? sized(options.recovery, 20, "recovery key") : random(20);
    const rec = await recoveryKeys(r);
    const iterations = options.iterations ?? ITERATIONS;
    const bundle = {
      v: VERSION,
      public: b64u.encode(publicRaw),
      password: await passwordPart(key, username, password, iterations, options.ivPassword),
      recovery: await wrap(key, rec.wrapKey, options.ivRecovery),
    };
    // Unwrapping again checks the bundle and gives the non-extractable key to keep.
    const privateKey = await unwrapPart(bundle, "recovery", rec.wrapKey, false);
    const recoveryKey = recoveryEncode(r);
    return { bundle, recoveryKey, recoveryAuth: rec.auth, privateKey, publicRaw: bundle.public };
  }

  // A new password part for the same key, unlocked with {password} or {recoveryKey}; the recovery
  // part stays as it is. options: {iterations, iv}.
  async function rewrapForPassword(bundle, secret, username, newPassword, options = {}) {
    let key;
    if (secret && typeof secret.password === "string") {
      key = await unwrapPart(bundle, "password", await passwordKek(bundle, username, secret.password), true);
    } else if (secret && typeof secret.recoveryKey === "string") {
      const rec = await recoveryKeys(recoveryParse(secret.recoveryKey));
      key = await unwrapPart(bundle, "recovery", rec.wrapKey, true);
    } else {
      throw new TypeError("give {password} or {recoveryKey}");
    }
    const iterations = options.iterations ?? ITERATIONS;
    const part = await passwordPart(key, username, newPassword, iterations, options.iv);
    return { ...bundle, password: part };
  }

  // --- 2. sealing -------------------------------------------------------------------------------

  async function sealKey(shared, epk, recipient, label, usage) {
    return subtle.deriveKey(hkdfParams(concat(epk, recipient), label), await hkdfBase(shared), AES, false,
      [usage]);
  }

  // options (test vectors only): {ephemeralPkcs8, iv}
  async function seal(recipientPublic, secret, label, options = {}) {
    const recipient = sized(recipientPublic, 65, "public key");
    const info = checkLabel(label);
    let ephemeral, epk;
    if (options.ephemeralPkcs8) {
      ephemeral = await importPrivate(options.ephemeralPkcs8, true);
      epk = await publicOfPrivate(ephemeral);
    } else {
      const pair = await subtle.generateKey(P256, false, ["deriveBits"]);
      ephemeral = pair.privateKey;
      epk = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
    }
    const k = await sealKey(await ecdh(ephemeral, recipient), epk, recipient, info, "encrypt");
    const iv = ivOf(options.iv);
    const ct = await subtle.encrypt(gcm(iv, info), k, bin(secret));
    return { epk: b64u.encode(epk), iv: b64u.encode(iv), ct: b64u.encode(ct) };
  }

  // recipientPublic is the raw public key the secret was sealed to (part of the HKDF salt; a
  // non-extractable private key cannot give it). Returns the secret as a Uint8Array.
  async function open(privateKey, sealed, label, recipientPublic) {
    const info = checkLabel(label);
    const recipient = sized(recipientPublic, 65, "public key");
    if (!isObject(sealed)) throw new TypeError("not a sealed secret");
    const epk = sized(sealed.epk, 65, "epk");
    const k = await sealKey(await ecdh(privateKey, epk), epk, recipient, info, "decrypt");
    return new Uint8Array(await subtle.decrypt(gcm(sized(sealed.iv, 12, "iv"), info), k, bin(sealed.ct)));
  }

  const teamKeyLabel = (kid) => `wegweiser/team-key/v1|${checkKid(kid)}`;
  const conversationKeyLabel = (kid) => `wegweiser/conversation-key/v1|${checkKid(kid)}`;

  // --- 3./4. team and conversation keys ---------------------------------------------------------

  async function newTeamKey() {
    const pair = await subtle.generateKey(P256, true, ["deriveBits"]);
    return {
      kid: newKid(),
      publicRaw: b64u.encode(await subtle.exportKey("raw", pair.publicKey)),
      pkcs8: new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey)),
    };
  }

  const importTeamPrivate = (pkcs8) => importPrivate(pkcs8, false);
  const newConversationKey = async () => ({ kid: newKid(), raw: random(32) });
  const importConversationKey = (raw) =>
    subtle.importKey("raw", sized(raw, 32, "conversation key"), "AES-GCM", false, ["encrypt", "decrypt"]);
  const aesKey = (key) => (key instanceof CryptoKey ? key : importConversationKey(key));

  // --- 5. messages ------------------------------------------------------------------------------

  function checkClientId(clientId) {
    if (typeof clientId !== "string" || !CLIENT_ID.test(clientId)) {
      throw new TypeError("client_id must be a lower-case UUID");
    }
  }

  function messageAad(kid, clientId, role) {
    checkClientId(clientId);
    if (!ROLES.includes(role)) throw new TypeError("the role must be client or counselor");
    return utf8(`wegweiser/message/v1|${checkKid(kid)}|${clientId}|${role}`);
  }

  async function encryptMessage(key, kid, clientId, role, payload, options = {}) {
    if (!isObject(payload)) throw new TypeError("the payload is a JSON object");
    const aad = messageAad(kid, clientId, role);
    const iv = ivOf(options.iv);
    const ct = await subtle.encrypt(gcm(iv, aad), await aesKey(key), utf8(JSON.stringify(payload)));
    return { v: VERSION, key: kid, iv: b64u.encode(iv), ct: b64u.encode(ct) };
  }

  async function decryptMessage(key, envelope, clientId, role) {
    const fields = isObject(envelope) ? Object.keys(envelope).sort().join() : "";
    if (fields !== "ct,iv,key,v" || envelope.v !== VERSION) throw new TypeError("not a version 1 envelope");
    const aad = messageAad(envelope.key, clientId, role);
    const plain = await subtle.decrypt(gcm(sized(envelope.iv, 12, "iv"), aad), await aesKey(key),
      bin(envelope.ct));
    const payload = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(plain));
    if (!isObject(payload)) throw new TypeError("the payload is not a JSON object");
    return payload;
  }

  // --- 6. files ---------------------------------------------------------------------------------

  function fileAad(kid, clientId) {
    checkClientId(clientId);
    return utf8(`wegweiser/file/v1|${checkKid(kid)}|${clientId}`);
  }

  async function encryptFile(key, kid, clientId, data, options = {}) {
    const aad = fileAad(kid, clientId);
    const iv = ivOf(options.iv);
    return concat(iv, new Uint8Array(await subtle.encrypt(gcm(iv, aad), await aesKey(key), bin(data))));
  }

  async function decryptFile(key, kid, clientId, blob) {
    const aad = fileAad(kid, clientId);
    const b = bin(blob);
    if (b.length < 28) throw new TypeError("too short for an encrypted file");
    const plain = await subtle.decrypt(gcm(b.subarray(0, 12), aad), await aesKey(key), b.subarray(12));
    return new Uint8Array(plain);
  }

  // --- 7. safety code ---------------------------------------------------------------------------

  async function safetyCode(clientPublic, teamPublic) {
    const c = sized(clientPublic, 65, "public key"), t = sized(teamPublic, 65, "public key");
    await Promise.all([importPublic(c), importPublic(t)]);
    const d = new Uint8Array(await subtle.digest("SHA-256", concat(utf8("wegweiser/safety/v1"), c, t)));
    const groups = [];
    for (let i = 0; i < 4; i++) {
      let n = 0;
      for (let j = 0; j < 5; j++) n = n * 256 + d[5 * i + j];  // 40 bits: exact in a double
      groups.push(String(n % 100000).padStart(5, "0"));
    }
    return groups.join(" ");
  }

  // --- key store: IndexedDB keeps CryptoKeys by structured clone, still non-extractable ---------

  let database = null;

  function openDatabase() {
    if (!database) {
      database = new Promise((resolve, reject) => {
        const request = indexedDB.open("wegweiser-keys", 1);
        request.onupgradeneeded = () => request.result.createObjectStore("keys");
        request.onsuccess = () => {
          request.result.onversionchange = () => { request.result.close(); database = null; };
          resolve(request.result);
        };
        request.onerror = () => { database = null; reject(request.error); };
      });
    }
    return database;
  }

  async function transact(mode, action) {
    const db = await openDatabase();
    return new Promise((resolve, reject) => {
      const tx = db.transaction("keys", mode);
      const request = action(tx.objectStore("keys"));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  }

  const keyStore = {
    put: async (name, value) => { await transact("readwrite", (s) => s.put(value, name)); },
    get: (name) => transact("readonly", (s) => s.get(name)),
    delete: async (name) => { await transact("readwrite", (s) => s.delete(name)); },
    clear: async () => { await transact("readwrite", (s) => s.clear()); },
  };

  window.WegweiserE2E = Object.freeze({
    VERSION, ITERATIONS, b64u: Object.freeze(b64u), newKid, kekSalt, deriveKek, deriveKekBits, recoveryEncode, recoveryParse,
    recoveryKeys, createIdentity, unlockWithKek, unlockWithPassword, unlockWithRecovery, rewrapForPassword,
    seal, open, teamKeyLabel, conversationKeyLabel, newTeamKey, importTeamPrivate, newConversationKey,
    importConversationKey, encryptMessage, decryptMessage, encryptFile, decryptFile, safetyCode,
    keyStore: Object.freeze(keyStore),
  });
})();
