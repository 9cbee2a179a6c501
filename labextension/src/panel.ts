/**
 * The "CSV Analyst" side panel: the same conversation as the kernel's ChatPanel widget, but
 * living in JupyterLab itself and talking to the sandbox server through the server extension.
 *
 *   toolbar   dataset dropdown · New thread
 *   prompts   the dataset's suggested questions as chips
 *   history   one AnswerCard per question, newest last
 *   composer  question input · Send · running indicator
 */
import { Notification } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';

import * as api from './api';
import { AnswerCard } from './card';
import { askCellSource, insertAskCell } from './cell';

export interface IPanelOptions {
  rendermime: IRenderMimeRegistry;
  tracker: INotebookTracker | null;
}

function testid<T extends HTMLElement>(node: T, id: string): T {
  node.dataset.testid = id;
  return node;
}

export class CsvAnalystPanel extends Panel {
  private readonly rendermime: IRenderMimeRegistry;
  private readonly tracker: INotebookTracker | null;
  private datasets: api.IDatasetSummary[] = [];
  private threadId: string | null = null;
  private busy = false;
  private loaded = false;

  private readonly select = testid(document.createElement('select'), 'csvanalyst-dataset');
  private readonly prompts = testid(document.createElement('div'), 'csvanalyst-prompts');
  private readonly history = new Panel();
  private readonly input = testid(document.createElement('input'), 'csvanalyst-input');
  private readonly send = testid(document.createElement('button'), 'csvanalyst-send');
  private readonly running = testid(document.createElement('div'), 'csvanalyst-running');

  constructor(options: IPanelOptions) {
    super();
    this.rendermime = options.rendermime;
    this.tracker = options.tracker;
    this.addClass('csvanalyst-panel');
    this.node.dataset.testid = 'csvanalyst-panel';

    const toolbar = document.createElement('div');
    toolbar.className = 'csvanalyst-toolbar';
    this.select.className = 'csvanalyst-select jp-mod-styled';
    this.select.title = 'Dataset';
    this.select.onchange = () => this.datasetChanged();
    const newThread = testid(document.createElement('button'), 'csvanalyst-new-thread');
    newThread.className = 'csvanalyst-button';
    newThread.textContent = 'New thread';
    newThread.title = 'Forget the previous questions: the next one starts over';
    newThread.onclick = () => this.newThread();
    toolbar.append(this.select, newThread);

    this.prompts.className = 'csvanalyst-prompts';
    this.history.addClass('csvanalyst-history');
    this.history.node.dataset.testid = 'csvanalyst-history';

    const composer = document.createElement('div');
    composer.className = 'csvanalyst-composer';
    this.input.className = 'csvanalyst-input jp-mod-styled';
    this.input.placeholder = 'Ask a question about the data…';
    this.input.onkeydown = event => {
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        void this.ask(this.input.value);
      }
    };
    this.send.className = 'csvanalyst-button csvanalyst-send jp-mod-accept';
    this.send.textContent = 'Send';
    this.send.onclick = () => void this.ask(this.input.value);
    this.running.className = 'csvanalyst-running';
    this.running.textContent = 'Running…';
    this.running.hidden = true;
    composer.append(this.input, this.send, this.running);

    this.addWidget(new Widget({ node: toolbar }));
    this.addWidget(new Widget({ node: this.prompts }));
    this.addWidget(this.history);
    this.addWidget(new Widget({ node: composer }));
  }

  /** Datasets load on first show: opening JupyterLab must not start a server. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this.loaded) {
      this.loaded = true;
      void this.loadDatasets();
    }
  }

  get currentDataset(): api.IDatasetSummary | undefined {
    return this.datasets.find(d => d.id === this.select.value);
  }

  async loadDatasets(): Promise<void> {
    this.setBusy(true);
    try {
      this.datasets = await api.listDatasets();
    } catch (error) {
      this.loaded = false; // try again next time the panel is shown
      this.notice(error as api.ApiError);
      return;
    } finally {
      this.setBusy(false);
    }
    this.select.replaceChildren(
      ...this.datasets.map(d => {
        const option = document.createElement('option');
        option.value = d.id;
        option.textContent = d.name && d.name !== d.id ? `${d.name} (${d.id})` : d.id;
        option.title = d.description ?? '';
        return option;
      })
    );
    this.datasetChanged();
  }

  private datasetChanged(): void {
    this.threadId = null; // a thread belongs to one dataset
    const dataset = this.currentDataset;
    this.prompts.replaceChildren(
      ...(dataset?.prompts ?? []).map(prompt => {
        const chip = testid(document.createElement('button'), 'csvanalyst-prompt');
        chip.className = 'csvanalyst-chip';
        chip.textContent = prompt;
        chip.onclick = () => void this.ask(prompt);
        return chip;
      })
    );
  }

  newThread(): void {
    this.threadId = null;
    const note = document.createElement('div');
    note.className = 'csvanalyst-thread-note';
    note.textContent = 'New thread';
    this.history.addWidget(new Widget({ node: note }));
  }

  async ask(question: string): Promise<void> {
    const dataset = this.currentDataset;
    question = question.trim();
    if (!question || !dataset || this.busy) {
      return;
    }
    this.input.value = '';
    const card = new AnswerCard(
      this.rendermime,
      {
        download: runId => void this.download(runId),
        insert: (datasetId, q) => this.insert(datasetId, q)
      },
      dataset.id,
      question
    );
    this.history.addWidget(card);
    this.scrollToEnd();
    this.setBusy(true);
    try {
      const run = await api.ask(dataset.id, question, this.threadId);
      this.threadId = run.thread_id ?? this.threadId;
      card.showRun(run);
    } catch (error) {
      card.showError(error as api.ApiError);
    } finally {
      this.setBusy(false);
      this.scrollToEnd();
    }
  }

  private async download(runId: string): Promise<void> {
    try {
      const blob = await api.downloadCapsule(runId);
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `capsule_${runId}.json`;
      link.click();
      URL.revokeObjectURL(url);
    } catch (error) {
      Notification.error(`Could not download capsule ${runId}: ${(error as Error).message}`);
    }
  }

  private insert(datasetId: string, question: string): void {
    if (!insertAskCell(this.tracker, askCellSource(datasetId, question))) {
      Notification.warning('Open a notebook first: the %%ask cell goes below its active cell.');
    }
  }

  private notice(error: api.ApiError): void {
    const node = document.createElement('div');
    node.className = 'csvanalyst-error';
    node.dataset.testid = 'csvanalyst-error';
    node.textContent = `${error.code ?? 'ERROR'}: ${error.message}`;
    if (error.suggestion) {
      const hint = document.createElement('div');
      hint.className = 'csvanalyst-suggestion';
      hint.textContent = error.suggestion;
      node.appendChild(hint);
    }
    this.history.addWidget(new Widget({ node }));
  }

  private setBusy(busy: boolean): void {
    this.busy = busy;
    this.running.hidden = !busy;
    this.send.disabled = busy;
    this.node.classList.toggle('csvanalyst-mod-busy', busy);
  }

  private scrollToEnd(): void {
    requestAnimationFrame(() => {
      this.history.node.scrollTop = this.history.node.scrollHeight;
    });
  }
}
