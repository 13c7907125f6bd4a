/**
 * Modal dialogs on the one <dialog> element: confirmations for destructive actions, small
 * forms, the token prompt; plus short notices. Every dialog resolves null when dismissed.
 */
import { byId, h, show } from './dom.js';
import type { Child } from './dom.js';

export interface Field {
  name: string;
  label: string;
  type?: 'text' | 'number' | 'password' | 'checkbox' | 'select';
  value?: string;
  options?: string[];
  required?: boolean;
  min?: number;
  placeholder?: string;
  hint?: string;
}

/** Opens a form and resolves its values when submitted, null when cancelled. */
export function form(title: string, fields: Field[], submitLabel: string, intro?: Child): Promise<Record<string, string> | null> {
  const dialog = byId<HTMLDialogElement>('dialog');
  return new Promise((resolve) => {
    const inputs = fields.map((field) => {
      const id = `field-${field.name}`;
      let input: HTMLInputElement | HTMLSelectElement;
      if (field.type === 'select') {
        input = h(
          'select',
          { id, name: field.name },
          ...(field.options ?? []).map((option) => h('option', { value: option, selected: option === field.value }, option)),
        );
      } else {
        input = h('input', {
          id,
          name: field.name,
          type: field.type ?? 'text',
          value: field.type === 'checkbox' ? undefined : field.value,
          checked: field.type === 'checkbox' && field.value === 'true',
          required: field.required,
          min: field.min,
          placeholder: field.placeholder,
          autocomplete: 'off',
        });
      }
      const row =
        field.type === 'checkbox' ? h('label', { class: 'check' }, input, ' ', field.label) : h('label', { for: id }, field.label, input);
      return { field, input, row: h('div', { class: 'field' }, row, field.hint ? h('small', {}, field.hint) : null) };
    });
    const finish = (values: Record<string, string> | null) => {
      dialog.onclose = null;
      dialog.close();
      resolve(values);
    };
    const body = h(
      'form',
      {
        method: 'dialog',
        onsubmit: (event: Event) => {
          event.preventDefault();
          const values: Record<string, string> = {};
          for (const { field, input } of inputs) {
            values[field.name] = input instanceof HTMLInputElement && input.type === 'checkbox' ? String(input.checked) : input.value;
          }
          finish(values);
        },
      },
      h('h2', {}, title),
      intro ?? null,
      inputs.map(({ row }) => row),
      h(
        'div',
        { class: 'buttons' },
        h('button', { type: 'button', class: 'secondary', onclick: () => finish(null) }, 'Cancel'),
        h('button', { type: 'submit', class: 'primary', 'data-testid': 'dialog-submit' }, submitLabel),
      ),
    );
    show(dialog, body);
    dialog.onclose = () => resolve(null);
    dialog.showModal();
    (inputs[0]?.input ?? body.querySelector<HTMLElement>('button[type=submit]'))?.focus();
  });
}

/** Asks before a destructive action; resolves true only on an explicit yes. */
export async function confirmAction(title: string, message: Child, actionLabel: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('dialog');
  dialog.classList.add('danger');
  try {
    return (await form(title, [], actionLabel, h('p', {}, message))) !== null;
  } finally {
    dialog.classList.remove('danger');
  }
}

/** A short message at the bottom of the page: what an action did, or why it failed. */
export function notify(message: string, kind: 'ok' | 'error' = 'ok'): void {
  const area = byId('notices');
  const notice = h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
  area.appendChild(notice);
  setTimeout(() => notice.remove(), kind === 'error' ? 8000 : 4000);
}
