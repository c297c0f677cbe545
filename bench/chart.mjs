// Hand-written SVG charts for docs/benchmarks.md (no dependency): panels of horizontal
// grouped bars, one group per row of a table, one bar per measured route, each bar labelled
// with its value. Used by bench/run.mjs (docs/benchmarks.svg) and bench/data-scale.mjs
// (docs/benchmarks-data-scale.svg).
//
//   renderChart({ title, subtitle, panels: [{ title, unit, groups: [{ label, bars: [{ series, value, note }] }] }], series })
//
// `series` maps a series name to its colour and legend text; a bar with value null is drawn
// as "n/a". Every panel has its own scale (0 to its largest value).

const FONT = 'font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"';
const WIDTH = 920;
const LABEL_WIDTH = 300;
const BAR_AREA = WIDTH - LABEL_WIDTH - 110;
const BAR_HEIGHT = 14;
const BAR_GAP = 3;
const GROUP_GAP = 10;

const xmlEscape = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const plainText = (text) => String(text).replace(/\*\*|`/g, '');

/** Default number format: thousands separators, one decimal under 10. */
export function formatValue(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return 'n/a';
  return value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US');
}

/** The SVG document (a string). */
export function renderChart({ title, subtitle = '', panels, series }) {
  const parts = [];
  let y = 28;
  parts.push(`<text x="16" y="${y}" font-size="17" font-weight="600" ${FONT}>${xmlEscape(title)}</text>`);
  if (subtitle !== '') {
    y += 18;
    parts.push(`<text x="16" y="${y}" font-size="12" fill="#555" ${FONT}>${xmlEscape(subtitle)}</text>`);
  }
  // Legend
  y += 22;
  let x = 16;
  for (const [, entry] of Object.entries(series)) {
    parts.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${entry.color}"/>`);
    parts.push(`<text x="${x + 17}" y="${y}" font-size="12" ${FONT}>${xmlEscape(entry.label)}</text>`);
    x += 24 + entry.label.length * 6.6;
    if (x > WIDTH - 160) {
      x = 16;
      y += 18;
    }
  }
  y += 14;
  for (const panel of panels) {
    y += 18;
    parts.push(`<text x="16" y="${y}" font-size="14" font-weight="600" ${FONT}>${xmlEscape(panel.title)}</text>`);
    y += 8;
    const max = Math.max(1e-9, ...panel.groups.flatMap((group) => group.bars.map((bar) => bar.value ?? 0)));
    const format = panel.format ?? formatValue;
    for (const group of panel.groups) {
      const height = group.bars.length * (BAR_HEIGHT + BAR_GAP) - BAR_GAP;
      const top = y + 6;
      parts.push(
        `<text x="${LABEL_WIDTH - 8}" y="${top + height / 2 + 4}" font-size="12" text-anchor="end" ${FONT}>${xmlEscape(plainText(group.label))}</text>`,
      );
      group.bars.forEach((bar, i) => {
        const barTop = top + i * (BAR_HEIGHT + BAR_GAP);
        const color = series[bar.series]?.color ?? '#999';
        const width = bar.value === null || bar.value === undefined ? 0 : Math.max(1, (bar.value / max) * BAR_AREA);
        parts.push(
          `<rect x="${LABEL_WIDTH}" y="${barTop}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${color}"><title>${xmlEscape(
            `${plainText(group.label)} — ${series[bar.series]?.label ?? bar.series}: ${format(bar.value)} ${panel.unit}`,
          )}</title></rect>`,
        );
        parts.push(
          `<text x="${LABEL_WIDTH + width + 5}" y="${barTop + BAR_HEIGHT - 3}" font-size="11" fill="#333" ${FONT}>${xmlEscape(
            `${format(bar.value)}${bar.note ? ` ${bar.note}` : ''}`,
          )}</text>`,
        );
      });
      y = top + height + GROUP_GAP;
    }
    parts.push(`<text x="${LABEL_WIDTH}" y="${y + 6}" font-size="11" fill="#777" ${FONT}>${xmlEscape(panel.unit)}</text>`);
    y += 14;
  }
  const height = y + 12;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${xmlEscape(title)}">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
