// imprimatur serve --team: sign in, and sign a decision, with the reviewer's passkey
// (navigator.credentials.get, user verification required). The server issues every challenge
// and checks every answer; this script only carries them.
(() => {
  const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  const post = (url, fields) => fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  // A refusal is an HTML page whose reason is in `.refusal`.
  const reason = async (r) => {
    const text = await r.text();
    const p = new DOMParser().parseFromString(text, 'text/html').querySelector('.refusal');
    return p ? p.textContent : `${r.status} ${r.statusText}`;
  };
  const say = (el, text) => { if (el) { el.textContent = text; el.hidden = false; } };
  const answer = (c) => ({
    credential_id: enc(c.rawId),
    authenticator_data: enc(c.response.authenticatorData),
    client_data_json: enc(c.response.clientDataJSON),
    signature: enc(c.response.signature),
  });

  const signin = document.getElementById('signin');
  if (signin) {
    signin.addEventListener('click', async () => {
      const status = document.getElementById('signin-status');
      const { token, next } = signin.dataset;
      signin.disabled = true;
      try {
        let r = await post('/_signin/challenge', { token });
        if (!r.ok) return say(status, await reason(r));
        const c = await r.json();
        const cred = await navigator.credentials.get({ publicKey: {
          challenge: dec(c.challenge), rpId: c.rpId, userVerification: 'required',
          allowCredentials: [], timeout: 120000,
        } });
        r = await post('/_signin', { token, next, ...answer(cred) });
        if (!r.ok) return say(status, await reason(r));
        location.assign((await r.json()).next);
      } catch (e) {
        say(status, `Not signed in: ${e.message}`);
      } finally {
        signin.disabled = false;
      }
    });
  }

  document.addEventListener('submit', async (e) => {
    const form = e.target.closest('form.passkey');
    if (!form) return;
    e.preventDefault();
    const status = document.querySelector('.decide-status');
    const button = form.querySelector('button[type=submit]');
    const fields = Object.fromEntries(new FormData(form));
    // Not `form.action`: the form has an input named "action", which that would name.
    const target = new URL(form.getAttribute('action'), location.href).href;
    button.disabled = true;
    try {
      let r = await post(`${target}?challenge`, fields);
      if (!r.ok) return say(status, await reason(r));
      const c = await r.json();
      const cred = await navigator.credentials.get({ publicKey: {
        challenge: dec(c.challenge), rpId: c.rpId, userVerification: 'required',
        allowCredentials: [{ type: 'public-key', id: dec(c.credentialId) }], timeout: 120000,
      } });
      r = await post(target, { token: fields.token, version: fields.version, id: c.id, ...answer(cred) });
      if (!r.ok) return say(status, await reason(r));
      location.assign(r.url);
    } catch (err) {
      say(status, `Nothing was signed: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  });
})();
