/** "Insert as cell": the answer as reproducible code, a %%ask cell below the active one. */
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

export function askCellSource(datasetId: string, question: string): string {
  return `%%ask -d ${datasetId}\n${question}`;
}

/** Inserts below the active cell of the current notebook; false when no notebook is open. */
export function insertAskCell(
  tracker: INotebookTracker | null,
  source: string
): boolean {
  const panel = tracker?.currentWidget;
  if (!panel) {
    return false;
  }
  const notebook = panel.content;
  NotebookActions.insertBelow(notebook);
  const cell = notebook.activeCell;
  if (!cell) {
    return false;
  }
  NotebookActions.changeCellType(notebook, 'code');
  notebook.activeCell?.model.sharedModel.setSource(source);
  return true;
}
