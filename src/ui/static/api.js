// The REST API (/api/v1) with the signed-in API key. The key lives in sessionStorage only (gone
// when the tab closes) and is sent as `Authorization: Bearer`.

const STORAGE_KEY = 'triggerd.apiKey';

export class ApiError extends Error {
  constructor(status, type, message, body) {
    super(message);
    this.status = status;
    this.type = type;
    this.body = body;
  }
}

export function apiKey() {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(STORAGE_KEY, key);
  else sessionStorage.removeItem(STORAGE_KEY);
}

// Listeners told when the API answers 401 (the key was revoked, or is wrong).
const unauthorizedListeners = new Set();
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
}

// Calls the API; resolves with the parsed JSON body, rejects with an ApiError carrying the JSON
// error body's type and message ({"error":{"type","message"}}).
export async function api(method, path, body) {
  const headers = {Accept: 'application/json'};
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const init = {method, headers, cache: 'no-store'};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network_error', `the server did not answer (${e.message})`, null);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error;
    const message = error && error.message ? error.message : `HTTP ${response.status}`;
    const apiError = new ApiError(response.status, error && error.type ? error.type : `http_${response.status}`,
      message, data);
    if (response.status === 401) for (const listener of unauthorizedListeners) listener(apiError);
    throw apiError;
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

// Every item of a list route, following next_cursor up to `max` items.
export async function listAll(path, max = 500) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${sep}limit=${Math.min(500, max)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}
