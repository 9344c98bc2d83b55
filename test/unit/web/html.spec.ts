import { escapeHtml, html, safe } from '../../../src/web/html';

describe('html tagged template', () => {
  it('escapes every interpolation, in text and in quoted attributes', () => {
    const hostile = `<script>alert("x")</script>' onmouseover='x' &amp;`;
    const out = html`<p title="${hostile}">${hostile}</p>`.value;
    expect(out).not.toContain('<script>');
    expect(out).not.toContain(`"x"`);
    expect(out).not.toContain(`' onmouseover`);
    expect(out).toBe(`<p title="${escapeHtml(hostile)}">${escapeHtml(hostile)}</p>`);
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });

  it('inserts nested templates and safe() markup as they are, and nothing for false/null/undefined', () => {
    const inner = html`<b>${'a<b'}</b>`;
    expect(html`<p>${inner}${safe('<i>ok</i>')}</p>`.value).toBe('<p><b>a&lt;b</b><i>ok</i></p>');
    expect(html`[${false}${null}${undefined}]`.value).toBe('[]');
  });

  it('joins lists, escaping each item, and renders numbers', () => {
    // Aliased so that prettier, which formats `html` templates as HTML, keeps the exact text.
    const tag = html;
    expect(tag`<ul>${['<a>', tag`<li>${1}</li>`, 2]}</ul>`.value).toBe(
      '<ul>&lt;a&gt;<li>1</li>2</ul>',
    );
  });

  it('does not treat a string that looks like markup as safe', () => {
    const fake = { value: '<script>' } as unknown as string;
    expect(html`${fake}`.value).not.toContain('<script>');
  });
});
