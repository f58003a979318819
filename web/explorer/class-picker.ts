/**
 * Class search with autocomplete, and the list of mixed classes with their weights.
 * Keyboard: type to search, ↑/↓ to move, Enter sets the class, Shift+Enter adds it to the mix,
 * Escape closes the list. Every control is a real button or slider, so touch works too.
 */
import { classLabel, imagenetClasses, IMAGENET_NUM_CLASSES } from '../../src/core.js';
import { roundWeight, type ClassWeight } from '../../src/explore/explorer-state.js';
import type { SiteModel } from '../../src/explore/site-model.js';
import { el } from './dom.js';

interface Entry { id: number; label: string; search: string }

function entries(model: SiteModel): Entry[] {
  if (model.classNames) return model.classNames.map((n, id) => ({ id, label: `${id} ${n}`, search: `${id} ${n}`.toLowerCase() }));
  if (model.numClasses === IMAGENET_NUM_CLASSES) {
    return imagenetClasses().map((c) => ({ id: c.index, label: `${c.index} ${c.names.join(', ')}`, search: `${c.index} ${c.wnid} ${c.names.join(', ')}`.toLowerCase() }));
  }
  return Array.from({ length: model.numClasses }, (_, id) => ({ id, label: `class ${id}`, search: `${id}` }));
}

export class ClassPicker {
  private readonly all: Entry[];
  private readonly input: HTMLInputElement;
  private readonly list: HTMLUListElement;
  private readonly chips: HTMLElement;
  private matches: Entry[] = [];
  private active = 0;
  private classes: ClassWeight[] = [];

  constructor(root: HTMLElement, private readonly model: SiteModel, private readonly onChange: (classes: ClassWeight[]) => void) {
    this.all = entries(model);
    this.input = el('input', { type: 'search', id: 'class-search', placeholder: 'search classes: name, id or wnid', autocomplete: 'off', role: 'combobox', 'aria-expanded': 'false', 'aria-controls': 'class-list', 'aria-label': 'search classes' });
    this.list = el('ul', { id: 'class-list', role: 'listbox', class: 'suggestions', hidden: '' });
    this.chips = el('div', { class: 'chips', id: 'class-mix', 'aria-label': 'classes in the image' });
    root.append(el('div', { class: 'combo' }, this.input, this.list), this.chips);
    this.input.addEventListener('input', () => this.search());
    this.input.addEventListener('focus', () => this.search());
    this.input.addEventListener('keydown', (e) => this.key(e));
    this.input.addEventListener('blur', () => setTimeout(() => this.close(), 150));
  }

  /** Shows the image's classes (`random` marks the seed's own class when none was chosen). */
  show(classes: ClassWeight[], random: boolean): void {
    this.classes = classes.map((c) => ({ ...c }));
    this.chips.replaceChildren(...classes.map((c, i) => this.chip(c, i, random)));
  }

  private label(id: number): string {
    return classLabel(id, this.model.numClasses, this.model.classNames);
  }

  private chip(c: ClassWeight, i: number, random: boolean): HTMLElement {
    const name = el('span', { class: 'chip-name', title: this.label(c.id) }, random ? `${this.label(c.id)} (seed's class)` : this.label(c.id));
    const parts: (Node | string)[] = [name];
    if (this.classes.length > 1) {
      const slider = el('input', { type: 'range', min: '0', max: '1', step: '0.01', value: String(c.weight), 'aria-label': `weight of ${this.label(c.id)}` });
      const value = el('span', { class: 'chip-weight' }, c.weight.toFixed(2));
      slider.addEventListener('input', () => { value.textContent = Number(slider.value).toFixed(2); });
      slider.addEventListener('change', () => this.setWeight(i, Number(slider.value)));
      parts.push(slider, value);
      const remove = el('button', { type: 'button', class: 'chip-remove', 'aria-label': `remove ${this.label(c.id)}`, title: 'remove from the mix' }, '×');
      remove.addEventListener('click', () => this.remove(i));
      parts.push(remove);
    }
    return el('div', { class: 'chip' }, ...parts);
  }

  private emit(classes: ClassWeight[]): void {
    const total = classes.reduce((a, c) => a + c.weight, 0) || 1;
    this.onChange(classes.length === 1 ? [{ id: classes[0].id, weight: 1 }] : classes.map((c) => ({ id: c.id, weight: roundWeight(c.weight / total) })));
  }

  private setWeight(i: number, w: number): void {
    const next = this.classes.map((c) => ({ ...c }));
    next[i].weight = Math.max(w, 0.01);
    this.emit(next);
  }

  private remove(i: number): void {
    this.emit(this.classes.filter((_, k) => k !== i));
  }

  /** Sets the image to one class. */
  set(id: number): void {
    this.emit([{ id, weight: 1 }]);
  }

  /** Adds a class to the mix with an equal share. */
  add(id: number): void {
    const others = this.classes.filter((c) => c.id !== id);
    const share = 1 / (others.length + 1);
    this.emit([...others.map((c) => ({ id: c.id, weight: c.weight * (1 - share) })), { id, weight: share }]);
  }

  private search(): void {
    const q = this.input.value.trim().toLowerCase();
    this.matches = (q ? this.all.filter((e) => e.search.includes(q)) : this.all).slice(0, 12);
    this.active = 0;
    this.render();
  }

  private render(): void {
    this.list.replaceChildren(...this.matches.map((m, i) => {
      const pick = el('button', { type: 'button', class: 'pick', role: 'option', 'aria-selected': String(i === this.active), 'data-class': String(m.id) }, m.label);
      pick.addEventListener('mousedown', (e) => { e.preventDefault(); this.choose(m.id, false); });
      const add = el('button', { type: 'button', class: 'add', title: 'add to the mix (Shift+Enter)', 'aria-label': `add ${m.label} to the mix`, 'data-add-class': String(m.id) }, '+ mix');
      add.addEventListener('mousedown', (e) => { e.preventDefault(); this.choose(m.id, true); });
      return el('li', { class: i === this.active ? 'active' : '' }, pick, add);
    }));
    const open = this.matches.length > 0 && document.activeElement === this.input;
    this.list.hidden = !open;
    this.input.setAttribute('aria-expanded', String(open));
  }

  private close(): void {
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
  }

  private choose(id: number, addToMix: boolean): void {
    if (addToMix) this.add(id);
    else this.set(id);
    this.input.value = '';
    this.close();
    this.input.blur();
  }

  private key(e: KeyboardEvent): void {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!this.matches.length) return;
      this.active = (this.active + (e.key === 'ArrowDown' ? 1 : this.matches.length - 1)) % this.matches.length;
      this.render();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const m = this.matches[this.active];
      if (m) this.choose(m.id, e.shiftKey);
    } else if (e.key === 'Escape') {
      this.close();
      this.input.blur();
    }
    e.stopPropagation();
  }
}
