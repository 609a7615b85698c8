// Small SVG bar charts: no chart library, no inline styles (colours come from classes in app.css), so they
// live under a strict Content-Security-Policy and weigh nothing on a slow link.
const NS = "http://www.w3.org/2000/svg";
const BAR = 18;
const GAP = 12;
let WIDTH = 640; // set from the container before each drawing: one SVG unit is one CSS pixel, text stays legible
let LABEL = 150;

function measure(container) {
  WIDTH = Math.max(300, Math.round(container.clientWidth || 640));
  LABEL = Math.min(170, Math.round(WIDTH * 0.34));
}

function el(name, attributes = {}, text = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

function svg(height, title) {
  const root = el("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": title, class: "chart-svg" });
  root.append(el("title", {}, title));
  return root;
}

const format = (value) => (value === null || value === undefined ? "–" : Number.isInteger(value) ? String(value) : value.toFixed(1));

/** Horizontal grouped bars: one group per row, one bar per series (e.g. median and p90). */
export function groupedBars(container, { title, rows, series, empty }) {
  measure(container);
  const values = rows.flatMap((row) => row.values).filter((v) => v !== null && v !== undefined);
  if (!values.length) {
    container.replaceChildren(Object.assign(document.createElement("p"), { className: "hint", textContent: empty }));
    return;
  }
  const max = Math.max(...values, 1);
  const group = series.length * BAR + GAP;
  const height = rows.length * group + 8;
  const root = svg(height, title);
  const scale = (WIDTH - LABEL - 60) / max;
  rows.forEach((row, r) => {
    const top = r * group + 4;
    root.append(el("text", { x: LABEL - 8, y: top + (series.length * BAR) / 2 + 5, "text-anchor": "end", class: "chart-label" }, row.label));
    series.forEach((s, i) => {
      const value = row.values[i];
      const y = top + i * BAR;
      const width = value ? Math.max(1, value * scale) : 0;
      const bar = el("rect", { x: LABEL, y, width, height: BAR - 3, class: `bar ${s.className}` });
      bar.append(el("title", {}, `${row.label} · ${s.name}: ${format(value)}`));
      root.append(bar, el("text", { x: LABEL + width + 4, y: y + BAR - 6, class: "chart-value" }, format(value)));
    });
  });
  container.replaceChildren(root, legend(series));
}

/** Horizontal stacked bars of counts (met, missed, open) with a note at the end (the compliance). */
export function stackedBars(container, { title, rows, series, empty }) {
  measure(container);
  if (!rows.length) {
    container.replaceChildren(Object.assign(document.createElement("p"), { className: "hint", textContent: empty }));
    return;
  }
  const max = Math.max(...rows.map((row) => row.values.reduce((a, b) => a + b, 0)), 1);
  const height = rows.length * (BAR + GAP) + 8;
  const root = svg(height, title);
  const scale = (WIDTH - LABEL - 60) / max;
  rows.forEach((row, r) => {
    const y = r * (BAR + GAP) + 4;
    root.append(el("text", { x: LABEL - 8, y: y + BAR - 4, "text-anchor": "end", class: "chart-label" }, row.label));
    let x = LABEL;
    series.forEach((s, i) => {
      const width = row.values[i] * scale;
      if (!width) return;
      const bar = el("rect", { x, y, width, height: BAR, class: `bar ${s.className}` });
      bar.append(el("title", {}, `${row.label} · ${s.name}: ${row.values[i]}`));
      root.append(bar);
      x += width;
    });
    root.append(el("text", { x: x + 6, y: y + BAR - 4, class: "chart-value strong" }, row.note));
  });
  container.replaceChildren(root, legend(series));
}

/** The key, as HTML under the chart: it wraps on a phone where SVG text would not. */
function legend(series) {
  const box = document.createElement("p");
  box.className = "chart-legend-row";
  for (const s of series) {
    const item = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = `legend-swatch ${s.className}`;
    item.append(swatch, s.name);
    box.append(item);
  }
  return box;
}
