// The dashboard page: polls the dashboard server's /api/state once a second and renders it.
// Client keys and routes come from traffic, so they are only ever set as text, never as HTML.

const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);

// Every change needs this run's token. It comes in the fragment of the link the dashboard printed
// (#token=...), which the browser never sends to a server: keep it for this tab (a reload still works)
// and take it out of the address bar.
const TOKEN_KEY = 'dashboard-token';
function takeToken() {
  const fromLink = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}
const TOKEN = takeToken();

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === 'text') node.textContent = String(value);
    else if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

function say(text, isError = false) {
  const message = $('message');
  message.textContent = text;
  message.className = isError ? 'error' : '';
}

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json', 'x-dashboard-token': TOKEN },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${method} ${path}: HTTP ${response.status}`);
  return data;
}

function ago(ms) {
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return seconds < 60 ? `${seconds}s ago` : `${Math.round(seconds / 60)}m ago`;
}

function tokens(client) {
  if (client.limit === undefined || client.remaining === undefined) return el('span', { text: '—' });
  const share = client.limit > 0 ? client.remaining / client.limit : 0;
  const fill = el('i');
  // Through CSSOM, not a style attribute: the page's CSP allows no inline styles.
  fill.style.width = `${Math.round(share * 100)}%`;
  const bar = el('span', { class: `bar${share === 0 ? ' empty' : share < 0.25 ? ' low' : ''}` }, [fill]);
  return el('span', {}, [bar, el('span', { text: `${client.remaining} / ${client.limit}` })]);
}

function renderClients(clients) {
  const rows = clients.map((client) => {
    const multiplier = Number(client.multiplier);
    const reset = el('button', { type: 'button', class: 'secondary', text: 'Reset', dataset: { reset: client.key } });
    return el('tr', { dataset: { key: client.key } }, [
      el('td', { class: 'key', text: client.key }),
      el('td', { text: client.userType ?? '—', dataset: { field: 'userType' } }),
      el('td', { dataset: { field: 'tokens' } }, [tokens(client)]),
      el('td', {
        class: `mult${multiplier < 0.95 ? ' low' : multiplier > 1.05 ? ' high' : ''}`,
        text: `×${multiplier.toFixed(2)}`,
        dataset: { field: 'multiplier', value: String(multiplier) },
      }),
      el('td', { text: client.allowed ?? 0, dataset: { field: 'allowed' } }),
      el('td', { class: client.denied ? 'denied' : '', text: client.denied ?? 0, dataset: { field: 'denied' } }),
      el('td', { class: 'muted', text: client.lastSeen ? ago(client.lastSeen) : '—' }),
      el('td', {}, [reset]),
    ]);
  });
  $('clients').replaceChildren(...rows);
  $('no-clients').hidden = clients.length > 0;
  $('client-count').textContent = clients.length ? `(${clients.length})` : '';
}

function renderDenials(denials, instances) {
  // With several API instances, say which one refused: the client's budget is shared, the 429s come from both.
  const items = denials.map((denial) =>
    el('li', {
      dataset: { key: denial.key, instance: denial.instance ?? '' },
      text:
        `${new Date(denial.at).toLocaleTimeString()}  ${denial.key} (${denial.userType ?? '?'})  ${denial.method} ${denial.route}  cost ${denial.cost}` +
        (instances > 1 ? `  @${denial.instance}` : ''),
    }),
  );
  $('denials').replaceChildren(...items);
  $('no-denials').hidden = denials.length > 0;
}

function renderProfiles(profiles) {
  const rows = Object.entries(profiles).map(([userType, profile]) =>
    el('tr', { dataset: { userType } }, [
      el('td', { text: userType }),
      el('td', { text: profile.capacity, dataset: { field: 'capacity' } }),
      el('td', { text: profile.refillPerSecond, dataset: { field: 'refillPerSecond' } }),
      el('td', { text: profile.burst, dataset: { field: 'burst' } }),
    ]),
  );
  $('profiles').replaceChildren(...rows);
}

