// Passkeys in the console. WebAuthn needs JavaScript, so these buttons
// appear only when it runs; every other form of the console works without
// it. The browser's own JSON helpers (PublicKeyCredential.parse…FromJSON,
// credential.toJSON) carry the ceremonies to and from the API.
"use strict";

async function rosterPost(path, body) {
  const res = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json, application/problem+json" },
    body: JSON.stringify(body || {}),
  });
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error((data && data.detail) || res.statusText);
  return data;
}

// rosterGet runs a passkey ceremony: begin (with beginBody) gives the
// options, the browser asks the authenticator, finish takes its answer
// (with finishBody).
async function rosterGet(begin, finish, beginBody, finishBody) {
  const c = await rosterPost(begin, beginBody);
  const cred = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(c.options.publicKey) });
  return rosterPost(finish, Object.assign({ ceremony_id: c.ceremony_id, credential: cred.toJSON() }, finishBody));
}

const rosterPasskeyActions = {
  async add(el) {
    const form = el.closest("form");
    const c = await rosterPost("/v1/me/passkeys/registrations", { current_password: form.elements.passkey_password.value });
    const cred = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(c.options.publicKey) });
    await rosterPost("/v1/me/passkeys", { ceremony_id: c.ceremony_id, name: form.elements.name.value, credential: cred.toJSON() });
    location.assign("/ui/account/security?notice=passkey-added");
  },
  async signIn(el) {
    await rosterGet("/v1/sessions/passkey/challenges", "/v1/sessions/passkey", {}, { cookie: true });
    location.assign(el.dataset.next || "/ui/account");
  },
  async secondStep(el) {
    await rosterGet("/v1/sessions/mfa/passkey/challenges", "/v1/sessions/mfa/passkey",
      { mfa_token: el.dataset.token }, { mfa_token: el.dataset.token, cookie: true });
    location.assign(el.dataset.next || "/ui/account");
  },
  async stepUp(el) {
    await rosterGet("/v1/me/mfa/verify/passkey/challenges", "/v1/me/mfa/verify/passkey", {}, {});
    location.assign(el.dataset.next || "/ui/account/security");
  },
};

document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("passkey-status");
  for (const el of document.querySelectorAll("[data-passkey]")) {
    if (!window.PublicKeyCredential) {
      if (status) status.textContent = "This browser has no passkey support.";
      continue;
    }
    el.hidden = false;
    el.addEventListener("click", async (ev) => {
      ev.preventDefault();
      if (status) status.textContent = "Waiting for your passkey…";
      try {
        await rosterPasskeyActions[el.dataset.passkey](el);
      } catch (err) {
        if (status) status.textContent = "The passkey did not work: " + err.message;
      }
    });
  }
});
