// The playground's charts, drawn as plain SVG and HTML: a line chart per metric and a bar per
// response probability. No charting library on purpose: the playground keeps NovaRL's zero
// runtime dependencies, the whole drawing code is this one short file, and four small line
// charts redrawn a few times a second need none of a library's features.

import { niceTicks } from '../../lib/ticks';

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

function html<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text) element.textContent = text;
  return element;
}


export interface LineChartOptions {
  /** Used in element ids: `chart-<key>` and `<key>-value` (the readout with the latest value). */
  key: string;
  title: string;
  hint: string;
  color: string;
  /** Decimals shown in the readout and tick labels. */
  digits: number;
  /** Fixed y range ends; an end left out follows the data. */
  yMin?: number;
  yMax?: number;
  /** Last update on the x axis. */
  xMax: number;
}

// viewBox geometry: plot area inside the margins
const WIDTH = 440;
const HEIGHT = 170;
const MARGIN = { left: 40, right: 12, top: 10, bottom: 22 };

/** A line chart of one metric against the update number, with an optional shaded band. */
export class LineChart {
  readonly element: HTMLElement;
  private readonly readout: HTMLOutputElement;
  private readonly plot: SVGSVGElement;
  private readonly grid = svg('g', { class: 'grid' });
  private readonly bandRect = svg('rect', { class: 'band' });
  private readonly bandLabel = svg('text', { class: 'band-label' });
  private readonly area = svg('path', { class: 'area' });
  private readonly line = svg('path', { class: 'line' });
  private readonly dot = svg('circle', { class: 'dot', r: 3.5 });
  private points: [number, number][] = [];
  private band: { range: [number, number]; label: string } | null = null;

  constructor(private readonly options: LineChartOptions) {
    this.element = html('figure', 'chart');
    this.element.id = `chart-${options.key}`;
    this.element.style.setProperty('--series', options.color);
    const caption = html('figcaption');
    const titles = html('div', 'titles');
    titles.append(html('span', 'title', options.title), html('span', 'hint', options.hint));
    this.readout = html('output', 'readout', '–');
    this.readout.id = `${options.key}-value`;
    caption.append(titles, this.readout);

    this.plot = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': options.title });
    const gradientId = `fill-${options.key}`;
    const gradient = svg('linearGradient', { id: gradientId, x1: 0, y1: 0, x2: 0, y2: 1 });
    gradient.append(svg('stop', { offset: '0%', 'stop-color': options.color, 'stop-opacity': 0.28 }));
    gradient.append(svg('stop', { offset: '100%', 'stop-color': options.color, 'stop-opacity': 0 }));
    const defs = svg('defs');
    defs.append(gradient);
    this.area.setAttribute('fill', `url(#${gradientId})`);
    this.plot.append(defs, this.grid, this.bandRect, this.bandLabel, this.area, this.line, this.dot);
    this.element.append(caption, this.plot);
    this.render();
  }

  /** A shaded y range (the KL target window), or null for none. */
  setBand(range: [number, number] | null, label = ''): void {
    this.band = range && { range, label };
    this.render();
  }

  push(update: number, value: number): void {
    this.points.push([update, value]);
    this.readout.textContent = value.toFixed(this.options.digits);
    this.readout.dataset['value'] = String(value); // full precision, for tests
    this.readout.dataset['update'] = String(update);
    this.element.dataset['series'] = JSON.stringify(this.points.map(([, v]) => v)); // for tests
    this.render();
  }

  clear(): void {
    this.points = [];
    this.readout.textContent = '–';
    delete this.readout.dataset['value'];
    delete this.readout.dataset['update'];
    this.element.dataset['series'] = '[]';
    this.render();
  }

