// Renders an answer's Markdown into inert DOM. The answer comes from a stranger's machine, so:
// markdown-it with raw HTML off (tags come out as text), no images (a node could otherwise make
// the page fetch URLs), links limited to http(s)/mailto and opened without referrer or opener,
// and a final allowlist pass over the produced elements that keeps only the tags and attributes
// listed here (table alignment becomes a class, as the page's CSP refuses style attributes). Rendering is a pure function of the text so far, so an
// answer that arrives in pieces is rendered by calling it again with the longer text.
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: true, typographer: false, breaks: false });
md.disable(['image']);

// Table alignment comes out of markdown-it as style attributes, which the CSP refuses (and
// reports): turn them into classes before anything is rendered.
md.core.ruler.push('align_classes', (state) => {
  for (const token of state.tokens) {
    const style = token.attrGet('style');
    // Typed string | number | null; a style attribute is always a string.
    if (typeof style !== 'string') continue;
    token.attrs = (token.attrs ?? []).filter(([name]) => name !== 'style');
    const align = /^text-align:(left|right|center)$/.exec(String(style).trim());
    if (align) token.attrSet('class', `align-${align[1]}`);
  }
  return true;
});

const SAFE_LINK = /^(https?:|mailto:)/i;
const baseValidate = md.validateLink.bind(md);
md.validateLink = (url: string): boolean => baseValidate(url) && SAFE_LINK.test(url.trim());

const ALLOWED = new Set([
  'P',
  'BR',
  'HR',
  'EM',
  'STRONG',
  'S',
  'DEL',
  'CODE',
  'PRE',
  'BLOCKQUOTE',
  'UL',
  'OL',
  'LI',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'A',
  'TABLE',
  'THEAD',
  'TBODY',
  'TR',
  'TH',
  'TD',
]);

function clean(node: Node): void {
  for (const child of Array.from(node.childNodes)) {
    if (child.nodeType === Node.TEXT_NODE) continue;
    if (child.nodeType !== Node.ELEMENT_NODE) {
      child.remove();
      continue;
    }
    const el = child as Element;
    if (!ALLOWED.has(el.tagName)) {
      // Keep the words, lose the element.
      el.replaceWith(document.createTextNode(el.textContent ?? ''));
      continue;
    }
    for (const attr of Array.from(el.attributes)) {
      const keep =
        (el.tagName === 'A' && attr.name === 'href' && SAFE_LINK.test(attr.value.trim())) ||
        (el.tagName === 'CODE' && attr.name === 'class' && /^language-[\w+#.-]{1,40}$/.test(attr.value)) ||
        (el.tagName === 'OL' && attr.name === 'start' && /^\d{1,9}$/.test(attr.value)) ||
        ((el.tagName === 'TH' || el.tagName === 'TD') && attr.name === 'class' && /^align-(left|right|center)$/.test(attr.value));
      if (!keep) el.removeAttribute(attr.name);
    }
    if (el.tagName === 'A') {
      if (!el.hasAttribute('href')) {
        el.replaceWith(document.createTextNode(el.textContent ?? ''));
        continue;
      }
      el.setAttribute('rel', 'noopener noreferrer nofollow');
      el.setAttribute('target', '_blank');
    }
    clean(el);
  }
}

/** The answer as a fragment of inert elements. */
export function renderMarkdown(text: string): DocumentFragment {
  const template = document.createElement('template');
  // Inert: a template's content is parsed without running anything or fetching anything.
  template.innerHTML = md.render(text);
  const frag = template.content;
  clean(frag);
  return frag;
}
