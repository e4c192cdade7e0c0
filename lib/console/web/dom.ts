// Every element of the page is made here. Text goes in through
// textContent only, so nothing the API returns is ever parsed as HTML.

type Tag = keyof HTMLElementTagNameMap;

export interface Props {
  class?: string;
  text?: string;
  attrs?: Record<string, string>;
  on?: Partial<Record<'click' | 'submit' | 'input' | 'change', (e: Event) => void>>;
}

export function el<K extends Tag>(
  tag: K,
  props: Props = {},
  ...children: Array<Node | null>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  for (const [k, fn] of Object.entries(props.on ?? {})) node.addEventListener(k, fn);
  for (const c of children) if (c) node.append(c);
  return node;
}

export function button(text: string, onClick: () => void, cls = ''): HTMLButtonElement {
  return el('button', { class: cls, text, attrs: { type: 'button' }, on: { click: onClick } });
}
