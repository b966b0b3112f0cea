// A hand-written SVG line chart (no dependency): fan-out p99 latency against
// offered rate, one line per server, both axes logarithmic, so each server's
// saturation knee shows as the point where its line turns up.

export interface Series {
  label: string;
  /** [offered msg/s, p99 µs]; points with an undelivered share are drawn hollow. */
  points: { x: number; y: number; bad?: boolean }[];
}

const COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function fmtTick(v: number): string {
  if (v >= 1000) return `${v / 1000}k`;
  return String(v);
}

export function fanoutSvg(title: string, series: Series[], thresholdUs: number): string {
  const W = 760;
  const H = 460;
  const L = 70;
  const R = 170;
  const T = 40;
  const B = 60;
  const all = series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  const xs = all.map((p) => p.x);
  const ys = [...all.map((p) => p.y), thresholdUs];
  const xMin = 10 ** Math.floor(Math.log10(Math.min(...xs, 500)));
  const xMax = 10 ** Math.ceil(Math.log10(Math.max(...xs, 1000)));
  const yMin = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...ys))));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
  const px = (x: number) =>
    L + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * (W - L - R);
  const py = (y: number) =>
    H - B - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - T - B);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  );
  // grid and ticks: every 1, 2, 5 x 10^k
  for (let d = xMin; d <= xMax; d *= 10)
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v > xMax) break;
      const x = px(v);
      out.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${H - B}" stroke="#ddd"/>`);
      out.push(`<text x="${x}" y="${H - B + 16}" text-anchor="middle">${fmtTick(v)}</text>`);
    }
  for (let d = yMin; d <= yMax; d *= 10)
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v > yMax) break;
      const y = py(v);
      out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#ddd"/>`);
      const label = v >= 1000 ? `${v / 1000} ms` : `${v} µs`;
      out.push(`<text x="${L - 6}" y="${y + 4}" text-anchor="end">${label}</text>`);
    }
  out.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#333"/>`);
  out.push(
    `<text x="${L + (W - L - R) / 2}" y="${H - 18}" text-anchor="middle">offered rate, messages/s (x100 receivers = deliveries/s)</text>`,
    `<text transform="translate(16 ${T + (H - T - B) / 2}) rotate(-90)" text-anchor="middle">p99 latency, send to receipt</text>`,
  );
  const ty = py(thresholdUs);
  out.push(
    `<line x1="${L}" y1="${ty}" x2="${W - R}" y2="${ty}" stroke="#888" stroke-dasharray="6 4"/>`,
    `<text x="${W - R - 4}" y="${ty - 4}" text-anchor="end" fill="#666">p99 limit ${thresholdUs / 1000} ms</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = s.points.filter((p) => p.x > 0 && p.y > 0).sort((a, b) => a.x - b.x);
    if (pts.length > 1)
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")}"/>`,
      );
    for (const p of pts)
      out.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="4" fill="${p.bad ? "white" : color}" stroke="${color}" stroke-width="2"/>`,
      );
    const ly = T + 10 + i * 20;
    out.push(
      `<line x1="${W - R + 14}" y1="${ly}" x2="${W - R + 38}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - R + 44}" y="${ly + 4}">${esc(s.label)}</text>`,
    );
  });
  const ny = T + 10 + series.length * 20 + 10;
  out.push(
    `<circle cx="${W - R + 26}" cy="${ny}" r="4" fill="white" stroke="#333" stroke-width="2"/>`,
    `<text x="${W - R + 44}" y="${ny + 4}">&lt; 95% delivered</text>`,
  );
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
