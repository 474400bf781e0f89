/**
 * Stripe's request encoding: `application/x-www-form-urlencoded` with bracket syntax for nesting, as the SDK writes
 * it (`metadata[order]=1`, `expand[0]=latest_charge`, `items[0][price]=p`) and as qs parses it. Written here rather
 * than importing `qs` (present only as a transitive dependency of express, without types).
 */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

/** Thrown for bodies Stripe would refuse to parse; the server answers 400 with the message. */
export class FormError extends Error {}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new FormError(`Invalid URL encoding: ${s.slice(0, 40)}`);
  }
}

/** `a[b][0][c]` → `['a', 'b', '0', 'c']`; `a[]` → `['a', '']` (append). */
function keyPath(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return [key];
  const path = [key.slice(0, open)];
  const re = /\[([^[\]]*)\]/gy;
  re.lastIndex = open;
  for (let m = re.exec(key); m; m = re.exec(key)) {
    path.push(m[1] ?? '');
    if (re.lastIndex === key.length) return path;
  }
  throw new FormError(`Invalid parameter name: ${key}`);
}

const MAX_DEPTH = 20;
const MAX_INDEX = 10_000;

/**
 * Parses a form body into nested objects; objects whose keys are all array indices become arrays (in index order),
 * as qs does. Repeated plain keys keep the last value.
 */
export function parseForm(text: string): FormObject {
  const root: Record<string, unknown> = {};
  if (!text) return {};
  for (const pair of text.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const path = keyPath(key);
    if (path.length > MAX_DEPTH) throw new FormError(`Parameter nested too deeply: ${key}`);
    let node: Record<string, unknown> = root;
    for (let i = 0; i < path.length; i++) {
      let seg = path[i]!;
      if (seg === '') seg = String(Object.keys(node).length);
      if (seg === '__proto__' || seg === 'constructor' || seg === 'prototype') {
        throw new FormError(`Invalid parameter name: ${key}`);
      }
      if (i === path.length - 1) {
        node[seg] = value;
      } else {
        const next = node[seg];
        if (next === undefined || typeof next === 'string') node[seg] = {};
        node = node[seg] as Record<string, unknown>;
      }
    }
  }
  return arrays(root) as FormObject;
}

function arrays(v: unknown): FormValue {
  if (typeof v === 'string') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const isArray = keys.length > 0 && keys.every((k) => /^(0|[1-9]\d*)$/.test(k) && Number(k) <= MAX_INDEX);
  if (isArray) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((k) => arrays(o[String(k)]));
  }
  const out: Record<string, FormValue> = {};
  for (const k of keys) out[k] = arrays(o[k]);
  return out;
}

/** Same parameters, canonical text: what an idempotent replay compares. */
export function canonical(v: FormValue | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
    .join(',')}}`;
}
