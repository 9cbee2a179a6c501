/**
 * The CSV Analyst JupyterLab extension: one plugin that puts the chat panel in the right
 * sidebar and a command (and palette entry) to open it.
 */
import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { csvAnalystIcon } from './icon';
import { CsvAnalystPanel } from './panel';

const OPEN_COMMAND = 'csvanalyst:open';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'csvanalyst:plugin',
  description: 'A side panel to ask questions about CSV data, answered in a sandbox.',
  autoStart: true,
  requires: [ILabShell, IRenderMimeRegistry],
  optional: [INotebookTracker, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    rendermime: IRenderMimeRegistry,
    tracker: INotebookTracker | null,
    palette: ICommandPalette | null
  ) => {
    const panel = new CsvAnalystPanel({ rendermime, tracker });
    panel.id = 'csvanalyst-panel';
    panel.title.icon = csvAnalystIcon;
    panel.title.caption = 'CSV Analyst';
    shell.add(panel, 'right', { rank: 650 });

    app.commands.addCommand(OPEN_COMMAND, {
      label: 'Open CSV Analyst',
      icon: csvAnalystIcon,
      execute: () => shell.activateById(panel.id)
    });
    palette?.addItem({ command: OPEN_COMMAND, category: 'CSV Analyst' });
  }
};

export default plugin;
