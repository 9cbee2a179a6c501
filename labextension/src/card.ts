/**
 * One answer as a card, the browser twin of the kernel's %%ask card: status badge, message,
 * result table (numbers right-aligned), row count and truncation notice, the chart (through
 * JupyterLab's own Vega-Lite renderer), the plan and SQL folded away, and the run's actions.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

import { ApiError, IRunResponse, RunStatus } from './api';

export const VEGALITE_MIME = 'application/vnd.vegalite.v5+json';

export interface ICardActions {
  download(runId: string): void;
  insert(datasetId: string, question: string): void;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function domWidget(node: HTMLElement): Widget {
  return new Widget({ node });
}

const NUMBER = new Intl.NumberFormat(undefined, { maximumFractionDigits: 4 });

function isNumeric(type: string): boolean {
  return /^(TINYINT|SMALLINT|INT|INTEGER|BIGINT|HUGEINT|UBIGINT|UINTEGER|DOUBLE|FLOAT|REAL|DECIMAL|NUMERIC)/i.test(
    type
  );
}

function formatCell(value: unknown, numeric: boolean): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (numeric && typeof value === 'number') {
    return NUMBER.format(value);
  }
  return String(value);
}

export function resultTable(run: IRunResponse): HTMLTableElement {
  const table = el('table', 'csvanalyst-table');
  table.dataset.testid = 'csvanalyst-table';
  const numeric = run.result.columns.map(c => isNumeric(c.type));
  const head = table.createTHead().insertRow();
  run.result.columns.forEach((column, i) => {
    const th = el('th', numeric[i] ? 'csvanalyst-num' : '', column.name);
    th.title = column.type;
    head.appendChild(th);
  });
  const body = table.createTBody();
  for (const row of run.result.rows) {
    const tr = body.insertRow();
    row.forEach((value, i) => {
      tr.appendChild(
        el('td', numeric[i] ? 'csvanalyst-num' : '', formatCell(value, numeric[i]))
      );
    });
  }
  return table;
}

/**
 * The run's chart with its rows inlined. The contract says the server fills data.values; a
 * spec that arrives without them is filled from the result so the chart never renders empty.
 */
export function withData(run: IRunResponse): Record<string, unknown> {
  const chart = run.chart ?? {};
  const data = chart.data as { values?: unknown[] } | undefined;
  if (data?.values?.length || !run.result.rows.length) {
    return chart;
  }
  const names = run.result.columns.map(c => c.name);
  const values = run.result.rows.map(row =>
    Object.fromEntries(names.map((name, i) => [name, row[i]]))
  );
  return { ...chart, data: { values } };
}

function badge(status: RunStatus): HTMLElement {
  const node = el('span', `csvanalyst-badge csvanalyst-badge-${status}`, status);
  node.dataset.testid = 'csvanalyst-status';
  return node;
}

function folded(title: string, content: string, testid: string): HTMLElement {
  const details = el('details', 'csvanalyst-details');
  details.dataset.testid = testid;
  details.appendChild(el('summary', '', title));
  details.appendChild(el('pre', 'csvanalyst-code', content));
  return details;
}

/** A card that starts as "running" and becomes the answer (or the error) in place. */
export class AnswerCard extends Panel {
  private started = Date.now();
  private timer = 0;
  private head = el('div', 'csvanalyst-card-head');

  constructor(
    private readonly rendermime: IRenderMimeRegistry,
    private readonly actions: ICardActions,
    readonly datasetId: string,
    readonly question: string
  ) {
    super();
    this.addClass('csvanalyst-card');
    this.node.dataset.testid = 'csvanalyst-card';
    this.node.dataset.status = 'running';
    this.addWidget(domWidget(el('div', 'csvanalyst-question', question)));
    this.addWidget(domWidget(this.head));
    this.showRunning();
  }

  dispose(): void {
    window.clearInterval(this.timer);
    super.dispose();
  }

  private showRunning(): void {
    const elapsed = el('span', 'csvanalyst-elapsed', '0 s');
    this.head.replaceChildren(badge('running'), elapsed);
    this.timer = window.setInterval(() => {
      elapsed.textContent = `${Math.round((Date.now() - this.started) / 1000)} s`;
    }, 1000);
  }

