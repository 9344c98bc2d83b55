/**
 * The connect page's templates are plain functions returning `SafeHtml`. This tagged template is
 * hand-written on purpose: escaping every interpolation is a dozen lines, and a template engine
 * would bring a second syntax, a loader and its own escaping rules for what four pages need.
 *
 * Rules of use: every interpolated value is escaped (text and attribute values alike, so
 * attribute values must be quoted); only `SafeHtml` (what `html` and `safe` return) is inserted
 * as it is. URLs in `href`/`action` come from our own code, never from a caller.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What a template may interpolate; `false`/`null`/`undefined` render nothing (`cond && html…`). */
export type Interpolation =
  SafeHtml | string | number | false | null | undefined | readonly Interpolation[];

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

function render(value: Interpolation): string {
  if (value === false || value === null || value === undefined) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return (value as readonly Interpolation[]).map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Marks markup the code itself wrote as safe. Never call it with anything a caller sent. */
export function safe(markup: string): SafeHtml {
  return new SafeHtml(markup);
}
