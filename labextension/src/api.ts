/**
 * The panel's only way out: the jupyter-server extension's routes under /csvanalyst/api/.
 *
 * The server extension adds the sandbox server's bearer token on its side, so nothing secret
 * ever reaches the browser, and Jupyter's own auth (and JupyterHub's) guards every call.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface IDatasetSummary {
  id: string;
  name?: string;
  description?: string;
  tables: string[];
  version_hash: string;
  prompts: string[];
}

export interface IResultColumn {
  name: string;
  type: string;
}

export interface IErrorInfo {
  code: string;
  message: string;
  suggestion?: string | null;
}

export type RunStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'rejected';

export interface IRunResponse {
  run_id: string;
  status: RunStatus;
  dataset_id: string;
  question?: string | null;
  thread_id?: string | null;
  plan?: Record<string, unknown> | null;
  sql?: string | null;
  result: {
    columns: IResultColumn[];
    rows: unknown[][];
    row_count: number;
    truncated: boolean;
  };
  chart?: Record<string, unknown> | null;
  message?: string;
  error?: IErrorInfo | null;
  timings_ms?: Record<string, number>;
}

/** A failure the panel shows as it would show a failed run: code, message, suggestion. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly suggestion?: string | null
  ) {
    super(message);
  }
}

const API_PATH = 'csvanalyst/api';

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API_PATH, path);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(
      'SERVER_UNREACHABLE',
      `Jupyter server did not answer: ${error}`,
      'check that JupyterLab is still running'
    );
  }
  if (!response.ok) {
    let body: any = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: fall through to the generic message
    }
    const info: IErrorInfo | undefined = body?.error;
    throw new ApiError(
      info?.code ?? `HTTP_${response.status}`,
      info?.message ?? `${path} answered ${response.status} ${response.statusText}`,
      info?.suggestion
    );
  }
  return response;
}

async function requestJSON<T>(path: string, init: RequestInit = {}): Promise<T> {
  return (await (await request(path, init)).json()) as T;
}

export function listDatasets(): Promise<IDatasetSummary[]> {
  return requestJSON<IDatasetSummary[]>('datasets');
}

export function ask(
  datasetId: string,
  question: string,
  threadId: string | null
): Promise<IRunResponse> {
  const body: Record<string, string> = { dataset_id: datasetId, question };
  if (threadId) {
    body.thread_id = threadId;
  }
  return requestJSON<IRunResponse>('ask', {
    method: 'POST',
    body: JSON.stringify(body)
  });
}

/** The capsule as the server stores it, for saving as a file. */
export async function downloadCapsule(runId: string): Promise<Blob> {
  const response = await request(
    `runs/${encodeURIComponent(runId)}?format=download`
  );
  return response.blob();
}