  showError(error: ApiError): void {
    window.clearInterval(this.timer);
    this.node.dataset.status = 'failed';
    this.head.replaceChildren(badge('failed'), el('span', 'csvanalyst-code-name', error.code));
    this.addWidget(domWidget(this.errorBox(error.message, error.suggestion)));
  }

  showRun(run: IRunResponse): void {
    window.clearInterval(this.timer);
    this.node.dataset.status = run.status;
    this.head.replaceChildren(badge(run.status));
    if (run.timings_ms?.total !== undefined) {
      this.head.appendChild(
        el('span', 'csvanalyst-elapsed', `${Math.round(run.timings_ms.total)} ms`)
      );
    }
    if (run.error) {
      this.head.appendChild(el('span', 'csvanalyst-code-name', run.error.code));
      this.addWidget(domWidget(this.errorBox(run.error.message, run.error.suggestion)));
    } else {
      if (run.message) {
        this.addWidget(domWidget(el('div', 'csvanalyst-message', run.message)));
      }
      this.addResult(run);
      this.addChart(run);
    }
    this.addDetails(run);
    this.addFooter(run);
  }

  private errorBox(message: string, suggestion?: string | null): HTMLElement {
    const box = el('div', 'csvanalyst-error');
    box.dataset.testid = 'csvanalyst-error';
    box.appendChild(el('div', 'csvanalyst-error-message', message));
    if (suggestion) {
      box.appendChild(el('div', 'csvanalyst-suggestion', suggestion));
    }
    return box;
  }

  private addResult(run: IRunResponse): void {
    const wrap = el('div', 'csvanalyst-result');
    const scroller = el('div', 'csvanalyst-table-scroll');
    scroller.appendChild(resultTable(run));
    wrap.appendChild(scroller);
    const count = el(
      'div',
      'csvanalyst-row-count',
      `${NUMBER.format(run.result.row_count)} row${run.result.row_count === 1 ? '' : 's'}`
    );
    count.dataset.testid = 'csvanalyst-row-count';
    wrap.appendChild(count);
    if (run.result.truncated) {
      const notice = el(
        'div',
        'csvanalyst-truncated',
        `Showing the first ${run.result.rows.length} rows: the result was truncated.`
      );
      notice.dataset.testid = 'csvanalyst-truncated';
      wrap.appendChild(notice);
    }
    this.addWidget(domWidget(wrap));
  }

  private addChart(run: IRunResponse): void {
    if (!run.chart) {
      return;
    }
    const bundle = { [VEGALITE_MIME]: withData(run) as any };
    if (!this.rendermime.preferredMimeType(bundle, 'any')) {
      return; // the vega extension is disabled: the table says it all
    }
    const renderer = this.rendermime.createRenderer(VEGALITE_MIME);
    renderer.addClass('csvanalyst-chart');
    renderer.node.dataset.testid = 'csvanalyst-chart';
    this.addWidget(renderer);
    // Our own server's spec (data values only, no code): trusted like a kernel's own output.
    const model = this.rendermime.createModel({ data: bundle, trusted: true });
    void renderer.renderModel(model);
  }

  private addDetails(run: IRunResponse): void {
    const node = el('div', 'csvanalyst-folds');
    if (run.plan) {
      node.appendChild(folded('Plan', JSON.stringify(run.plan, null, 2), 'csvanalyst-plan'));
    }
    if (run.sql) {
      node.appendChild(folded('SQL', run.sql, 'csvanalyst-sql'));
    }
    if (node.childElementCount) {
      this.addWidget(domWidget(node));
    }
  }

  private addFooter(run: IRunResponse): void {
    const footer = el('div', 'csvanalyst-card-foot');
    const runId = el('code', 'csvanalyst-run-id', run.run_id);
    runId.dataset.testid = 'csvanalyst-run-id';
    runId.title = 'run_id: the capsule that records this run';
    const download = el('button', 'csvanalyst-button', 'Download capsule');
    download.dataset.testid = 'csvanalyst-download';
    download.onclick = () => this.actions.download(run.run_id);
    const insert = el('button', 'csvanalyst-button', 'Insert as cell');
    insert.dataset.testid = 'csvanalyst-insert';
    insert.title = 'Insert this question as a %%ask cell below the active notebook cell';
    insert.onclick = () => this.actions.insert(this.datasetId, this.question);
    footer.append(runId, download, insert);
    this.addWidget(domWidget(footer));
  }
}