function renderCosts(costs, defaultCost) {
  const rows = costs.map((rule) =>
    el('tr', { dataset: { path: rule.path } }, [
      el('td', { class: 'key', text: rule.path }),
      el('td', { text: rule.method ?? 'any' }),
      el('td', { text: rule.cost, dataset: { field: 'cost' } }),
    ]),
  );
  rows.push(el('tr', {}, [el('td', { class: 'muted', text: 'everything else' }), el('td', { text: 'any' }), el('td', { text: defaultCost })]));
  $('costs').replaceChildren(...rows);
}

function renderTraffic(traffic) {
  for (const [scenario, run] of Object.entries(traffic)) {
    const line = $('traffic').querySelector(`[data-testid="traffic-${scenario}"]`);
    const button = $('traffic').querySelector(`[data-testid="run-${scenario}"]`);
    if (!line || !button) continue;
    button.disabled = run.running;
    line.textContent =
      run.sent === 0 && !run.running
        ? 'idle'
        : `${run.running ? 'running' : 'done'}: ${run.sent} sent, ${run.ok} ok, ${run.failed} failed, ${run.limited} × 429` +
          (run.error ? ` (${run.error})` : '');
    line.dataset.limited = String(run.limited);
    line.dataset.running = String(run.running);
  }
}

let apisShown = false;
async function refresh() {
  try {
    const state = await call('GET', '/api/state');
    const connection = $('connection');
    connection.textContent = state.error ? 'API unreachable' : 'live';
    connection.className = `pill ${state.error ? 'down' : 'live'}`;
    if (state.error) say(state.error, true);
    $('store').textContent = state.store ?? '?';
    if (!apisShown && state.apis) {
      $('apis').textContent = state.apis.join('  ·  ');
      apisShown = true;
    }
    renderClients(state.clients ?? []);
    renderDenials(state.denials ?? [], (state.apis ?? []).filter((api) => api.startsWith('adaptive-api')).length);
    renderProfiles(state.profiles ?? {});
    renderCosts(state.costs ?? [], state.defaultCost ?? 1);
    renderTraffic(state.traffic ?? {});
    document.body.dataset.updated = String(Date.now());
  } catch (error) {
    $('connection').textContent = 'dashboard unreachable';
    $('connection').className = 'pill down';
    say(String(error.message ?? error), true);
  }
}

async function action(run, done) {
  try {
    await run();
    say(done);
    await refresh();
  } catch (error) {
    say(String(error.message ?? error), true);
  }
}

function numberOrUndefined(value) {
  return value === '' ? undefined : Number(value);
}

document.addEventListener('DOMContentLoaded', () => {
  for (const scenario of ['normal', 'burst', 'abusive']) {
    $('traffic')
      .querySelector(`[data-testid="run-${scenario}"]`)
      .addEventListener('click', () => action(() => call('POST', `/api/traffic/${scenario}`, {}), `Started the ${scenario} client.`));
  }
  $('stop-traffic').addEventListener('click', () => action(() => call('POST', '/api/traffic/stop', {}), 'Stopped.'));

  $('clients').addEventListener('click', (event) => {
    const key = event.target?.dataset?.reset;
    if (!key) return;
    void action(() => call('POST', `/api/clients/${encodeURIComponent(key)}/reset`, {}), `Reset ${key}.`);
  });

  $('profile-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const patch = {};
    for (const field of ['capacity', 'refillPerSecond', 'burst']) {
      const value = numberOrUndefined(String(form.get(field) ?? ''));
      if (value !== undefined) patch[field] = value;
    }
    const userType = String(form.get('userType'));
    void action(() => call('PUT', `/api/profiles/${encodeURIComponent(userType)}`, patch), `Changed the ${userType} profile.`);
  });

  $('cost-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const path = String(form.get('path'));
    const cost = Number(form.get('cost'));
    void action(() => call('PUT', '/api/costs', { path, cost }), `Changed the cost of ${path}.`);
  });

  if (!TOKEN) say('Read only: open the link the dashboard printed at start to make changes.', true);
  void refresh();
  setInterval(refresh, POLL_MS);
});
