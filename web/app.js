// The Tally dashboard: a single page that reads this node's public HTTP API (`/v1`) and shows
// chain health, blocks, entries, statements, charts, trades and an entry's audit trail.
//
// Plain modern JavaScript, no build step and no outside code: everything is built with the DOM
// (never from HTML strings, so text from the chain can never become markup) and charts are
// inline SVG drawn by the small functions below. Every API error is shown with its code and
// message.
"use strict";

// ------------------------------------------------------------------------------------------
// Limits and names.

/// Entries per page of the entries browser: a screenful, well under the API's own maximum.
const ENTRIES_PAGE = 50;
/// Blocks per page of the blocks browser (the API allows up to 100).
const BLOCKS_PAGE = 20;
/// Contracts per page of the trades list (the API allows up to 500).
const CONTRACTS_PAGE = 50;
/// How often the health view refreshes, in milliseconds: a few blocks at the demo's pace.
const HEALTH_REFRESH_MS = 3000;
/// Where the token is kept: for this tab only, gone when it closes.
const TOKEN_KEY = "tally.token";
/// The accounts the charts draw (see the default chart of accounts).
const REVENUE_ACCOUNT = "4000";
const BANK_ACCOUNT = "1000";

// ------------------------------------------------------------------------------------------
// DOM helpers.

/** An element with attributes (`on*` functions become listeners) and children (text or nodes). */
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "className") {
      element.className = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  return append(element, ...children);
}

/** Appends children (text, nodes, or nested lists of them), leaving out null, undefined and false. */
function append(element, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes and children. */
function s(tag, attributes, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    element.setAttribute(name, String(value));
  }
  return append(element, ...children);
}

function table(headers, rows, attributes) {
  return h("table", attributes || {},
    h("thead", {}, h("tr", {}, headers.map((header) =>
      typeof header === "string" ? h("th", {}, header) : h("th", { className: header.className }, header.text)))),
    h("tbody", {}, rows));
}

function num(value) {
  return h("td", { className: "num" }, value);
}

