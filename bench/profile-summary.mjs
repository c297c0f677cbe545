// Turns V8 CPU profiles (.cpuprofile, as written by the inspector or `node --cpu-prof`)
// into per-request CPU figures of the server's main thread, so two routes can be
// compared: "where does ours spend time that the ceiling does not".
//
// Two views:
//  - categories: each sample's time goes to the nearest frame that has a script URL
//    (natives such as better-sqlite3's `run`, `JSON.parse` or hashing are charged
//    to the JS code that called them), grouped by where that code lives
//    (a dist/ file, a node_modules package, a node: internal module, GC, ...).
//  - inclusive: for each dist/ (library) function, the time of the samples that
//    have it on the stack (each function counted once per sample). Async functions
//    appear once per resumed segment, so this is a lower bound for them.
//
// Usage as a CLI: node bench/profile-summary.mjs <requests> file.cpuprofile [...]
import { readFileSync } from 'node:fs';

const SQLITE = 'SQLite statements (better-sqlite3 natives)';
const SQLITE_NATIVES = new Set(['run', 'get', 'all', 'iterate', 'exec']);
const SQLITE_CALLERS = /^(lib: stores\/|pkg: better-sqlite3|bench\/(server|ceiling)\.mjs)/;

/** Coarse groups of categories, for the headline comparison. */
const GROUPS = [
  ['SQLite statements (native)', (c) => c === SQLITE],
  [
    'Fetch API bridge (Request/Response/Headers, streams, URL, body reading)',
    (c) =>
      /^node: (undici|web streams|worker\/js_transferable|URL|EventTarget)/.test(c) ||
      /^lib: (adapters\/|http\/(read-body|response-parts))/.test(c),
  ],
  ['JWT signing and hashing (jose, node:crypto)', (c) => c === 'pkg: jose' || c.startsWith('node: crypto')],
  ['library logic (other src/ modules)', (c) => c.startsWith('lib: ')],
  ['ceiling handler code (bench/ceiling.mjs)', (c) => c.startsWith('bench/')],
  [
    'framework (Fastify), HTTP parsing, sockets',
    (c) =>
      /^pkg: (fastify|find-my-way|secure-json-parse|light-my-request|avvio|toad-cache|@fastify\/)/.test(c) ||
      /^node: (http|_http|net|stream_base_commons)/.test(c),
  ],
  ['GC', (c) => c === 'GC'],
  ['other (promises, timers, buffers, natives not attributed)', () => true],
];

/** The library module of a script path (`stores/sqlite` for .../dist/stores/sqlite.js), or null. */
function libraryFile(path) {
  if (path.includes('/node_modules/')) return null;
  const match = path.match(/\/dist\/(.+)\.js$/);
  return match ? match[1] : null;
}

/** Where a frame's code lives, as a short label. */
export function categoryOf(url, functionName) {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return '(program: native, not attributed)';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(root)') return '(root)';
    return null; // a native function: charged to its caller
  }
  const path = url.replace(/^file:\/\//, '');
  const pkg = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return `pkg: ${pkg[1]}`;
  const dist = libraryFile(path);
  if (dist) return `lib: ${dist}`;
  if (path.endsWith('/bench/ceiling.mjs')) return 'bench/ceiling.mjs (ceiling handler)';
  if (path.endsWith('/bench/server.mjs')) return 'bench/server.mjs (bench setup)';
  if (path.startsWith('node:internal/deps/undici')) return 'node: undici (Fetch Request/Response/Headers)';
  if (path.startsWith('node:internal/webstreams')) return 'node: web streams';
  if (path.startsWith('node:internal/url') || path === 'node:url') return 'node: URL';
  if (path.startsWith('node:internal/crypto') || path === 'node:crypto') return 'node: crypto';
  if (path.startsWith('node:internal/event_target') || path.startsWith('node:internal/abort_controller')) {
    return 'node: EventTarget/AbortSignal';
  }
  if (
    path.startsWith('node:internal/http') ||
    path === 'node:_http_server' ||
    path === 'node:_http_outgoing' ||
    path === 'node:_http_common'
  ) {
    return 'node: http';
  }
  if (path.startsWith('node:internal/streams') || path === 'node:stream' || path.startsWith('node:net') || path === 'node:net')
    return 'node: net/streams';
  if (path.startsWith('node:internal/process/task_queues') || path.startsWith('node:internal/timers')) return 'node: task queues/timers';
  if (path.startsWith('node:')) return `node: ${path.slice(5).replace(/^internal\//, '')}`;
  return path;
}

