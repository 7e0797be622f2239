/**
 * The dashboard's only scripts, inlined with the page's CSP nonce. Everything
 * works without them (plain links and forms); they add live numbers and a
 * one-click local login.
 */

/** Marks the live script's requests: the page answers them with its live regions only. */
export const LIVE_REFRESH_HEADER = 'X-Live-Refresh'

/**
 * Every few seconds, asks the same URL for its `[data-live]` regions and swaps
 * them in, so scroll position and the search form stay as they are. The answer
 * is parsed in an inert <template>: no style or script in it ever applies. Skips
 * a turn while the tab is hidden or a form field has focus; reloads if the
 * session ended (the answer is then the login form, which has no live regions).
 */
export const LIVE_REFRESH_SCRIPT = `(() => {
  const stamp = document.getElementById('live-stamp');
  const clock = () => new Date().toISOString().slice(11, 19) + ' UTC';
  async function refresh() {
    const focused = document.activeElement;
    if (document.hidden || (focused && focused.matches('input, select, textarea'))) return;
    try {
      const response = await fetch(location.href, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { '${LIVE_REFRESH_HEADER}': '1' },
      });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      const template = document.createElement('template');
      template.innerHTML = await response.text();
      const fresh = template.content;
      if (!fresh.querySelector('[data-live]')) return location.reload();
      for (const region of document.querySelectorAll('[data-live]')) {
        const replacement = fresh.getElementById(region.id);
        if (replacement) region.replaceWith(document.importNode(replacement, true));
      }
      stamp.textContent = 'Live · ' + clock();
      stamp.dataset.state = 'live';
    } catch {
      stamp.textContent = 'Offline · retrying';
      stamp.dataset.state = 'stale';
    }
  }
  stamp.textContent = 'Live · ' + clock();
  setInterval(refresh, 5000);
})();`

/**
 * `npm start` prints `/admin#token=…`: the fragment never leaves the browser, so
 * the token is not in any request line or log. This fills the form from it,
 * drops it from the address bar and history, and submits. Also on `hashchange`:
 * pasting the link into a tab already showing this form changes only the fragment.
 */
export const TOKEN_FRAGMENT_SCRIPT = `(() => {
  function signInFromFragment() {
    const match = location.hash.match(/^#token=(.+)$/);
    if (!match) return;
    history.replaceState(null, '', location.pathname + location.search);
    const form = document.getElementById('login-form');
    form.elements.token.value = decodeURIComponent(match[1]);
    form.submit();
  }
  signInFromFragment();
  window.addEventListener('hashchange', signInFromFragment);
})();`
