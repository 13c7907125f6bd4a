/**
 * Building DOM nodes without a framework. Text always goes in as text nodes, never as HTML,
 * so a command line or an output tail can hold anything.
 */
export type Child = Node | string | number | null | undefined | false | Child[];

export type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** A listing's table: a header row of `titles` (a title, or a title and its cell's attributes) above `rows`. */
export function table(attributes: Attributes, titles: (string | [string, Attributes])[], rows: Child[]): HTMLTableElement {
  const head = titles.map((title) => (typeof title === 'string' ? h('th', {}, title) : h('th', title[1], title[0])));
  return h('table', attributes, h('thead', {}, h('tr', {}, head)), h('tbody', {}, rows));
}

/** Replaces what a container shows. */
export function show(container: Element, ...children: Child[]): void {
  container.replaceChildren();
  append(container, children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}