/**
 * Per-request microseconds of one or more profiles of the same route.
 * @param {object[]} profiles parsed .cpuprofile objects
 * @param {number} requests requests completed while they were recorded
 */
export function summarizeProfiles(profiles, requests) {
  const categories = new Map();
  const inclusive = new Map();
  let busyUs = 0;
  let wallUs = 0;
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const parent = new Map();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    // Category of a node: its own, or its nearest ancestor's when it is native.
    const categoryCache = new Map();
    const categoryOfNode = (id) => {
      if (categoryCache.has(id)) return categoryCache.get(id);
      const node = byId.get(id);
      let category = categoryOf(node.callFrame.url, node.callFrame.functionName);
      if (category === null) {
        const up = parent.get(id);
        category = up === undefined ? '(native, no caller)' : categoryOfNode(up);
        if (category === '(root)') category = `native: ${node.callFrame.functionName}`;
        // better-sqlite3's statement methods: SQLite's own work, whoever called it.
        else if (SQLITE_NATIVES.has(node.callFrame.functionName) && SQLITE_CALLERS.test(category)) category = SQLITE;
      }
      categoryCache.set(id, category);
      return category;
    };
    // dist/ functions on the stack of a node, once each.
    const libStackCache = new Map();
    const libStack = (id) => {
      if (libStackCache.has(id)) return libStackCache.get(id);
      const names = new Set();
      for (let at = id; at !== undefined; at = parent.get(at)) {
        const { url, functionName, lineNumber } = byId.get(at).callFrame;
        const dist = libraryFile(url.replace(/^file:\/\//, ''));
        if (dist) names.add(`${functionName || '(anonymous)'} (src/${dist}.ts, js line ${lineNumber + 1})`);
      }
      libStackCache.set(id, names);
      return names;
    };
    wallUs += profile.endTime - profile.startTime;
    const { samples, timeDeltas } = profile;
    for (let i = 0; i < samples.length; i++) {
      // timeDeltas[i] is the time before sample i; the sample's own duration is the next delta.
      const delta = timeDeltas[i + 1] ?? 0;
      if (delta <= 0) continue;
      const category = categoryOfNode(samples[i]);
      if (category === '(idle)') continue;
      busyUs += delta;
      categories.set(category, (categories.get(category) ?? 0) + delta);
      for (const name of libStack(samples[i])) inclusive.set(name, (inclusive.get(name) ?? 0) + delta);
    }
  }
  const perRequest = (map) =>
    [...map.entries()].map(([name, us]) => ({ name, usPerRequest: us / requests })).sort((a, b) => b.usPerRequest - a.usPerRequest);
  return {
    requests,
    wallSeconds: wallUs / 1e6,
    busyShare: wallUs > 0 ? busyUs / wallUs : 0,
    busyUsPerRequest: busyUs / requests,
    categories: perRequest(categories),
    libraryInclusive: perRequest(inclusive),
  };
}

/** Per-request µs of `summary` in the category `name` (0 when absent). */
function usOf(summary, name) {
  return summary.categories.find((row) => row.name === name)?.usPerRequest ?? 0;
}

const fmt = (n) => n.toFixed(1);
const signed = (n) => `${n >= 0 ? '+' : ''}${fmt(n)}`;

/** Headline table: the categories folded into a few groups, side by side (markdown). */
export function groupsMarkdown(ours, ceiling) {
  const totals = new Map(GROUPS.map(([name]) => [name, { ours: 0, ceiling: 0 }]));
  const names = new Set([...ours.categories, ...ceiling.categories].map((row) => row.name));
  for (const name of names) {
    const [group] = GROUPS.find(([, test]) => test(name));
    totals.get(group).ours += usOf(ours, name);
    totals.get(group).ceiling += usOf(ceiling, name);
  }
  const lines = ['| main-thread time per request | ours µs | ceiling µs | ours − ceiling |', '|---|---:|---:|---:|'];
  for (const [name, row] of totals) {
    if (row.ours === 0 && row.ceiling === 0) continue;
    lines.push(`| ${name} | ${fmt(row.ours)} | ${fmt(row.ceiling)} | ${signed(row.ours - row.ceiling)} |`);
  }
  lines.push(
    `| **total** | **${fmt(ours.busyUsPerRequest)}** | **${fmt(ceiling.busyUsPerRequest)}** | **${signed(ours.busyUsPerRequest - ceiling.busyUsPerRequest)}** |`,
  );
  return lines.join('\n');
}

/** Detailed side-by-side category table, largest extra cost of ours first (markdown). */
export function compareMarkdown(ours, ceiling, { minUs = 1.5 } = {}) {
  const names = new Set([...ours.categories, ...ceiling.categories].map((row) => row.name));
  const rows = [...names]
    .map((name) => ({ name, ours: usOf(ours, name), ceiling: usOf(ceiling, name) }))
    .sort((a, b) => b.ours - b.ceiling - (a.ours - a.ceiling));
  const shown = rows.filter((row) => Math.max(row.ours, row.ceiling) >= minUs);
  const rest = rows.filter((row) => Math.max(row.ours, row.ceiling) < minUs);
  const lines = [
    '| where (self time; a native call is charged to its JS caller) | ours µs/req | ceiling µs/req | ours − ceiling |',
    '|---|---:|---:|---:|',
  ];
  for (const row of shown) lines.push(`| ${row.name} | ${fmt(row.ours)} | ${fmt(row.ceiling)} | ${signed(row.ours - row.ceiling)} |`);
  if (rest.length > 0) {
    const sum = (key) => rest.reduce((acc, row) => acc + row[key], 0);
    lines.push(
      `| (${rest.length} smaller rows) | ${fmt(sum('ours'))} | ${fmt(sum('ceiling'))} | ${signed(sum('ours') - sum('ceiling'))} |`,
    );
  }
  return lines.join('\n');
}

/** The library functions with the most inclusive time (markdown). */
export function libraryMarkdown(summary, { top = 15 } = {}) {
  const lines = ['| library function (inclusive, sync segments) | µs/req |', '|---|---:|'];
  for (const row of summary.libraryInclusive.slice(0, top)) lines.push(`| ${row.name} | ${row.usPerRequest.toFixed(1)} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [requests, ...files] = process.argv.slice(2);
  if (!requests || files.length === 0) {
    console.error('usage: node bench/profile-summary.mjs <requests> file.cpuprofile [...]');
    process.exit(2);
  }
  const summary = summarizeProfiles(
    files.map((file) => JSON.parse(readFileSync(file, 'utf8'))),
    Number(requests),
  );
  console.log(
    `busy ${(summary.busyShare * 100).toFixed(0)} % of ${summary.wallSeconds.toFixed(1)} s, ${summary.busyUsPerRequest.toFixed(1)} µs/req`,
  );
  for (const row of summary.categories.slice(0, 25)) console.log(`${row.usPerRequest.toFixed(1).padStart(8)}  ${row.name}`);
  console.log();
  for (const row of summary.libraryInclusive.slice(0, 25)) console.log(`${row.usPerRequest.toFixed(1).padStart(8)}  ${row.name}`);
}
