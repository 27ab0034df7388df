/* reqresp-lab explorer: Wireshark's panes over the analyzer's dissection (embedded as JSON in
   #x-data). No request leaves the page: no fetch, no external resource. The display-filter
   engine (XFilter) follows analysis/filter: any occurrence satisfies a comparison, != holds when
   the field is present and no occurrence equals, a bare name tests presence.
   Every text it shows goes through gettext()/ngettext() with an English msgid, translated by the
   report's catalog when the page was rendered (D.i18n, analysis/report/explorer_words.py). */
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("x-data").textContent);
  const $ = (id) => document.getElementById(id);

  // --- the page's language (as Django's JavaScript catalog: msgids in, the catalog's msgstrs out)
  const CAT = D.i18n;
  // the catalog's Plural-Forms expression (C syntax, checked by gettext.c2py when rendered)
  const pluralIndex = new Function("n", `"use strict"; return Number(${CAT.plural});`);
  const interpolate = (text, fields) =>
    text.replace(/\{(\w+)\}/g, (whole, k) => (fields && k in fields ? String(fields[k]) : whole));
  function gettext(msgid, fields) {
    let text = CAT.messages[msgid];
    if (text === undefined) { console.error(`explorer: no catalog entry for ${JSON.stringify(msgid)}`); text = msgid; }
    return interpolate(text, fields);
  }
  function ngettext(singular, plural, n, fields) {
    const forms = CAT.plurals[singular + "\u0000" + plural];
    let text;
    if (forms === undefined) {
      console.error(`explorer: no catalog entry for ${JSON.stringify(singular)}`);
      text = n === 1 ? singular : plural;
    } else text = forms[Math.min(pluralIndex(n), forms.length - 1)];
    return interpolate(text, fields);
  }
  const el = (tag, attrs, text) => {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const PHASE_COLORS = {arp: "#f3e5ab", handshake: "#d4ecd4", data: "#dce8fb", teardown: "#f6dcdc",
                        reset: "#f4c2c2", other: "#ececec"};
  const PHASE_STROKE = {arp: "#b8860b", handshake: "#2e7d32", data: "#1f5fbf", teardown: "#b03030",
                        reset: "#d00000", other: "#777"};
  const byNumber = new Map(D.frames.map((f) => [f.n, f]));
  let current = null;          // the selected frame
  let visible = D.frames.map((f) => f.n);

  // --- display filter -------------------------------------------------------------------------
  class FilterError extends Error {
    constructor(message, column) { super(column ? gettext("column {column}: {message}", {column, message}) : message); }
  }
  const PROTOCOLS = new Set(Object.keys(D.types).filter((k) => D.types[k] === "protocol"));

  function tokenize(text) {
    const out = [];
    let i = 0;
    const word = /[A-Za-z0-9_:\/\-]/;
    while (i < text.length) {
      const c = text[i];
      if (/\s/.test(c)) { i++; continue; }
      const col = i + 1;
      const two = text.substr(i, 2);
      if (["==", "!=", ">=", "<=", "&&", "||", ".."].includes(two)) {
        out.push({t: two === "&&" ? "and" : two === "||" ? "or" : two === ".." ? "range" : "cmp", v: two, col});
        i += 2; continue;
      }
      if (c === ">" || c === "<") { out.push({t: "cmp", v: c, col}); i++; continue; }
      if (c === "!") { out.push({t: "not", v: c, col}); i++; continue; }
      if ("(){},".includes(c)) { out.push({t: c, v: c, col}); i++; continue; }
      if (c === '"') {
        let j = i + 1, s = "";
        while (j < text.length && text[j] !== '"') {
          if (text[j] === "\\" && j + 1 < text.length) {
            const n = text[j + 1];
            s += n === "n" ? "\n" : n === "t" ? "\t" : n === "r" ? "\r" : n;
            j += 2;
          } else s += text[j++];
        }
        if (j >= text.length) throw new FilterError(gettext("a quoted string is not closed"), col);
        out.push({t: "str", v: s, col}); i = j + 1; continue;
      }
      if (word.test(c)) {
        let j = i;
        for (;;) {
          while (j < text.length && word.test(text[j])) j++;
          if (text[j] === "." && j + 1 < text.length && word.test(text[j + 1])) { j++; continue; }
          break;
        }
        const v = text.slice(i, j);
        const kw = {and: "and", or: "or", not: "not", in: "in", contains: "contains"}[v];
        const op = {eq: "==", ne: "!=", gt: ">", lt: "<", ge: ">=", le: "<="}[v];
        if (kw) out.push({t: kw, v, col});
        else if (op) out.push({t: "cmp", v: op, col});
        else out.push({t: "word", v, col});
        i = j; continue;
      }
      throw new FilterError(gettext("unexpected character '{char}'", {char: c}), col);
    }
    return out;
  }

  // what a parse step expects: words to translate, or the token itself (punctuation, keywords)
  const NAMES = {word: () => gettext("a field name"), cmp: () => gettext("an operator"),
                 str: () => gettext("a value"), and: () => "'&&'", or: () => "'||'", ")": () => "')'",
                 "(": () => "'('", "}": () => "'}'", "{": () => "'{'", in: () => "'in'"};
  const gotError = (what, t, end) => new FilterError(
    t ? gettext("expected {what}, got '{token}'", {what, token: t.v}) : gettext("expected {what}, got the end", {what}),
    t ? t.col : end);
  function parse(text) {
    if (!text.trim()) throw new FilterError(gettext("the filter is empty (e.g. tcp.flags.syn == 1)"));
    const toks = tokenize(text);
    let p = 0;
    const peek = () => toks[p];
    const end = text.length + 1;
    const expect = (type, what) => {
      const t = toks[p];
      if (!t || t.t !== type) throw gotError(what || NAMES[type](), t, end);
      p++;
      return t;
    };
    const value = () => {
      const t = toks[p];
      if (!t || (t.t !== "word" && t.t !== "str")) throw gotError(gettext("a value"), t, end);
      p++;
      return {text: t.v, quoted: t.t === "str", col: t.col};
    };
    function or() {
      const items = [and()];
      while (peek() && peek().t === "or") { p++; items.push(and()); }
      return items.length === 1 ? items[0] : {k: "or", items};
    }
    function and() {
      const items = [not()];
      while (peek() && peek().t === "and") { p++; items.push(not()); }
      return items.length === 1 ? items[0] : {k: "and", items};
    }
    function not() {
      if (peek() && peek().t === "not") { p++; return {k: "not", item: not()}; }
      return atom();
    }
    function atom() {
      const t = peek();
      if (t && t.t === "(") { p++; const inner = or(); expect(")"); return inner; }
      const f = expect("word");
      const n = peek();
      if (n && n.t === "cmp") { p++; return {k: "cmp", field: f.v, op: n.v, value: value(), col: f.col}; }
      if (n && n.t === "contains") { p++; return {k: "contains", field: f.v, value: value(), col: f.col}; }
      if (n && n.t === "in") {
        p++;
        expect("{");
        const members = [];
        do {
          const low = value();
          if (peek() && peek().t === "range") { p++; members.push([low, value()]); }
          else members.push([low, low]);
          if (peek() && peek().t === ",") p++;
        } while (peek() && peek().t !== "}");
        expect("}");
        return {k: "in", field: f.v, members, col: f.col};
      }
      return {k: "present", field: f.v, col: f.col};
    }
    const tree = or();
    if (p < toks.length) {
      throw new FilterError(gettext("expected '&&' or '||' or the end, got '{token}'", {token: toks[p].v}), toks[p].col);
    }
    return tree;
  }

  // typed values: uint/bool -> Number, ipv4 -> Number, ipv6 -> BigInt, ether/bytes -> hex string
  function ipv4(text) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
    if (!m || m.slice(1).some((x) => +x > 255)) return null;
    return ((+m[1] << 24) >>> 0) + (+m[2] << 16) + (+m[3] << 8) + +m[4];
  }
  function ipv6(text) {
    const halves = text.split("::");
    if (halves.length > 2) return null;
    const part = (s) => (s ? s.split(":") : []);
    let groups = part(halves[0]);
    const tail = halves.length === 2 ? part(halves[1]) : [];
    const last = (tail.length ? tail : groups)[(tail.length ? tail : groups).length - 1];
    let v4 = [];
    if (last && last.includes(".")) {
      const n = ipv4(last);
      if (n === null) return null;
      v4 = [(n >>> 16).toString(16), (n & 0xffff).toString(16)];
      if (tail.length) tail.pop(); else groups.pop();
    }
    const fill = 8 - groups.length - tail.length - v4.length;
    if ((halves.length === 2 && fill < 1) || (halves.length === 1 && fill !== 0)) return null;
    groups = groups.concat(Array(halves.length === 2 ? fill : 0).fill("0"), tail, v4);
    let out = 0n;
    for (const g of groups) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      out = (out << 16n) + BigInt(parseInt(g, 16));
    }
    return out;
  }
  function typed(kind, show) {
    if (kind === "uint" || kind === "bool") return show.startsWith("0x") ? parseInt(show, 16) : Number(show);
    if (kind === "ipv4") return ipv4(show);
    if (kind === "ipv6") return ipv6(show);
    if (kind === "ether" || kind === "bytes") return show.replace(/[:\-.]/g, "").toLowerCase();
    if (kind === "float") return Number(show);
    return show;
  }
  function literal(kind, lit, field) {
    const v = lit.text;
    const fields = {value: v, field};
    const bad = (message) => new FilterError(message, lit.col);
    if (kind === "uint" || kind === "bool") {
      if (kind === "bool" && (v === "True" || v === "False")) return v === "True" ? 1 : 0;
      let m;
      if (/^0[0-7]+$/.test(v)) return parseInt(v, 8);
      if ((m = /^0[xX]([0-9A-Fa-f]+)$/.exec(v))) return parseInt(m[1], 16);
      if ((m = /^0[bB]([01]+)$/.exec(v))) return parseInt(m[1], 2);
      if ((m = /^0[oO]([0-7]+)$/.exec(v))) return parseInt(m[1], 8);
      if (/^[0-9]+$/.test(v)) return Number(v);
      throw bad(gettext("'{value}' is not an integer (for {field})", fields));
    }
    if (kind === "ipv4" || kind === "ipv6") {
      if (lit.quoted && kind === "ipv4") throw bad(gettext("'{value}' is not an IPv4 address (write it without quotes) (for {field})", fields));
      const [addr, bits] = v.split("/");
      const width = kind === "ipv4" ? 32 : 128;
      const a = kind === "ipv4" ? ipv4(addr) : ipv6(addr);
      const n = bits === undefined ? width : Number(bits);
      if (a === null || !/^\d*$/.test(bits || "") || n > width) {
        throw bad(kind === "ipv4" ? gettext("'{value}' is not an IPv4 address or network (for {field})", fields)
                                  : gettext("'{value}' is not an IPv6 address or network (for {field})", fields));
      }
      if (bits === undefined) return a;
      if (kind === "ipv4") {
        const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
        const low = (a & mask) >>> 0;
        return {net: true, low, high: low + (2 ** (32 - n)) - 1};
      }
      const span = (1n << BigInt(128 - n)) - 1n;
      const low = a & ~span & ((1n << 128n) - 1n);
      return {net: true, low, high: low + span};
    }
    if (kind === "ether") {
      if (!/^[0-9A-Fa-f]{2}([:\-.]?[0-9A-Fa-f]{2}){5}$/.test(v)) throw bad(gettext("'{value}' is not a MAC address (for {field})", fields));
      return v.replace(/[:\-.]/g, "").toLowerCase();
    }
    if (kind === "bytes") {
      if (lit.quoted) return Array.from(new TextEncoder().encode(v), (b) => b.toString(16).padStart(2, "0")).join("");
      if (!/^[0-9A-Fa-f]{2}([:\-.]?[0-9A-Fa-f]{2})*$/.test(v)) throw bad(gettext("'{value}' is not bytes (01:02:03) or a quoted string (for {field})", fields));
      return v.replace(/[:\-.]/g, "").toLowerCase();
    }
    if (kind === "float") {
      if (!/^[0-9]+(\.[0-9]*)?$|^\.[0-9]+$/.test(v)) throw bad(gettext("'{value}' is not a number (for {field})", fields));
      return Number(v);
    }
    if (kind === "protocol") throw new FilterError(gettext("'{field}' is a protocol: it can only be tested for presence", {field}), lit.col);
    return v;
  }
  const isNet = (x) => x !== null && typeof x === "object" && x.net;
  const equal = (have, want) => (isNet(want) ? have >= want.low && have <= want.high : have === want);
  const ordered = (x) => (isNet(x) ? x.low : x);
  const CMP = {">": (a, b) => a > b, "<": (a, b) => a < b, ">=": (a, b) => a >= b, "<=": (a, b) => a <= b};
  function hexContains(have, want) {
    for (let i = have.indexOf(want); i >= 0; i = have.indexOf(want, i + 1)) if (i % 2 === 0) return true;
    return false;
  }

  function compile(node, text) {
    if (node.k === "or") { const t = node.items.map((i) => compile(i, text)); return (v) => t.some((f) => f(v)); }
    if (node.k === "and") { const t = node.items.map((i) => compile(i, text)); return (v) => t.every((f) => f(v)); }
    if (node.k === "not") { const t = compile(node.item, text); return (v) => !t(v); }
    const name = node.field;
    const kind = D.types[name];
    if (kind === undefined) throw new FilterError(gettext("'{field}' is not a field we dissect", {field: name}), node.col);
    const vals = (v) => v.get(name) || [];
    if (node.k === "present") return (v) => vals(v).length > 0;
    if (node.k === "contains") {
      if (kind === "string") { const w = literal(kind, node.value, name); return (v) => vals(v).some((s) => s.includes(w)); }
      const w = literal(kind === "ether" || kind === "bytes" ? "bytes" : kind, node.value, name);
      return (v) => vals(v).some((s) => hexContains(typed("bytes", s), w));
    }
    if (node.k === "in") {
      const members = node.members.map(([lo, hi]) => [literal(kind, lo, name), literal(kind, hi, name)]);
      return (v) => vals(v).some((s) => {
        const have = typed(kind, s);
        return members.some(([lo, hi]) => (isNet(lo) ? equal(have, lo)
          : lo === hi ? have === lo : ordered(lo) <= have && have <= ordered(hi)));
      });
    }
    const want = literal(kind, node.value, name);
    if (node.op === "==") return (v) => vals(v).some((s) => equal(typed(kind, s), want));
    if (node.op === "!=") return (v) => vals(v).length > 0 && !vals(v).some((s) => equal(typed(kind, s), want));
    const op = CMP[node.op];
    return (v) => vals(v).some((s) => op(ordered(typed(kind, s)), ordered(want)));
  }

  const valueCache = new Map();
  function frameValues(f) {
    let v = valueCache.get(f.n);
    if (v) return v;
    v = new Map();
    const add = (k, x) => { if (!v.has(k)) v.set(k, []); v.get(k).push(x); };
    const walk = (node) => {
      const [name, pos, size, show, kids] = node;
      let x = show;
      if (D.types[name] === "bytes" || D.types[name] === "ether") x = f.hex.substr(pos * 2, size * 2);
      if (name === "tcp.flags.str") x = show;
      if (D.types[name] === "bool") x = show === CAT.bool[1] ? "1" : show === CAT.bool[0] ? "0" : show;
      add(name, x);
      (kids || []).forEach(walk);
    };
    for (const layer of f.tree) { add(layer[0], "1"); (layer[4] || []).forEach(walk); }
    for (const k in D.either) for (const part of D.either[k]) for (const x of v.get(part) || []) add(k, x);
    add("phase", f.phase);
    add("label", f.label);
    valueCache.set(f.n, v);
    return v;
  }
  // for the tests and the console: the frame numbers a filter selects (throws FilterError)
  function select(text) {
    const test = compile(parse(text), text);
    return D.frames.filter((f) => test(frameValues(f))).map((f) => f.n);
  }
  window.XFilter = {parse, select};

  // --- packet list ----------------------------------------------------------------------------
  const tbody = document.querySelector("#x-list tbody");
  const rowOf = new Map();
  for (const f of D.frames) {
    const tr = el("tr", {"data-n": f.n});
    tr.style.background = PHASE_COLORS[f.phase] || "#fff";
    for (const cell of [f.n, f.t.toFixed(6), f.src, f.dst, f.proto, f.len, f.info, f.phase, f.label, f.flags.join(", ")]) {
      tr.appendChild(el("td", {}, String(cell)));
    }
    tr.addEventListener("click", () => select_frame(f.n));
    tbody.appendChild(tr);
    rowOf.set(f.n, tr);
  }
  function showCount() {
    const fields = {shown: visible.length, total: D.frames.length, count: D.total};
    $("x-count").textContent = D.frames.length < D.total
      ? ngettext("Displayed: {shown} of {total} (the page holds {total} of {count} frame)",
                 "Displayed: {shown} of {total} (the page holds {total} of {count} frames)", D.total, fields)
      : gettext("Displayed: {shown} of {total}", fields);
  }
  function applyFilter() {
    const text = $("x-filter").value;
    const box = $("x-filter"), msg = $("x-filter-msg");
    if (!text.trim()) {
      visible = D.frames.map((f) => f.n);
      box.className = ""; msg.textContent = "";
    } else {
      let chosen;
      try {
        chosen = select(text);
      } catch (e) {
        if (!(e instanceof FilterError)) throw e;
        box.className = "x-bad";
        msg.textContent = gettext("Invalid filter: {message}. The list still shows the previous filter's frames.",
                                  {message: e.message});
        return;
      }
      visible = chosen;
      box.className = "x-ok";
      msg.textContent = chosen.length ? "" : gettext("No frame matches this filter.");
    }
    const keep = new Set(visible);
    for (const [n, tr] of rowOf) tr.classList.toggle("x-hide", !keep.has(n));
    showCount();
  }
  $("x-filter").addEventListener("keydown", (e) => { if (e.key === "Enter") applyFilter(); });
  $("x-apply").addEventListener("click", applyFilter);
  $("x-clear").addEventListener("click", () => { $("x-filter").value = ""; applyFilter(); });
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    if (!visible.length) return;
    const at = current ? visible.indexOf(current.n) : -1;
    const next = e.key === "ArrowDown" ? Math.min(at + 1, visible.length - 1) : Math.max(at - 1, 0);
    e.preventDefault();
    select_frame(visible[next]);
  });

  // --- details tree and bytes pane ------------------------------------------------------------
  let fieldLines = [];        // [line element, pos, size, depth] of the shown frame
  function titleOf(name, show, depth) {
    if (depth === 0) return show;
    const title = D.titles[name];
    return title ? `${title}: ${show}` : `${name}: ${show}`;
  }
  function buildNode(f, node, depth, parent) {
    const [name, pos, size, show, kids] = node;
    const box = el("div", {class: "x-node"});
    const line = el("div", {class: "x-line", "data-name": name, "data-pos": pos, "data-size": size});
    line.appendChild(el("span", {class: "x-tw"}, kids ? "▸" : ""));
    line.appendChild(document.createTextNode(titleOf(name, show, depth) + " "));
    if (depth > 0) line.appendChild(el("code", {}, `[${name}]`));
    const note = f.notes[name];
    if (note) line.appendChild(el("span", {class: "x-why"}, note));
    box.appendChild(line);
    fieldLines.push([line, pos, size, depth]);
    line.addEventListener("click", (e) => {
      e.stopPropagation();
      if (kids && e.target.classList.contains("x-tw")) { box.classList.toggle("x-open"); return; }
      if (kids) box.classList.add("x-open");
      selectField(line);
    });
    if (kids) {
      const inner = el("div", {class: "x-kids"});
      for (const k of kids) buildNode(f, k, depth + 1, inner);
      box.appendChild(inner);
    }
    parent.appendChild(box);
    return box;
  }
  function showTree(f) {
    const tree = $("x-tree");
    tree.textContent = "";
    fieldLines = [];
    for (const layer of f.tree) {
      const box = buildNode(f, layer, 0, tree);
      if (layer[0] !== "frame") box.classList.add("x-open");
    }
  }
  function showBytes(f) {
    const pane = $("x-bytes");
    pane.textContent = "";
    const n = f.hex.length / 2;
    for (let off = 0; off < n; off += 16) {
      pane.appendChild(document.createTextNode(off.toString(16).padStart(4, "0") + "  "));
      const ascii = [];
      for (let i = off; i < off + 16; i++) {
        if (i < n) {
          const b = parseInt(f.hex.substr(i * 2, 2), 16);
          const s = el("span", {class: "x-b", "data-i": i}, f.hex.substr(i * 2, 2));
          s.addEventListener("click", () => selectByte(i));
          pane.appendChild(s);
          const a = el("span", {class: "x-a", "data-i": i}, b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".");
          a.addEventListener("click", () => selectByte(i));
          ascii.push(a);
        } else pane.appendChild(document.createTextNode("  "));
        pane.appendChild(document.createTextNode(i === off + 7 ? "  " : " "));
      }
      pane.appendChild(document.createTextNode(" "));
      for (const a of ascii) pane.appendChild(a);
      pane.appendChild(document.createTextNode("\n"));
    }
  }
  function highlight(pos, size) {
    for (const s of document.querySelectorAll("#x-bytes .x-hl")) s.classList.remove("x-hl");
    for (let i = pos; i < pos + size; i++) {
      for (const s of document.querySelectorAll(`#x-bytes [data-i="${i}"]`)) s.classList.add("x-hl");
    }
  }
  function selectField(line) {
    for (const l of document.querySelectorAll("#x-tree .x-fsel")) l.classList.remove("x-fsel");
    line.classList.add("x-fsel");
    for (let p = line.parentElement; p && p.id !== "x-tree"; p = p.parentElement) {
      if (p.classList.contains("x-node")) p.classList.add("x-open");
    }
    highlight(Number(line.dataset.pos), Number(line.dataset.size));
    const why = line.querySelector(".x-why");
    const size = Number(line.dataset.size);
    $("x-note").textContent = why ? why.textContent : ngettext(
      "{name}: {count} byte at offset {pos}", "{name}: {count} bytes at offset {pos}", size,
      {name: line.dataset.name, count: size, pos: line.dataset.pos});
    reveal($("x-tree"), line);
  }
  function selectByte(i) {
    // the smallest field holding this byte; of equal sizes the deepest, then the first (tcp.seq
    // before tcp.seq_raw, as Wireshark picks)
    let best = null;
    for (const [line, pos, size, depth] of fieldLines) {
      if (size > 0 && pos <= i && i < pos + size && (!best || size < best[2] || (size === best[2] && depth > best[3]))) {
        best = [line, pos, size, depth];
      }
    }
    if (best) selectField(best[0]);
  }

  // scroll a pane (not the page) so that an element of it is in view
  function reveal(pane, e) {
    const p = pane.getBoundingClientRect(), r = e.getBoundingClientRect();
    if (r.top < p.top + 24) pane.scrollTop -= p.top + 24 - r.top;
    else if (r.bottom > p.bottom) pane.scrollTop += r.bottom - p.bottom;
  }
  function select_frame(n) {
    const f = byNumber.get(n);
    if (!f) return;
    current = f;
    for (const tr of tbody.querySelectorAll(".x-sel")) tr.classList.remove("x-sel");
    const tr = rowOf.get(n);
    tr.classList.add("x-sel");
    reveal($("x-list-wrap"), tr);
    showTree(f);
    showBytes(f);
    $("x-note").textContent = "";
    showStep(f);
  }
  window.XExplorer = {select: select_frame, current: () => current && current.n, visible: () => visible.slice()};

  // --- step mode: the ladder ------------------------------------------------------------------
  const NS = "http://www.w3.org/2000/svg";
  const svgEl = (tag, attrs, text) => {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const hosts = [];
  for (const f of D.frames) for (const h of f.lad) if (!hosts.includes(h)) hosts.push(h);
  const svg = $("x-ladder");
  const colX = (h) => 90 + hosts.indexOf(h) * Math.max(220, 560 / Math.max(hosts.length - 1, 1));
  const rowY = (i) => 50 + i * 26;
  const width = colX(hosts[hosts.length - 1] || "") + 120;
  svg.setAttribute("width", width);
  svg.setAttribute("height", rowY(D.frames.length) + 10);
  const defs = svgEl("defs", {});
  for (const phase in PHASE_STROKE) {
    const m = svgEl("marker", {id: `x-head-${phase}`, markerWidth: 8, markerHeight: 8, refX: 7, refY: 4, orient: "auto"});
    m.appendChild(svgEl("path", {d: "M0,0 L8,4 L0,8 z", fill: PHASE_STROKE[phase]}));
    defs.appendChild(m);
  }
  svg.appendChild(defs);
  for (const h of hosts) {
    svg.appendChild(svgEl("text", {x: colX(h), y: 20, "text-anchor": "middle", "font-size": 12, "font-weight": "bold"}, h));
    svg.appendChild(svgEl("line", {x1: colX(h), y1: 28, x2: colX(h), y2: rowY(D.frames.length), stroke: "#999", "stroke-dasharray": "4 3"}));
  }
  const arrowOf = new Map();
  D.frames.forEach((f, i) => {
    const g = svgEl("g", {class: "x-arrow", "data-n": f.n});
    const x1 = colX(f.lad[0]), x2 = colX(f.lad[1]), y = rowY(i);
    const color = PHASE_STROKE[f.phase] || "#777";
    g.appendChild(svgEl("rect", {x: Math.min(x1, x2) - 4, y: y - 14, width: Math.abs(x2 - x1) + 8 || 40, height: 22, fill: "transparent"}));
    g.appendChild(svgEl("line", {x1, y1: y, x2: x2 === x1 ? x1 + 30 : x2, y2: y, stroke: color, "stroke-width": 1.8, "marker-end": `url(#x-head-${f.phase in PHASE_STROKE ? f.phase : "other"})`}));
    const label = f.info.length > 60 ? f.info.slice(0, 59) + "…" : f.info;
    g.appendChild(svgEl("text", {x: (x1 + x2) / 2, y: y - 4, "text-anchor": "middle", "font-size": 10, fill: color}, `${f.n}: ${label}`));
    g.appendChild(svgEl("text", {x: 8, y: y + 4, "font-size": 10, fill: "#555"}, f.t.toFixed(3)));
    g.addEventListener("click", () => select_frame(f.n));
    svg.appendChild(g);
    arrowOf.set(f.n, g);
  });
  function showStep(f) {
    for (const g of svg.querySelectorAll(".x-cur")) g.classList.remove("x-cur");
    const g = arrowOf.get(f.n);
    if (g) { g.classList.add("x-cur"); reveal($("x-ladder-wrap"), g); }
    const box = $("x-step");
    box.textContent = "";
    box.appendChild(el("b", {}, gettext("Frame {frame}: {label} ({phase})", {frame: f.n, label: f.label, phase: f.phase})));
    const ul = el("ul", {});
    for (const s of f.step) ul.appendChild(el("li", {}, s));
    box.appendChild(ul);
    const at = D.frames.indexOf(f);
    $("x-step-pos").textContent = gettext("frame {at} of {count} on the ladder", {at: at + 1, count: D.frames.length});
  }
  const stepBy = (d) => {
    const at = current ? D.frames.indexOf(current) : -1;
    const next = Math.min(Math.max(at + d, 0), D.frames.length - 1);
    if (D.frames.length) select_frame(D.frames[next].n);
  };
  $("x-next").addEventListener("click", () => stepBy(1));
  $("x-prev").addEventListener("click", () => stepBy(-1));

  // --- follow TCP stream ----------------------------------------------------------------------
  const conns = [...new Set(D.frames.filter((f) => f.conn !== null).map((f) => f.conn))];
  const sel = $("x-conn");
  for (const c of conns) sel.appendChild(el("option", {value: c}, `tcp.stream eq ${c}`));
  const RETRANS = new Set(["retransmission", "fast-retransmission", "spurious-retransmission"]);
  function payloadOf(f) {
    const hits = [];
    const walk = (node) => { if (node[0] === "tcp.payload") hits.push(node); (node[4] || []).forEach(walk); };
    f.tree.forEach(walk);
    if (!hits.length) return "";
    const [, pos, size] = hits[0];
    let s = "";
    for (let i = pos; i < pos + size; i++) {
      const b = parseInt(f.hex.substr(i * 2, 2), 16);
      s += b === 10 || b === 13 || b === 9 || (b >= 0x20 && b < 0x7f) ? String.fromCharCode(b) : ".";
    }
    return s;
  }
  function follow() {
    const pre = $("x-follow");
    pre.textContent = "";
    const c = Number(sel.value);
    for (const f of D.frames) {
      if (f.conn !== c || f.flags.some((x) => RETRANS.has(x))) continue;
      const text = payloadOf(f);
      if (text) pre.appendChild(el("span", {class: f.client ? "x-cli" : "x-srv", "data-n": f.n}, text));
    }
    if (!pre.textContent) pre.textContent = gettext("(no payload in this connection's frames on this page)");
  }
  sel.addEventListener("change", follow);
  if (conns.length) follow(); else $("x-follow").textContent = gettext("(no TCP connection)");

  // --- conversations and IO graph -------------------------------------------------------------
  const conv = el("table", {id: "x-conv-table"});
  const head = el("tr", {});
  for (const h of [gettext("Stream"), gettext("Address A"), gettext("Port A"), gettext("Address B"),
                   gettext("Port B"), gettext("Packets"), gettext("Bytes"), gettext("Packets A → B"),
                   gettext("Bytes A → B"), gettext("Packets B → A"), gettext("Bytes B → A"),
                   gettext("Rel Start"), gettext("Duration")]) {
    head.appendChild(el("th", {}, h));
  }
  conv.appendChild(head);
  for (const r of D.conversations.rows) {
    const tr = el("tr", {});
    r.forEach((x, i) => tr.appendChild(el("td", i > 4 ? {class: "num"} : {}, i >= 11 ? x.toFixed(6) : String(x))));
    conv.appendChild(tr);
  }
  $("x-conv").appendChild(conv);
  if (D.conversations.total > D.conversations.rows.length) {
    $("x-conv").appendChild(el("p", {class: "muted"}, ngettext(
      "The first {shown} of {count} conversation.", "The first {shown} of {count} conversations.",
      D.conversations.total, {shown: D.conversations.rows.length, count: D.conversations.total})));
  }

  (function ioGraph() {
    const io = D.io, W = 900, H = 220, L = 60, B = 30;
    const s = svgEl("svg", {width: W, height: H, id: "x-io-svg"});
    const n = io.frames.length || 1;
    const maxF = Math.max(1, ...io.frames), maxB = Math.max(1, ...io.bytes);
    const x = (i) => L + (i + 0.5) * (W - L - 50) / n;
    const path = (arr, max) => arr.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${(H - B - v / max * (H - B - 20)).toFixed(1)}`).join(" ");
    s.appendChild(svgEl("line", {x1: L, y1: H - B, x2: W - 40, y2: H - B, stroke: "#333"}));
    s.appendChild(svgEl("path", {d: path(io.frames, maxF), stroke: "#1f5fbf", fill: "none", "stroke-width": 1.5, class: "x-io-frames"}));
    s.appendChild(svgEl("path", {d: path(io.bytes, maxB), stroke: "#b03030", fill: "none", "stroke-width": 1.5, class: "x-io-bytes"}));
    s.appendChild(svgEl("text", {x: L, y: 14, "font-size": 11, fill: "#1f5fbf"},
                        gettext("frames per {interval} s (max {max})", {interval: io.interval, max: maxF})));
    s.appendChild(svgEl("text", {x: L + 260, y: 14, "font-size": 11, fill: "#b03030"},
                        gettext("bytes per {interval} s (max {max})", {interval: io.interval, max: maxB})));
    s.appendChild(svgEl("text", {x: L, y: H - 8, "font-size": 11},
                        gettext("0 s … {end} s, whole capture", {end: (io.frames.length * io.interval).toFixed(3)})));
    $("x-io").appendChild(s);
  })();

  showCount();
  if (D.frames.length) select_frame(D.frames[0].n);
})();