function facts(pairs) {
  return h("dl", { className: "facts" }, pairs.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

function time(ms) {
  return ms ? new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "";
}

function short(hex) {
  return hex && hex.length > 16 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : hex;
}

function link(route, text) {
  return h("a", { href: `#${route}` }, text);
}

// ------------------------------------------------------------------------------------------
// The API: every call carries the token, every refusal becomes an ApiError with its code.

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function request(path) {
  const headers = {};
  if (token()) headers.Authorization = `Bearer ${token()}`;
  let response;
  try {
    response = await fetch(path, { headers });
  } catch (error) {
    throw new ApiError(0, "network", `the node did not answer ${path}: ${error.message}`);
  }
  if (response.status === 401) {
    document.getElementById("auth-message").hidden = false;
  }
  if (!response.ok) {
    let code = `http_${response.status}`;
    let message = `${path} answered ${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error) {
        code = body.error.code;
        message = body.error.message;
      }
    } catch (_) {
      // Not a JSON error body: keep the status line.
    }
    throw new ApiError(response.status, code, message);
  }
  return response;
}

async function api(path) {
  const response = await request(path);
  return response.json();
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** The base path of a chain's endpoints. */
function chainBase(chainId) {
  return `/v1/chains/${encodeURIComponent(chainId)}`;
}

/** An API error (or any failure) as people see it: its code and message, never swallowed. */
function errorBox(error) {
  const code = error instanceof ApiError ? error.code : "error";
  const message = error instanceof ApiError ? error.message : String(error);
  return h("div", { className: "error", "data-code": code }, h("strong", {}, code), ": ", message);
}

// ------------------------------------------------------------------------------------------
// Sign-in: a token from the URL fragment (`#token=...`) or the sign-in box.

function takeTokenFromFragment() {
  const hash = location.hash.replace(/^#/, "");
  const params = new URLSearchParams(hash.startsWith("/") ? hash.split("?")[1] || "" : hash);
  const given = params.get("token");
  if (!given) return false;
  sessionStorage.setItem(TOKEN_KEY, given);
  params.delete("token");
  // The token leaves the address bar (and so the history and any shared link) at once.
  const route = hash.startsWith("/") ? hash.split("?")[0] : "/health";
  const rest = params.toString();
  history.replaceState(null, "", `${location.pathname}${location.search}#${route}${rest ? `?${rest}` : ""}`);
  return true;
}

function showSignedIn() {
  document.getElementById("sign-out").hidden = !token();
}

function setUpSignIn() {
  document.getElementById("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("token-input");
    if (input.value.trim()) {
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      input.value = "";
      document.getElementById("auth-message").hidden = true;
      showSignedIn();
      render();
    }
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignedIn();
    render();
  });
  showSignedIn();
}

// ------------------------------------------------------------------------------------------
// Charts: inline SVG.

const CHART = { width: 480, height: 220, left: 70, right: 12, top: 14, bottom: 36 };

/** A line chart of `points` ({label, value}); the value axis runs from the lowest to the highest. */
function lineChart(title, points, unit) {
  const { width, height, left, right, top, bottom } = CHART;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  if (points.length === 0) {
    append(svg, s("text", { x: left, y: height / 2 }, "no postings yet"));
    return svg;
  }
  const values = points.map((point) => point.value);
  let low = Math.min(0, ...values);
  let high = Math.max(0, ...values);
  if (low === high) high = low + 1;
  const x = (index) => left + (points.length === 1 ? (width - left - right) / 2
    : (index * (width - left - right)) / (points.length - 1));
  const y = (value) => top + ((high - value) * (height - top - bottom)) / (high - low);
  append(svg, 
    s("line", { class: "axis", x1: left, y1: y(0), x2: width - right, y2: y(0) }),
    s("line", { class: "axis", x1: left, y1: top, x2: left, y2: height - bottom }),
    s("text", { x: left - 6, y: y(high) + 4, "text-anchor": "end" }, formatNumber(high)),
    s("text", { x: left - 6, y: y(low) + 4, "text-anchor": "end" }, formatNumber(low)),
    s("text", { x: left, y: height - bottom + 16 }, points[0].label),
    s("text", { x: width - right, y: height - bottom + 16, "text-anchor": "end" }, points[points.length - 1].label),
    s("text", { x: left, y: height - 4 }, unit),
  );
  if (points.length === 1) {
    append(svg, s("circle", { class: "series", cx: x(0), cy: y(values[0]), r: 4 }));
  } else {
    append(svg, s("polyline", {
      class: "series",
      points: points.map((point, index) => `${x(index).toFixed(1)},${y(point.value).toFixed(1)}`).join(" "),
    }));
  }
  const last = points[points.length - 1];
  append(svg, s("text", { class: "value", x: width - right, y: top + 10, "text-anchor": "end" },
    `${last.label}: ${last.text}`));
  return svg;
}

/** A bar chart of `bars` ({label, value, text}). */
function barChart(title, bars, unit) {
  const { width, height, left, right, top, bottom } = CHART;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  const high = Math.max(1, ...bars.map((bar) => bar.value));
  const slot = (width - left - right) / Math.max(1, bars.length);
  const base = height - bottom;
  append(svg, 
    s("line", { class: "axis", x1: left, y1: base, x2: width - right, y2: base }),
    s("text", { x: left - 6, y: top + 4, "text-anchor": "end" }, formatNumber(high)),
    s("text", { x: left, y: height - 4 }, unit),
  );
  bars.forEach((bar, index) => {
    const barHeight = (Math.max(0, bar.value) * (base - top)) / high;
    const x = left + index * slot + slot * 0.15;
    append(svg, 
      s("rect", { class: "bar", x, y: base - barHeight, width: slot * 0.7, height: barHeight, "data-label": bar.label },
        s("title", {}, `${bar.label}: ${bar.text}`)),
      s("text", { x: x + slot * 0.35, y: base + 14, "text-anchor": "middle" }, bar.label),
      s("text", { class: "value", x: x + slot * 0.35, y: base - barHeight - 4, "text-anchor": "middle" }, bar.text),
    );
  });
  return svg;
}

function formatNumber(value) {
  return value.toLocaleString("en", { maximumFractionDigits: 0 });
}

// ------------------------------------------------------------------------------------------
// Views. Each takes the route's parameters and fills `root`; the router shows any error.

async function chains() {
  return api("/v1/chains");
}

/** Chain health: every chain this node hosts. */
async function healthView(root) {
  const list = await chains();
  append(root, h("h2", {}, "Chain health"));
  append(root, h("div", { className: "cards" }, list.map((chain) => {
    const lag = chain.finality_lag || {};
    const validators = chain.validator_set || [];
    return h("section", { className: "card", "data-chain": chain.chain_id },
      h("h3", {}, chain.chain_id, " ", h("span", { className: "muted" }, chain.consortium ? "consortium" : chain.enterprise)),
      facts([
        ["height", h("span", { className: "height" }, chain.height)],
        ["finalized tip", chain.finalized_tip],
        ["last block", time(chain.time_ms)],
        ["finality lag", lag.last_ms === null || lag.last_ms === undefined ? "no commit yet"
          : `last ${lag.last_ms} ms, median ${lag.p50_ms} ms over ${lag.samples} blocks`],
        ["entries", chain.entries],
        ["mempool", `${chain.mempool_entries} entries waiting`],
        ["balanced", h("span", { className: chain.balanced ? "good" : "bad" }, chain.balanced ? "yes" : "NO")],
        ["state root", h("span", { className: "mono", title: chain.state_root }, short(chain.state_root))],
        [`validators (${validators.length || chain.validators})`,
          h("ul", { className: "validators" }, validators.map((validator) =>
            h("li", {}, validator.name, " ", h("span", { className: "mono muted", title: validator.key }, short(validator.key)))))],
      ]),
      h("p", {}, link(`/blocks?chain=${encodeURIComponent(chain.chain_id)}`, "blocks")));
  })));
}

function chainSelector(list, current, onChange) {
  return h("label", {}, "chain ",
    h("select", { id: "chain-select", onchange: (event) => onChange(event.target.value) },
      list.map((chain) => h("option", { value: chain.chain_id, selected: chain.chain_id === current }, chain.chain_id))));
}

/** The blocks of one chain, newest first. */
async function blocksView(root, params) {
  const list = await chains();
  const chainId = params.get("chain") || list[0].chain_id;
  const page = await api(`${chainBase(chainId)}/blocks${query({ before: params.get("before"), limit: BLOCKS_PAGE })}`);
  append(root, h("h2", {}, "Blocks"),
    h("form", { className: "filters" }, chainSelector(list, chainId, (value) => go(`/blocks?chain=${encodeURIComponent(value)}`))),
    table(["height", "time", "digest", "parent", { text: "transactions", className: "num" },
      { text: "entries", className: "num" }, "own certificate"],
    page.blocks.map((block) => h("tr", { "data-height": block.height },
      num(block.height), h("td", {}, time(block.time_ms)),
      h("td", { className: "mono", title: block.digest }, short(block.digest)),
      h("td", { className: "mono", title: block.parent }, short(block.parent)),
      num(block.transactions), num(block.entries), h("td", {}, block.certified ? "yes" : "no"))),
    { id: "blocks" }),
  h("div", { className: "pager" },
    link(`/blocks?chain=${encodeURIComponent(chainId)}`, "newest"),
    page.next ? link(`/blocks?chain=${encodeURIComponent(chainId)}&before=${page.next}`, "older") : null));
}

function postingsText(entry) {
  return entry.postings.map((posting) => posting.debit
    ? `${posting.account} Dr ${posting.debit} ${posting.currency}`
    : `${posting.account} Cr ${posting.credit} ${posting.currency}`).join("\n");
}

function entriesTable(entries) {
  return table(["id", "date", "description", "postings", "references", { text: "height", className: "num" }],
    entries.map((committed) => h("tr", { "data-entry": committed.entry.id },
      h("td", {}, link(`/entry/${encodeURIComponent(committed.entry.id)}`, committed.entry.id)),
      h("td", {}, committed.entry.date),
      h("td", {}, committed.entry.description),
      h("td", { className: "mono postings" }, postingsText(committed.entry)),
      h("td", { className: "references" }, committed.entry.references.map((reference) => `${reference.kind}:${reference.value}`).join(", ")),
      num(committed.height))),
    { id: "entries" });
}

/** The entries of the home chain in commit order, filtered, a page at a time. */
async function entriesView(root, params) {
  const filters = {};
  for (const name of ["account", "from", "to", "reference"]) filters[name] = params.get(name) || "";
  const page = await api(`/v1/entries${query({ ...filters, after: params.get("after"), limit: ENTRIES_PAGE })}`);
  const form = h("form", { className: "filters", id: "entry-filters" },
    ["account", "from", "to", "reference"].map((name) => h("label", {}, name,
      h("input", { name, value: filters[name], placeholder: { account: "1000", from: "YYYY-MM-DD", to: "YYYY-MM-DD", reference: "trade:ID" }[name] }))),
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    go(`/entries${query(Object.fromEntries(data.entries()))}`);
  });
  const here = (after) => `/entries${query({ ...filters, after })}`;
  append(root, h("h2", {}, "Entries"), form, entriesTable(page.entries),
    h("div", { className: "pager" },
      link(here(""), "first page"),
      page.next !== null ? link(here(page.next), "next page") : h("span", { className: "muted" }, "end of the log")));
}

/** One entry: its postings, its author, its corrections and reversals, and its proof. */
async function entryView(root, params, id) {
  const history = await api(`/v1/entries/${encodeURIComponent(id)}/history`);
  const committed = history.entry;
  const entry = committed.entry;
  const status = h("span", { id: "proof-status", className: "muted" });
  append(root, h("h2", {}, "Entry ", h("span", { id: "entry-id", className: "mono" }, entry.id)),
    facts([
      ["date", entry.date],
      ["description", entry.description],
      ["block", committed.height],
      ["committed", time(committed.time_ms)],
      ["log index", committed.log_index],
      ["reversed by", committed.reversed_by ? link(`/entry/${encodeURIComponent(committed.reversed_by)}`, committed.reversed_by) : "—"],
      ["references", entry.references.map((reference) => {
        const text = `${reference.kind}:${reference.value}`;
        return reference.kind === "trade" || reference.kind === "contract"
          ? [link(`/trade/${encodeURIComponent(reference.value)}`, text), " "] : [text, " "];
      })],
    ]),
    h("h3", {}, "Postings"),
    table(["account", "currency", { text: "debit", className: "num" }, { text: "credit", className: "num" }],
      entry.postings.map((posting) => h("tr", {},
        h("td", {}, link(`/entries?account=${encodeURIComponent(posting.account)}`, posting.account)),
        h("td", {}, posting.currency), num(posting.debit || ""), num(posting.credit || "")))),
    h("h3", {}, "Author"),
    facts([
      ["name", h("span", { id: "author-name" }, history.author.name)],
      ["role", history.author.role],
      ["department", history.author.department],
      ["key", h("span", { className: "mono" }, history.author.key)],
    ]),
    h("h3", {}, "Audit history"),
    history.changes.length === 0 ? h("p", { className: "muted", id: "no-changes" }, "never corrected or reversed")
      : table(["change", "what", "entry", "by", "reason"], history.changes.map((change) => h("tr", {},
        h("td", {}, change.kind), h("td", {}, change.changes),
        h("td", {}, link(`/entry/${encodeURIComponent(change.entry.entry.id)}`, change.entry.entry.id)),
        h("td", {}, `${change.author.name} (${change.author.role})`), h("td", {}, change.reason))), { id: "changes" }),
    history.truncated ? h("p", { className: "muted" }, "more changes than shown") : null,
    h("h3", {}, "Proof"),
    h("p", {}, "A self-contained inclusion proof that ", h("code", {}, "tally proof check"), " verifies offline."),
    h("p", {}, h("button", { id: "download-proof", onclick: () => downloadProof(entry.id, status) }, "Download proof"), " ", status));
}

/** The proof of an entry, as bytes. */
async function fetchProof(id) {
  const response = await request(`/v1/proofs/entries/${encodeURIComponent(id)}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function downloadProof(id, status) {
  status.textContent = "fetching…";
  try {
    const bytes = await fetchProof(id);
    const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    const anchor = h("a", { href: url, download: `${id}.proof` });
    append(document.body, anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    status.textContent = `saved ${id}.proof (${bytes.length} bytes)`;
    status.dataset.bytes = String(bytes.length);
  } catch (error) {
    status.replaceChildren(errorBox(error));
  }
}

/** Trial balance, balance sheet and income statement, per currency or in one currency. */
async function reportsView(root, params) {
  const currency = params.get("currency") || "";
  const suffix = query({ currency });
  const [lines, sheet, income, all] = await Promise.all([
    api(`/v1/reports/trial-balance${suffix}`),
    api(`/v1/reports/balance-sheet${suffix}`),
    api(`/v1/reports/income-statement${suffix}`),
    currency ? api("/v1/reports/trial-balance") : null,
  ]);
  const currencies = [...new Set((all || lines).map((line) => line.currency))].sort();
  const select = h("select", { id: "currency-select", onchange: (event) => go(`/reports${query({ currency: event.target.value })}`) },
    h("option", { value: "" }, "each currency"),
    currencies.map((code) => h("option", { value: code, selected: code === currency }, `in ${code}`)));
  append(root, h("h2", {}, "Statements"),
    h("form", { className: "filters" }, h("label", {}, "currency", select)),
    h("h3", {}, "Trial balance"),
    table(["account", "currency", { text: "debit", className: "num" }, { text: "credit", className: "num" }],
      lines.map((line) => h("tr", { "data-account": line.account, "data-currency": line.currency },
        h("td", {}, link(`/entries?account=${encodeURIComponent(line.account)}`, line.account)),
        h("td", {}, line.currency), num(line.debit), num(line.credit))),
      { id: "trial-balance" }));
  for (const section of sheet.sections) {
    const rows = (name, lines, total) => [
      h("tr", {}, h("th", { colspan: 2 }, name)),
      lines.map((line) => h("tr", {}, h("td", {}, `${line.account} ${line.name}`), num(line.amount))),
      h("tr", { className: "total" }, h("td", {}, `total ${name}`), num(total)),
    ];
    append(root, h("h3", {}, `Balance sheet (${section.currency})`),
      table(["", { text: section.currency, className: "num" }], [
        rows("assets", section.assets, section.total_assets),
        rows("liabilities", section.liabilities, section.total_liabilities),
        rows("equity", section.equity, section.total_equity),
        h("tr", {}, h("td", {}, "result"), num(section.result)),
        h("tr", { className: "total" }, h("td", {}, "liabilities, equity and result"), num(section.total_liabilities_and_equity)),
      ], { className: "balance-sheet" }),
      h("p", { className: section.balanced ? "good" : "bad" }, section.balanced ? "balanced" : "NOT balanced"));
  }
  for (const section of income.sections) {
    append(root, h("h3", {}, `Income statement (${section.currency})`),
      table(["", { text: section.currency, className: "num" }], [
        section.revenue.map((line) => h("tr", {}, h("td", {}, `${line.account} ${line.name}`), num(line.amount))),
        h("tr", { className: "total" }, h("td", {}, "total revenue"), num(section.total_revenue)),
        section.expenses.map((line) => h("tr", {}, h("td", {}, `${line.account} ${line.name}`), num(line.amount))),
        h("tr", { className: "total" }, h("td", {}, "total expenses"), num(section.total_expenses)),
        h("tr", { className: "total" }, h("td", {}, "result"), num(section.result)),
      ], { className: "income-statement" }));
  }
}

/** Revenue and cash over time, and receivables by age. */
async function chartsView(root, params) {
  const interval = params.get("interval") || "day";
  const lines = await api("/v1/reports/trial-balance");
  const currencies = [...new Set(lines.map((line) => line.currency))].sort();
  const currency = params.get("currency") || currencies[0] || "EUR";
  const form = h("form", { className: "filters" },
    h("label", {}, "currency", h("select", { id: "chart-currency", onchange: (event) => go(`/charts${query({ currency: event.target.value, interval })}`) },
      currencies.map((code) => h("option", { value: code, selected: code === currency }, code)))),
    h("label", {}, "interval", h("select", { id: "chart-interval", onchange: (event) => go(`/charts${query({ currency, interval: event.target.value })}`) },
      ["day", "week", "month"].map((name) => h("option", { value: name, selected: name === interval }, name)))));
  append(root, h("h2", {}, "Charts"), form);
  const grid = h("div", { className: "charts" });
  append(root, grid);
  const panel = (id, title) => {
    const section = h("section", { id }, h("h3", {}, title));
    append(grid, section);
    return section;
  };
  const revenue = panel("revenue-chart", `Revenue (${REVENUE_ACCOUNT}) by ${interval}`);
  const cash = panel("cash-chart", `Bank (${BANK_ACCOUNT}) by ${interval}`);
  const ageing = panel("ageing-chart", "Receivables by age");
  // Each chart fails on its own: an error in one shows there and leaves the others drawn.
  await Promise.all([
    seriesChart(revenue, REVENUE_ACCOUNT, currency, interval),
    seriesChart(cash, BANK_ACCOUNT, currency, interval),
    ageingChart(ageing, currency),
  ]);
}

async function seriesChart(panel, account, currency, interval) {
  try {
    const series = await api(`/v1/reports/series${query({ account, currency, interval })}`);
    const points = series.points.map((point) => ({ label: point.date, value: Number(point.balance), text: point.balance }));
    append(panel, lineChart(`${series.name} by ${interval}`, points, `${series.name}, ${series.currency}`),
      h("p", { className: "muted" }, `${points.length} ${points.length === 1 ? "point" : "points"} up to block ${series.height}`));
    panel.dataset.last = series.points.length ? series.points[series.points.length - 1].balance : "";
  } catch (error) {
    append(panel, errorBox(error));
  }
}

async function ageingChart(panel, currency) {
  try {
    const ageing = await api("/v1/reports/ageing?side=receivable");
    const buckets = [["0-30", "days_0_30"], ["31-60", "days_31_60"], ["61-90", "days_61_90"], ["over 90", "days_over_90"]];
    const lines = ageing.partners.filter((line) => line.currency === currency);
    const bars = buckets.map(([label, field]) => {
      const value = lines.reduce((total, line) => total + Number(line[field]), 0);
      return { label, value, text: value.toFixed(2) };
    });
    append(panel, barChart("Receivables by age", bars, `${currency}, aged on ${ageing.aged_on}`),
      table(["partner", { text: "0-30", className: "num" }, { text: "31-60", className: "num" },
        { text: "61-90", className: "num" }, { text: "over 90", className: "num" }, { text: "total", className: "num" }],
      lines.map((line) => h("tr", {}, h("td", {}, line.partner), num(line.days_0_30), num(line.days_31_60),
        num(line.days_61_90), num(line.days_over_90), num(line.total)))));
  } catch (error) {
    append(panel, errorBox(error));
  }
}

/** The consortium chain this node hosts, or an error saying it hosts none. */
async function consortiumChain() {
  const list = await chains();
  const consortium = list.find((chain) => chain.consortium);
  if (!consortium) {
    throw new ApiError(404, "not_a_consortium_chain", "this node hosts no consortium chain, so it tracks no trades");
  }
  return consortium;
}

/** Contracts on the consortium chain, filtered, a page at a time. */
async function tradesView(root, params) {
  const consortium = await consortiumChain();
  const filters = {};
  for (const name of ["party", "kind", "state"]) filters[name] = params.get(name) || "";
  const page = await api(`${chainBase(consortium.chain_id)}/contracts${query({ ...filters, after: params.get("after"), limit: CONTRACTS_PAGE })}`);
  const form = h("form", { className: "filters", id: "trade-filters" },
    h("label", {}, "party", h("input", { name: "party", value: filters.party, placeholder: "merchant" })),
    h("label", {}, "kind", h("select", { name: "kind" }, ["", "trade", "shipping", "commission"].map((kind) =>
      h("option", { value: kind, selected: kind === filters.kind }, kind || "any")))),
    h("label", {}, "state", h("select", { name: "state" },
      ["", "proposed", "confirmed", "accepted", "shipped", "delivered", "invoiced", "settled", "cancelled"].map((state) =>
        h("option", { value: state, selected: state === filters.state }, state || "any")))),
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    go(`/trades${query(Object.fromEntries(new FormData(form).entries()))}`);
  });
  const here = (after) => `/trades${query({ ...filters, after })}`;
  append(root, h("h2", {}, "Trades on ", consortium.chain_id), form,
    table(["contract", "kind", "state", "parties", { text: "amount", className: "num" }, "trade"],
      page.contracts.map((contract) => h("tr", { "data-contract": contract.id },
        h("td", {}, link(`/trade/${encodeURIComponent(contract.id)}`, contract.id)),
        h("td", {}, contract.kind), h("td", { className: "state" }, contract.state),
        h("td", {}, contract.parties.join(" → ")), num(`${contract.amount} ${contract.currency}`),
        h("td", {}, contract.trade ? link(`/trade/${encodeURIComponent(contract.trade)}`, contract.trade) : ""))),
      { id: "contracts" }),
    h("div", { className: "pager" }, link(here(""), "first page"),
      page.next ? link(here(page.next), "next page") : h("span", { className: "muted" }, "no more contracts")));
}

/** One contract: its events on the consortium chain and its entries in this enterprise's books. */
async function tradeView(root, params, id) {
  const consortium = await consortiumChain();
  const detail = await api(`${chainBase(consortium.chain_id)}/contracts/${encodeURIComponent(id)}`);
  const contract = detail.contract;
  // The bookkeeper references a trade's entries with `trade:ID`, and a service contract's with
  // `contract:ID` (and its trade's).
  const reference = contract.kind === "trade" ? `trade:${contract.id}` : `contract:${contract.id}`;
  append(root, h("h2", {}, `${contract.kind} `, h("span", { className: "mono", id: "contract-id" }, contract.id)),
    facts([
      ["state", h("span", { id: "contract-state" }, contract.state)],
      ["parties", contract.parties.join(" → ")],
      ["amount", `${contract.amount} ${contract.currency}`],
      ["trade", contract.trade ? link(`/trade/${encodeURIComponent(contract.trade)}`, contract.trade) : "—"],
    ]),
    h("h3", {}, "Events on the consortium chain"),
    table(["height", "time", "event", "details", "signed by", "state after", "transaction"],
      detail.events.map((event) => h("tr", { "data-event": event.event },
        num(event.height), h("td", {}, time(event.time_ms)), h("td", {}, event.event),
        h("td", {}, Object.entries(event.details).map(([name, value]) => `${name} ${value}`).join(", ")),
        h("td", {}, event.member ? `${event.member} (${event.enterprise}, ${event.role})` : short(event.signer)),
        h("td", {}, event.state || ""), h("td", { className: "mono", title: event.tx_hash }, short(event.tx_hash)))),
      { id: "events" }),
    detail.events_complete ? null : h("p", { className: "muted" }, "older events were not searched"));
  const booked = h("section", { id: "booked" }, h("h3", {}, "Booked in these books (", reference, ")"));
  append(root, booked);
  try {
    const page = await api(`/v1/entries${query({ reference, limit: ENTRIES_PAGE })}`);
    append(booked, page.entries.length ? entriesTable(page.entries)
      : h("p", { className: "muted" }, "nothing booked here: this enterprise is not a party, or its bookkeeper has not caught up"));
  } catch (error) {
    append(booked, errorBox(error));
  }
}

// ------------------------------------------------------------------------------------------
// The router: `#/view/ID?params`.

const VIEWS = {
  health: healthView,
  blocks: blocksView,
  entries: entriesView,
  entry: entryView,
  reports: reportsView,
  charts: chartsView,
  trades: tradesView,
  trade: tradeView,
};

let renderTicket = 0;
let refreshTimer = null;

function go(route) {
  location.hash = `#${route}`;
}

function parseRoute() {
  const hash = location.hash.replace(/^#/, "") || "/health";
  const [path, search] = hash.split("?");
  const [, view, ...rest] = path.split("/");
  return { view: view || "health", id: rest.length ? decodeURIComponent(rest.join("/")) : null, params: new URLSearchParams(search || "") };
}

async function render() {
  const ticket = ++renderTicket;
  clearInterval(refreshTimer);
  const { view, id, params } = parseRoute();
  for (const anchor of document.querySelectorAll("nav a")) {
    anchor.classList.toggle("active", anchor.dataset.view === view || anchor.dataset.view === `${view}s`);
  }
  const root = h("div", { "data-view": view });
  const show = VIEWS[view];
  try {
    if (!show) throw new ApiError(404, "not_found", `no view '${view}'; see the links above`);
    await show(root, params, id);
  } catch (error) {
    append(root, errorBox(error));
  }
  // A newer navigation started while this one waited for the API: let it win.
  if (ticket !== renderTicket) return;
  root.dataset.ready = "true";
  document.getElementById("view").replaceChildren(root);
  if (view === "health") {
    refreshTimer = setInterval(() => { if (!document.hidden) render(); }, HEALTH_REFRESH_MS);
  }
}

async function start() {
  takeTokenFromFragment();
  setUpSignIn();
  // A link with a new token (`#token=...`) signs in again without a reload.
  window.addEventListener("hashchange", () => {
    if (takeTokenFromFragment()) {
      document.getElementById("auth-message").hidden = true;
      showSignedIn();
    }
    render();
  });
  try {
    const list = await chains();
    if (list.length) document.getElementById("node-name").textContent = `${list[0].enterprise} · ${list.map((chain) => chain.chain_id).join(", ")}`;
  } catch (_) {
    // The view below shows the same error with its code.
  }
  render();
}

// What the browser test and curious people may call from the console.
window.tallyDashboard = { api, fetchProof, render };

start();
