// A minimal stand-in for the browser objects the widgets' render() touches, so that node --test can
// drive a widget (render, pointer events, model changes) without a browser.  Test support only.

/** Canvas 2-D context that records every call as [name, ...args] (and accepts any property). */
function fakeContext() {
  const calls = [];
  return new Proxy({ calls }, {
    get(target, name) {
      if (name in target) return target[name];
      return (...args) => {
        calls.push([name, ...args]);
      };
    },
    set(target, name, value) {
      target[name] = value;
      return true;
    },
  });
}

export class FakeElement {
  constructor(tag) {
    this.tagName = tag.toUpperCase();
    this.style = {};
    this.children = [];
    this.listeners = {};
    this.textContent = "";
    this.className = "";
    this.classList = { add: (name) => (this.className += ` ${name}`) };
    this.rect = { left: 0, top: 0 };
    this.context = null;
  }

  append(...nodes) {
    for (const node of nodes) this.children.push(typeof node === "string" ? { text: node } : node);
  }

  replaceChildren(...nodes) {
    this.children = [];
    this.append(...nodes);
  }

  addEventListener(type, fn) {
    (this.listeners[type] ??= []).push(fn);
  }

  removeEventListener(type, fn) {
    this.listeners[type] = (this.listeners[type] ?? []).filter((f) => f !== fn);
  }

  /** Call the listeners of `type` with an event built from `fields`. */
  dispatch(type, fields = {}) {
    const event = { type, button: 0, shiftKey: false, pointerId: 1, preventDefault() {}, ...fields };
    for (const fn of this.listeners[type] ?? []) fn(event);
  }

  getBoundingClientRect() {
    return { ...this.rect, width: parseFloat(this.style.width) || 0, height: parseFloat(this.style.height) || 0 };
  }

  setPointerCapture() {}

  getContext() {
    this.context ??= fakeContext();
    return this.context;
  }

  /** Every descendant element with this tag name (lower or upper case). */
  findAll(tag) {
    const out = [];
    const want = tag.toUpperCase();
    const walk = (node) => {
      for (const child of node.children ?? []) {
        if (child.tagName === want) out.push(child);
        walk(child);
      }
    };
    walk(this);
    return out;
  }

}

/** An anywidget model: get/set/save_changes/on/off, plus `update(name, value)` as a change from Python. */
export class FakeModel {
  constructor(state) {
    this.state = { ...state };
    this.handlers = {};
    this.saved = 0;
    this.sent = [];
  }

  get(name) {
    return this.state[name];
  }

  set(name, value) {
    this.state[name] = value;
    this.sent.push([name, value]);
  }

  save_changes() {
    this.saved++;
  }

  on(name, fn) {
    (this.handlers[name] ??= []).push(fn);
  }

  off(name, fn) {
    this.handlers[name] = (this.handlers[name] ?? []).filter((f) => f !== fn);
  }

  handlerCount() {
    return Object.values(this.handlers).reduce((sum, list) => sum + list.length, 0);
  }

  /** A change made in Python: store it and fire change:name. */
  update(name, value) {
    this.state[name] = value;
    for (const fn of this.handlers[`change:${name}`] ?? []) fn();
  }
}

/** Install document, ImageData and a manual requestAnimationFrame on globalThis; returns flush(). */
export function installFakeDom() {
  let queue = [];
  globalThis.document = { createElement: (tag) => new FakeElement(tag) };
  globalThis.ImageData = class {
    constructor(data, width, height) {
      if (data.length !== width * height * 4) throw new Error("ImageData: wrong data length");
      Object.assign(this, { data, width, height });
    }
  };
  globalThis.requestAnimationFrame = (fn) => {
    queue.push(fn);
    return queue.length;
  };
  globalThis.cancelAnimationFrame = () => {};
  return function flush() {
    const pending = queue;
    queue = [];
    for (const fn of pending) fn();
    return pending.length;
  };
}