  private render(): void {
    const { yMin, yMax, xMax, digits } = this.options;
    const values = this.points.map(([, v]) => v);
    if (this.band) values.push(...this.band.range);
    let lo = yMin ?? (values.length ? Math.min(...values) : 0);
    let hi = yMax ?? (values.length ? Math.max(...values) : 1);
    if (yMax === undefined) hi += (hi - lo) * 0.1 || 0.1; // headroom above a data-driven top
    if (yMin === undefined) lo -= (hi - lo) * 0.05;
    if (!(hi > lo)) hi = lo + 1;

    const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
    const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
    const x = (update: number) => MARGIN.left + (update / xMax) * plotWidth;
    const y = (value: number) => MARGIN.top + (1 - (value - lo) / (hi - lo)) * plotHeight;

    // grid lines with tick labels
    this.grid.replaceChildren();
    const yTicks = niceTicks(lo, hi, 4);
    const tickDigits = Math.max(0, Math.min(digits, -Math.floor(Math.log10((hi - lo) / 4))));
    for (const t of yTicks) {
      this.grid.append(svg('line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(t), y2: y(t), class: t === 0 ? 'zero' : '' }));
      const label = svg('text', { x: MARGIN.left - 6, y: y(t) + 4, 'text-anchor': 'end' });
      label.textContent = t.toFixed(tickDigits);
      this.grid.append(label);
    }
    for (const t of niceTicks(0, xMax, 4)) {
      const label = svg('text', { x: x(t), y: HEIGHT - 5, 'text-anchor': 'middle' });
      label.textContent = String(t);
      this.grid.append(label);
    }

    if (this.band) {
      const [bandLo, bandHi] = this.band.range;
      const top = y(Math.min(bandHi, hi));
      const bottom = y(Math.max(bandLo, lo));
      Object.entries({ x: MARGIN.left, width: plotWidth, y: top, height: Math.max(0, bottom - top) }).forEach(([k, v]) => this.bandRect.setAttribute(k, String(v)));
      // bottom right of the band: the curve rises through the band's left part and ends near its top
      this.bandLabel.setAttribute('x', String(WIDTH - MARGIN.right - 6));
      this.bandLabel.setAttribute('y', String(bottom - 5));
      this.bandLabel.setAttribute('text-anchor', 'end');
      this.bandLabel.textContent = this.band.label;
    }
    this.bandRect.style.display = this.bandLabel.style.display = this.band ? '' : 'none';

    const path = this.points.map(([u, v], i) => `${i ? 'L' : 'M'}${x(u).toFixed(1)},${y(v).toFixed(1)}`).join('');
    this.line.setAttribute('d', path);
    const last = this.points[this.points.length - 1];
    if (last) {
      const first = this.points[0]!;
      this.area.setAttribute('d', `${path}L${x(last[0]).toFixed(1)},${y(lo)}L${x(first[0]).toFixed(1)},${y(lo)}Z`);
      this.dot.setAttribute('cx', x(last[0]).toFixed(1));
      this.dot.setAttribute('cy', y(last[1]).toFixed(1));
    } else {
      this.area.setAttribute('d', '');
    }
    this.dot.style.display = last ? '' : 'none';
  }
}

/** For each prompt, a horizontal bar per response giving the policy's probability of it. */
export class ProbabilityBars {
  readonly element: HTMLElement;
  private readonly fills: HTMLElement[][] = [];
  private readonly labels: HTMLElement[][] = [];

  constructor(prompts: string[], responses: string[], rewards: number[][]) {
    this.element = html('div', 'prompts');
    prompts.forEach((prompt, i) => {
      const card = html('section', 'prompt');
      card.dataset['prompt'] = String(i);
      card.append(html('h3', '', `“${prompt}”`));
      const best = rewards[i]!.indexOf(Math.max(...rewards[i]!));
      this.fills.push([]);
      this.labels.push([]);
      responses.forEach((response, a) => {
        const row = html('div', a === best ? 'bar preferred' : 'bar');
        const reward = rewards[i]![a]!;
        const name = html('span', 'response', response);
        name.title = `reward ${reward}`;
        const rewardTag = html('span', reward > 0 ? 'reward positive' : reward < 0 ? 'reward negative' : 'reward', `${reward > 0 ? '+' : ''}${reward.toFixed(1)}`);
        const track = html('span', 'track');
        const fill = html('span', 'fill');
        track.append(fill);
        const value = html('span', 'probability', '–');
        value.dataset['prompt'] = String(i);
        value.dataset['action'] = String(a);
        row.append(name, rewardTag, track, value);
        card.append(row);
        this.fills[i]!.push(fill);
        this.labels[i]!.push(value);
      });
      this.element.append(card);
    });
  }

  /** probabilities: one row of response probabilities per prompt. */
  set(probabilities: number[][]): void {
    probabilities.forEach((row, i) =>
      row.forEach((p, a) => {
        this.fills[i]![a]!.style.width = `${(p * 100).toFixed(2)}%`;
        const label = this.labels[i]![a]!;
        label.textContent = p.toFixed(3);
        label.dataset['p'] = String(p); // full precision, for tests
      }),
    );
  }
}
