import { type FormattingOptions, type ParseError, applyEdits, modify, parse } from 'jsonc-parser';
import { SetupStepError } from '../../setup-step';

/**
 * The tailnet policy file is HuJSON (JSON with comments and trailing commas), written by people.
 * These helpers read it and add one tag owner by a text edit, so every comment, blank line and
 * indentation the owner chose stays as it was.
 */

type Policy = { tagOwners?: unknown };

const unreadable = (why: string) =>
  new SetupStepError(
    'tailscale_acl_unreadable',
    `The tailnet policy file could not be read (${why}); it was left unchanged`,
    { retryable: false },
  );

function parsePolicy(hujson: string): Policy {
  const errors: ParseError[] = [];
  const policy: unknown = parse(hujson, errors, {
    allowTrailingComma: true,
    disallowComments: false,
  });
  if (errors.length > 0) throw unreadable(`not valid HuJSON at offset ${errors[0].offset}`);
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
    throw unreadable('not an object');
  }
  const { tagOwners } = policy as Policy;
  if (
    tagOwners !== undefined &&
    (typeof tagOwners !== 'object' || tagOwners === null || Array.isArray(tagOwners))
  ) {
    throw unreadable('tagOwners is not an object');
  }
  return policy;
}

/** The owners the policy file gives `tag` (empty when none). Throws when the file is unreadable. */
export function tagOwnersOf(hujson: string, tag: string): string[] {
  const owners = (parsePolicy(hujson).tagOwners as Record<string, unknown> | undefined)?.[tag];
  return Array.isArray(owners) ? owners.filter((o): o is string => typeof o === 'string') : [];
}

/** The file's own indentation and line ends, for the few lines the edit adds. */
function formattingOf(hujson: string): FormattingOptions | undefined {
  // A one-line file stays one line: an unformatted edit inserts compact JSON in place.
  if (!hujson.trim().includes('\n')) return undefined;
  const eol = hujson.includes('\r\n') ? '\r\n' : '\n';
  const indents = [...hujson.matchAll(/^([ \t]+)\S/gm)].map((m) => m[1]);
  const insertSpaces = !indents.some((i) => i.startsWith('\t'));
  const widths = indents.filter((i) => !i.includes('\t')).map((i) => i.length);
  const tabSize = widths.length > 0 ? Math.min(...widths) : 2;
  return { insertSpaces, tabSize, eol };
}

/**
 * The policy file with `owner` as the owner of `tag`: one edit, placed first in `tagOwners`
 * (or `tagOwners` first in the file when it has none), so no existing line is touched.
 */
export function withTagOwner(hujson: string, tag: string, owner: string): string {
  parsePolicy(hujson);
  const edit = (formattingOptions?: FormattingOptions) =>
    modify(hujson, ['tagOwners', tag], [owner], { formattingOptions, getInsertionIndex: () => 0 });
  // The formatter lays out the new lines in the file's style, but it may also re-lay the line it
  // lands on; that edit is used only when it keeps the text it replaces as it was (a pure
  // addition), else the owner goes in as compact JSON and every existing byte stays put.
  const formatting = formattingOf(hujson);
  const formatted = formatting ? edit(formatting) : [];
  const keepsText = formatted.every((e) =>
    e.content.startsWith(hujson.slice(e.offset, e.offset + e.length)),
  );
  const edited = applyEdits(hujson, formatted.length > 0 && keepsText ? formatted : edit());
  // The edit must yield a file that says what we meant, or nothing is written.
  if (!tagOwnersOf(edited, tag).includes(owner)) throw unreadable('the edit did not apply');
  return edited;
}
